/**
 * Expert parallelism, replica side: an `ExpertReplica` hosts a fixed subset of the experts
 * (the same ids in every MoE layer) and runs rows gated elsewhere on them, returning each
 * expert's unweighted outputs (the shape of proto llm.router.v1 RunExperts). The gating side
 * (executor.ts) makes one call per replica per layer and does the weighted combine.
 *
 * `LocalExpertReplica` runs in this process; apps/router provides a gRPC client with the same
 * shape. Not here: gating, transport, deadlines (the transport's job).
 */
import { check, MoeInputError } from './errors';
import type { ExpertHost, ExpertRowsRequest } from './expert-host';

export interface ExpertReplica {
  /** How traces name it: "local" in this process, a peer's host:port. */
  readonly name?: string;
  /** Expert ids this replica runs, ascending; the same in every layer. */
  readonly hostedExperts: readonly number[];
  /** outputs[a] = expert_{a.expertId}(hidden[a.rows]), (n_a, C) unweighted, in request order. */
  runExperts(req: ExpertRowsRequest): Promise<Float32Array[]>;
}

/** A replica whose experts live in this process: one ExpertHost per MoE layer. */
export class LocalExpertReplica implements ExpertReplica {
  readonly name = 'local';
  readonly hostedExperts: readonly number[];

  constructor(private readonly hosts: ReadonlyMap<number, ExpertHost>) {
    const first = hosts.values().next().value as ExpertHost | undefined;
    check(first !== undefined, 'layers', () => 'a replica needs at least one MoE layer');
    this.hostedExperts = first.hostedExperts;
    for (const [layer, host] of hosts) {
      check(host.hostedExperts.join(',') === first.hostedExperts.join(','), `layers[${layer}].hostedExperts`, () =>
        `layer ${layer} hosts experts [${host.hostedExperts.join(', ')}] but the replica hosts ` +
          `[${first.hostedExperts.join(', ')}]; every layer of a replica must host the same experts`);
    }
  }

  /** MoE layer indices served, ascending. */
  get layers(): number[] {
    return [...this.hosts.keys()].sort((a, b) => a - b);
  }

  async runExperts(req: ExpertRowsRequest): Promise<Float32Array[]> {
    const host = this.hosts.get(req.layer);
    if (!host) {
      throw new MoeInputError('layer', `unknown MoE layer ${req.layer} (this replica serves layers [${this.layers.join(', ')}])`);
    }
    return host.runRows(req);
  }

  async dispose(): Promise<void> {
    for (const host of this.hosts.values()) await host.dispose();
  }
}
