/**
 * The reliability suite's one table: a row per scenario with requests sent, completed correctly,
 * failed with an explicit error, hung past their deadline, lost (ended without a finish or an
 * error) and wrong (completed with other tokens than the reference), KV blocks in use before and
 * after, and RSS before -> after per process; plus each scenario's notes (recovery timings).
 *
 * What it is not: the pass/fail rules (suite.ts checks those).
 */
export interface Row {
  scenario: string;
  sent: number;
  ok: number;
  explicit: number;
  hung: number;
  lost: number;
  wrong: number;
  /** Status codes / HTTP statuses of the explicit errors, with counts. */
  errors: Record<string, number>;
  kvBefore: number;
  kvAfter: number;
  rssBefore: Record<string, number>;
  rssAfter: Record<string, number>;
  notes: string[];
}

export function emptyRow(scenario: string): Row {
  return { scenario, sent: 0, ok: 0, explicit: 0, hung: 0, lost: 0, wrong: 0, errors: {}, kvBefore: 0, kvAfter: 0, rssBefore: {}, rssAfter: {}, notes: [] };
}

const SHORT: Record<string, string> = { orchestrator: 'api', 'orchestrator-scheduler': 'sched', 'attention-worker': 'worker', 'kv-manager': 'kv', 'tokenizer-service': 'tok', redis: 'redis', router: 'router' };

export function formatTable(rows: Row[]): string {
  const head = ['scenario', 'sent', 'ok', 'explicit error', 'hung', 'lost', 'wrong', 'KV blocks before -> after', 'RSS MB before -> after', 'notes'];
  const body = rows.map((r) => [
    r.scenario, String(r.sent), String(r.ok), r.explicit ? `${r.explicit} (${Object.entries(r.errors).map(([k, v]) => `${k}:${v}`).join(' ')})` : '0',
    String(r.hung), String(r.lost), String(r.wrong), `${r.kvBefore} -> ${r.kvAfter}`,
    Object.keys(r.rssBefore).map((p) => `${SHORT[p] ?? p} ${r.rssBefore[p]}->${r.rssAfter[p] ?? 0}`).join(', '),
    r.notes.join('; '),
  ]);
  const lines = [head, ...body].map((cells) => `| ${cells.join(' | ')} |`);
  lines.splice(1, 0, `|${head.map(() => '---').join('|')}|`);
  return lines.join('\n');
}
