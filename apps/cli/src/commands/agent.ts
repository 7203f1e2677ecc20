/*
 * `llm agent PROMPT (--endpoint URL | --grpc ADDR)`: run the agent loop once. Tools come from
 * the built-in set (--tools add,multiply), MCP servers (--mcp CMD, --mcp-url URL) and a RAG store
 * (--rag-store: the `retrieve` tool); budgets, context management and a JSONL trace by flag.
 * Tool calls are shown on stderr as they happen; the final answer is printed on stdout.
 * `--replay TRACE` re-runs a recorded trace against the same tools and says whether every run
 * reached the same answer (no endpoint needed).
 */
import type { Command } from 'commander';
import {
  BUILTIN_TOOLS, ContextManager, JsonlTrace, modelSummariser, modelTokenCounter, replayTrace, runAgent, teeTrace, ToolRegistry, type Guardrails, type Tool, type TraceSink,
} from '@llm/harness';
import { CliError } from '../errors';
import { collect, connectClient, type ClientFlags } from '../harness/connect';
import { connectMcpTools } from '../harness/mcp-tools';
import { openRagTool } from '../harness/rag-store';
import type { RegisterCommand } from './index';

interface AgentFlags extends ClientFlags {
  tools?: string;
  mcp: string[];
  mcpUrl: string[];
  system?: string;
  maxSteps: string;
  maxTokens?: string;
  maxWallMs?: string;
  temperature: string;
  replyTokens: string;
  seed?: string;
  trace?: string;
  replay?: string;
  contextWindow?: string;
  contextStrategy: string;
  tokenizerDir?: string;
  ragStore?: string;
  allow?: string;
  yes?: boolean;
}

function num(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new CliError(`--${name} must be a number >= ${min}, got '${v}'`);
  return n;
}

