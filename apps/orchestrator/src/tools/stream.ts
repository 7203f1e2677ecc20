/*
 * ToolCallStreamer: a reply's text arrives in pieces; this turns it into OpenAI's streamed chat
 * deltas: `content` while the reply is text, and `tool_calls` deltas once the family's marker (or,
 * for Llama 3, a reply that opens with `{`) shows the model is calling tools: first
 * {index, id, type, function: {name, arguments: ""}} when a call's name is complete, then
 * {index, function: {arguments: fragment}} as its arguments grow. The fragments of a call
 * concatenate to exactly the arguments text parsers.ts returns for the whole reply.
 * Text that might still become the marker is held back, as stop strings are.
 *
 * What it is not: the SSE framing (http/openai-server.ts).
 */
import { randomBytes } from 'node:crypto';
import { FORMATS, type ToolFamily } from './families';
import { jsonValueEnd } from './parsers';

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface StreamPiece {
  content: string;
  toolCalls: ToolCallDelta[];
}

export function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

interface CallProgress {
  id: string;
  named: boolean;
  argsSent: number;
}

export class ToolCallStreamer {
  private held = '';
  private inTools = false;
  private sentContent = false;
  private toolText = '';
  private readonly calls: CallProgress[] = [];

  constructor(private readonly family: ToolFamily) {}

  get numCalls(): number {
    return this.calls.filter((c) => c.named).length;
  }

  push(text: string): StreamPiece {
    if (this.inTools) {
      this.toolText += text;
      return { content: '', toolCalls: this.toolDeltas() };
    }
    const s = this.held + text;
    const marker = FORMATS[this.family].marker;
    let at = s.indexOf(marker);
    if (at < 0 && this.family === 'llama3' && !this.sentContent && s.trimStart().startsWith('{')) at = s.length - s.trimStart().length;
    if (at >= 0) {
      this.inTools = true;
      this.held = '';
      this.toolText = s.slice(at);
      return { content: this.content(s.slice(0, at)), toolCalls: this.toolDeltas() };
    }
    let keep = 0;
    for (let k = Math.min(marker.length - 1, s.length); k > 0; k--) {
      if (marker.startsWith(s.slice(s.length - k))) {
        keep = k;
        break;
      }
    }
    if (this.family === 'llama3' && !this.sentContent && s.trim() === '') keep = s.length; // may still open with "{"
    this.held = s.slice(s.length - keep);
    return { content: this.content(s.slice(0, s.length - keep)), toolCalls: [] };
  }

  /** The end of the reply: held-back text is content after all. */
  finish(): StreamPiece {
    if (this.inTools) return { content: '', toolCalls: this.toolDeltas() };
    const rest = this.held;
    this.held = '';
    return { content: this.content(rest), toolCalls: [] };
  }

  private content(s: string): string {
    if (s) this.sentContent = true;
    return s;
  }

  private toolDeltas(): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    const key = FORMATS[this.family].argsKey;
    const s = this.toolText;
    let i = s.indexOf('{');
    for (let k = 0; i >= 0; k++) {
      const end = jsonValueEnd(s, i);
      const obj = end < 0 ? s.slice(i) : s.slice(i, end);
      const progress = (this.calls[k] ??= { id: newToolCallId(), named: false, argsSent: 0 });
      const name = /"name"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(obj);
      if (name && !progress.named) {
        progress.named = true;
        out.push({ index: k, id: progress.id, type: 'function', function: { name: JSON.parse(`"${name[1]}"`), arguments: '' } });
      }
      const args = new RegExp(`"(${key}|arguments|parameters)"\\s*:\\s*`).exec(obj);
      if (progress.named && args) {
        const start = args.index + args[0].length;
        const argsEnd = jsonValueEnd(obj, start);
        const soFar = obj.slice(start, argsEnd < 0 ? undefined : argsEnd);
        if (soFar.length > progress.argsSent) {
          out.push({ index: k, function: { arguments: soFar.slice(progress.argsSent) } });
          progress.argsSent = soFar.length;
        }
      }
      if (end < 0) break;
      i = s.indexOf('{', end);
    }
    return out;
  }
}
