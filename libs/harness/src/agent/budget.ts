/*
 * Budgets of one agent run, checked before every model call: steps (model calls), tokens
 * (prompt + completion, as the endpoint reports them), wall time, and cost (from per-million-token
 * prices). The first limit reached names the stop reason.
 *
 * What it is not: rate limiting (the client's concurrency limit) or per-call timeouts.
 */
import type { Usage } from '../client/types';

export interface Budgets {
  maxSteps?: number;
  maxTokens?: number;
  maxWallMs?: number;
  /** Cost limit in the currency of `prices`. */
  maxCost?: number;
  /** Prices per million prompt / completion tokens. */
  prices?: { prompt: number; completion: number };
}

export type BudgetStop = 'max_steps' | 'max_tokens' | 'max_wall_time' | 'max_cost';

export class BudgetTracker {
  readonly usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  steps = 0;
  private readonly started = performance.now();

  constructor(readonly budgets: Budgets = {}) {}

  get cost(): number {
    const p = this.budgets.prices;
    return p ? (this.usage.prompt_tokens * p.prompt + this.usage.completion_tokens * p.completion) / 1e6 : 0;
  }

  get wallMs(): number {
    return performance.now() - this.started;
  }

  add(u: Usage): void {
    this.usage.prompt_tokens += u.prompt_tokens;
    this.usage.completion_tokens += u.completion_tokens;
    this.usage.total_tokens += u.total_tokens;
  }

  /** The limit that forbids another model call, or null. */
  exceeded(): BudgetStop | null {
    const b = this.budgets;
    if (b.maxSteps !== undefined && this.steps >= b.maxSteps) return 'max_steps';
    if (b.maxTokens !== undefined && this.usage.total_tokens >= b.maxTokens) return 'max_tokens';
    if (b.maxWallMs !== undefined && this.wallMs >= b.maxWallMs) return 'max_wall_time';
    if (b.maxCost !== undefined && this.cost >= b.maxCost) return 'max_cost';
    return null;
  }
}