async function buildTools(f: AgentFlags, endpointFlags: ClientFlags) {
  const tools: Tool[] = [];
  for (const name of (f.tools ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const t = BUILTIN_TOOLS[name];
    if (!t) throw new CliError(`--tools: unknown tool '${name}' (built in: ${Object.keys(BUILTIN_TOOLS).join(', ')}; more come from --mcp servers)`);
    tools.push(t);
  }
  const mcp = await connectMcpTools(f.mcp, f.mcpUrl);
  tools.push(...mcp.tools);
  let closeRag = async () => undefined as void;
  if (f.ragStore) {
    const rag = await openRagTool(f.ragStore, endpointFlags);
    tools.push(rag.tool);
    closeRag = rag.close;
  }
  let registry: ToolRegistry;
  try {
    registry = new ToolRegistry(tools);
  } catch (err) {
    await mcp.close();
    throw new CliError((err as Error).message);
  }
  return { registry, close: async () => (await mcp.close(), await closeRag()) };
}

const showTools: TraceSink = {
  write: (e) => {
    if (e.type === 'tool') process.stderr.write(`[tool] ${e.name}(${e.arguments}) -> ${e.content.slice(0, 200)}${e.status === 'ok' ? '' : ` [${e.status}]`}\n`);
  },
};

async function agent(promptWords: string[], f: AgentFlags): Promise<void> {
  const guardrails: Guardrails = {
    allowedTools: f.allow ? f.allow.split(',').map((s) => s.trim()) : undefined,
    // Side-effecting tools (e.g. from MCP servers that say so) run only with --yes.
    approve: () => (f.yes ? true : 'side-effecting tools need --yes'),
  };
  if (f.replay) {
    const { registry, close } = await buildTools(f, f);
    try {
      const runs = await replayTrace(f.replay, { tools: registry, guardrails, trace: showTools });
      for (const r of runs) process.stdout.write(`${r.run}: ${r.same ? 'same answer' : `DIFFERENT (recorded ${JSON.stringify(r.recordedAnswer)}, replayed ${JSON.stringify(r.result.answer)}${r.result.error ? `: ${r.result.error}` : ''})`}\n`);
      if (runs.some((r) => !r.same)) throw new CliError('replay did not reproduce every run', 3);
    } finally {
      await close();
    }
    return;
  }
  const prompt = promptWords.join(' ').trim();
  if (!prompt) throw new CliError('give the task as the PROMPT argument, e.g. llm agent "12+34+56" --endpoint http://127.0.0.1:8080 --tools add');
  const { client, close } = connectClient(f);
  const { registry, close: closeTools } = await buildTools(f, f);
  try {
    let context: ContextManager | undefined;
    if (f.contextWindow) {
      const dir = f.tokenizerDir ?? f.chatTemplate;
      if (!dir) throw new CliError('--context-window needs --tokenizer-dir DIR (the model directory, to count tokens with its own tokenizer)');
      if (f.contextStrategy !== 'truncate' && f.contextStrategy !== 'summarise') throw new CliError(`--context-strategy must be truncate or summarise, got '${f.contextStrategy}'`);
      context = new ContextManager(modelTokenCounter(dir), {
        maxTokens: num('context-window', f.contextWindow, 1)!,
        reserveTokens: num('reply-tokens', f.replyTokens, 1),
        strategy: f.contextStrategy,
        summarise: f.contextStrategy === 'summarise' ? modelSummariser(client, { model: f.model }) : undefined,
      });
    }
    const r = await runAgent(prompt, {
      client, model: f.model, system: f.system, tools: registry, context, guardrails,
      trace: teeTrace(showTools, f.trace ? new JsonlTrace(f.trace) : undefined),
      budgets: { maxSteps: num('max-steps', f.maxSteps, 1), maxTokens: num('max-tokens', f.maxTokens, 1), maxWallMs: num('max-wall-ms', f.maxWallMs, 1) },
      sampling: { temperature: num('temperature', f.temperature, 0), max_tokens: num('reply-tokens', f.replyTokens, 1), seed: num('seed', f.seed, 0) },
    });
    process.stderr.write(`[agent] ${r.stopReason} after ${r.steps} steps, ${r.toolCalls.total} tool calls (${r.toolCalls.invalid} invalid), ${r.usage.total_tokens} tokens${f.trace ? `; trace in ${f.trace}` : ''}\n`);
    if (r.stopReason !== 'final_answer') throw new CliError(r.error ? `the agent stopped: ${r.error}` : `the agent stopped without an answer: ${r.stopReason}`, 3);
    process.stdout.write(`${r.answer}\n`);
  } finally {
    close();
    await closeTools();
  }
}

export const registerAgent: RegisterCommand = (program: Command) => {
  program
    .command('agent')
    .description('run the agent loop on a prompt with tools (built in, MCP servers, a RAG store); --replay re-runs a trace')
    .argument('[prompt...]', 'the task')
    .option('--endpoint <url>', 'OpenAI-compatible HTTP endpoint')
    .option('--grpc <host:port>', "the platform's gRPC Inference API (its Chat RPC, or --chat-template)")
    .option('--model <name>', 'model name to send')
    .option('--chat-template <dir>', "render chat and tools with this model directory's template and parse <tool_call> blocks (over completions)")
    .option('--tools <names>', `built-in tools, comma-separated (${Object.keys(BUILTIN_TOOLS).join(', ')})`)
    .option('--mcp <command>', 'tools from an MCP server started with this command line (repeatable)', collect, [])
    .option('--mcp-url <url>', 'tools from a Streamable HTTP MCP server (repeatable)', collect, [])
    .option('--rag-store <dir|postgres://...>', 'offer the `retrieve` tool over this RAG store (see `llm rag`)')
    .option('--allow <names>', 'only these tools may be offered and called')
    .option('--yes', 'approve side-effecting tools')
    .option('--system <text>', 'system prompt')
    .option('--max-steps <n>', 'most model calls', '16')
    .option('--max-tokens <n>', 'most tokens (prompt + completion) over the run')
    .option('--max-wall-ms <n>', 'most wall time')
    .option('--temperature <x>', 'sampling temperature', '0')
    .option('--reply-tokens <n>', 'most tokens per model reply', '64')
    .option('--seed <n>', 'sampling seed')
    .option('--trace <file>', 'append a JSONL trace of every step')
    .option('--replay <file>', 're-run a JSONL trace against the tools and compare the answers')
    .option('--context-window <n>', "keep the conversation within N tokens (the model's own tokenizer)")
    .option('--context-strategy <s>', 'truncate | summarise', 'truncate')
    .option('--tokenizer-dir <dir>', 'model directory whose tokenizer counts tokens (default --chat-template)')
    .action((prompt: string[], f: AgentFlags) => agent(prompt, f));
};
