/*
 * The structured trace of an agent run: one JSON object per line (JSONL), one line per step
 * event, written as it happens (a crash leaves every finished step on disk).
 *
 *   run_start  endpoint, model, tools offered, the input messages, sampling
 *   model      step, request hash, context (tokens, dropped), the assistant message, usage, latency
 *   tool       step, call id, tool, arguments as written, status, result text, ms
 *   run_end    answer, stop reason, steps, usage totals, tool-call counts, wall time
 *
 * The `model` events are what replay.ts feeds back as a recorded model.
 * What it is not: a metrics exporter (OpenTelemetry spans would be a sink beside this one).
 * Reference: Inspect's eval logs; OpenAI Agents SDK tracing (spans per model and tool call).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChatMessage, ToolSpec, Usage } from '../client/types';
import type { ToolOutcome } from '../tools/execute';

export interface RunStartEvent {
  type: 'run_start';
  run: string;
  ts: string;
  endpoint: string;
  model?: string;
  tools: string[];
  input: ChatMessage[];
  sampling: Record<string, unknown>;
}

export interface ModelEvent {
  type: 'model';
  run: string;
  ts: string;
  step: number;
  request_hash: string;
  context: { tokens: number | null; dropped: number };
  response: ChatMessage;
  finish_reason: string;
  usage: Usage;
  latency_ms: number;
}

/** One tool call of a step: its outcome (tools/execute.ts) with the run, time and step. */
export interface ToolEvent extends ToolOutcome {
  type: 'tool';
  run: string;
  ts: string;
  step: number;
}

export interface RunEndEvent {
  type: 'run_end';
  run: string;
  ts: string;
  answer: string | null;
  stop_reason: string;
  error?: string;
  steps: number;
  usage: Usage;
  tool_calls: { total: number; invalid: number; refused: number; failed: number };
  wall_ms: number;
}

export type TraceEvent = RunStartEvent | ModelEvent | ToolEvent | RunEndEvent;

export interface TraceSink {
  write(event: TraceEvent): void;
}

/** Appends each event as one line to a file (created with its folder). */
export class JsonlTrace implements TraceSink {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  write(event: TraceEvent): void {
    appendFileSync(this.file, `${JSON.stringify(event)}\n`);
  }
}

/** Keeps events in memory (evaluation attaches them to samples). */
export class MemoryTrace implements TraceSink {
  readonly events: TraceEvent[] = [];

  write(event: TraceEvent): void {
    this.events.push(event);
  }
}

/** Fans one event out to several sinks. */
export function teeTrace(...sinks: Array<TraceSink | undefined>): TraceSink {
  const live = sinks.filter((s): s is TraceSink => !!s);
  return { write: (e) => live.forEach((s) => s.write(e)) };
}

/** Reads a JSONL trace; a bad line is named by its number. */
export function readTrace(file: string): TraceEvent[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: TraceEvent[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as TraceEvent);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not a JSON trace event (${(err as Error).message})`);
    }
  });
  return out;
}

/** The hash a model event records for its request: the messages and tools the model was sent. */
export function requestHash(messages: ChatMessage[], tools: ToolSpec[] | undefined): string {
  const canon = JSON.stringify({ messages: messages.map((m) => [m.role, m.content ?? null, m.tool_calls ?? null, m.tool_call_id ?? null]), tools: tools ?? [] });
  return createHash('sha256').update(canon).digest('hex').slice(0, 32);
}
