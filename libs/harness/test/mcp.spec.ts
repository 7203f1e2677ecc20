/*
 * Tools from MCP servers: an agent using a stdio MCP server started as a child process (the
 * SDK's server), and the clear one-line errors of a server that exits, hangs, or fails a call.
 */
import { join } from 'node:path';
import { addTool, connectMcpServer, McpError, OpenAiHttpClient, runAgent, splitCommand, ToolRegistry } from '../src';
import { startScriptedServer, type ScriptedServer } from '../src/testing';

const server = join(__dirname, 'fixtures', 'mcp-calc-server.js');
const cmd = (mode = '') => `${process.execPath} ${server} ${mode}`.trim();
let model: ScriptedServer;

beforeAll(async () => {
  model = await startScriptedServer({});
});
afterAll(() => model.close());

describe('MCP tools', () => {
  it('gives the agent the tools of a stdio MCP server child process', async () => {
    const mcp = await connectMcpServer({ command: cmd() });
    try {
      expect(mcp.tools.map((t) => t.name).sort()).toEqual(['fail', 'multiply']);
      model.handlers.chat = (body) => {
        const tools = body.tools.map((t: any) => t.function.name);
        const last = body.messages.at(-1);
        if (last.role === 'user') return { tool_calls: [{ id: 'm', name: 'multiply', arguments: '{"a": 6, "b": 7}' }, { id: 'p', name: 'add', arguments: '{"a": 1, "b": 2}' }] };
        if (last.role === 'tool' && body.messages.at(-2).role === 'tool') return { tool_calls: [{ id: 'bad', name: 'multiply', arguments: '{"a": "six"}' }] };
        return { content: `tools ${tools.join(',')}; results ${body.messages.filter((m: any) => m.role === 'tool').map((m: any) => m.content).join(' | ')}` };
      };
      const client = new OpenAiHttpClient({ baseUrl: model.url });
      const r = await runAgent('go', { client, tools: new ToolRegistry([addTool, ...mcp.tools]) });
      expect(r.answer).toMatch(/^tools add,multiply,fail; results 42 \| 3 \| error: invalid arguments for 'multiply': arguments must have required property 'b', arguments\/a must be number$/);
      expect(r.toolCalls).toMatchObject({ total: 3, invalid: 1 });
      // The MCP server's inputSchema was offered to the model as the tool's parameters.
      expect(model.requests[0].body.tools[1].function.parameters).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] });
      await expect(Promise.resolve(mcp.tools.find((t) => t.name === 'fail')!.run({}, { signal: new AbortController().signal, callId: 'x' }))).rejects.toThrow('the calculator is broken');
    } finally {
      await mcp.close();
    }
  });

  it('says in one line that a server exited during start-up, with its stderr', async () => {
    const err = await connectMcpServer({ command: cmd('--exit-at-start'), timeoutMs: 5000 }).catch((e) => e);
    expect(err).toBeInstanceOf(McpError);
    expect(err.message).toMatch(/^MCP server '.*mcp-calc-server\.js --exit-at-start' exited during the MCP handshake; its stderr ends: calc server: cannot open its config file$/);
  });

  it('gives up on a server that hangs, after the time limit', async () => {
    const t0 = Date.now();
    const err = await connectMcpServer({ command: cmd('--hang'), timeoutMs: 800 }).catch((e) => e);
    expect(err.message).toMatch(/^MCP server '.*--hang' did not complete the MCP handshake within 800 ms \(is it an MCP server on stdio\?\)$/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('turns a server that exits mid-run into a tool error the model sees', async () => {
    const mcp = await connectMcpServer({ command: cmd('--exit-on-call'), timeoutMs: 3000 });
    try {
      model.handlers.chat = (body) => (body.messages.at(-1).role === 'user' ? { tool_calls: [{ id: 'm', name: 'multiply', arguments: '{"a": 2, "b": 3}' }] } : { content: body.messages.at(-1).content });
      const r = await runAgent('go', { client: new OpenAiHttpClient({ baseUrl: model.url }), tools: new ToolRegistry(mcp.tools) });
      expect(r.stopReason).toBe('final_answer');
      expect(r.answer).toMatch(/^error: tool 'multiply' failed: MCP server '.*--exit-on-call' exited while running 'multiply'/);
      expect(r.toolCalls.failed).toBe(1);
    } finally {
      await mcp.close();
    }
  });

  it('splits command lines with quotes', () => {
    expect(splitCommand(`node "my server.js" --name 'a b' x`)).toEqual(['node', 'my server.js', '--name', 'a b', 'x']);
  });
});
