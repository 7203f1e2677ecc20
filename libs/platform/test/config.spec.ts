import { ConfigError, defineConfig, loadConfig, parseArgs, parseFlags, readAppArgs } from '@llm/platform/config';

const schema = defineConfig({
  grpcPort: { type: 'int', default: 50055, min: 0, max: 65535, description: 'gRPC port' },
  kvCacheGib: { type: 'float', default: 1, min: 0, description: 'KV cache budget in GiB' },
  backend: { type: 'string', default: 'ort', choices: ['ort', 'ts'], description: 'execution backend' },
  verbose: { type: 'bool', default: false, description: 'log more' },
  model: { type: 'string', required: true, description: 'model directory' },
  apiKey: { type: 'list', default: [], secret: true, description: 'API keys' },
  token: { type: 'string', default: '', secret: true, choices: ['a', 'b'], description: 'a secret with choices' },
});

describe('loadConfig', () => {
  it('takes flags over env over defaults; env names are LLM_ + the flag in SCREAMING_SNAKE_CASE', () => {
    const c = loadConfig(schema, {
      argv: ['--grpc-port', '6000', '--model=/m', '--verbose'],
      env: { LLM_GRPC_PORT: '7000', LLM_KV_CACHE_GIB: '2.5', KV_CACHE_GIB: '9' },
    });
    expect(c).toEqual({ grpcPort: 6000, kvCacheGib: 2.5, backend: 'ort', verbose: true, model: '/m', apiKey: [], token: '' });
  });

  it('names the flag, the variable and the expectation on a bad value', () => {
    expect(() => loadConfig(schema, { argv: ['--grpc-port', 'abc', '--model', 'm'], env: {} })).toThrow(
      "--grpc-port (flag --grpc-port, env LLM_GRPC_PORT) is 'abc': expected an integer",
    );
    expect(() => loadConfig(schema, { argv: ['--model', 'm'], env: { LLM_KV_CACHE_GIB: '-1' } })).toThrow(/LLM_KV_CACHE_GIB.*expected >= 0/);
    expect(() => loadConfig(schema, { argv: ['--model', 'm', '--backend', 'gpu'], env: {} })).toThrow(/expected one of ort, ts/);
  });

  it('never echoes a secret value', () => {
    let message = '';
    try {
      loadConfig(schema, { argv: ['--model', 'm', '--token', 'hunter2'], env: {} });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/--token .* is \(hidden\): expected one of a, b/);
    expect(message).not.toContain('hunter2');
  });

  it('reports a missing required setting with both ways to pass it', () => {
    expect(() => loadConfig(schema, { argv: [], env: {} })).toThrow(ConfigError);
    expect(() => loadConfig(schema, { argv: [], env: {} })).toThrow('missing setting: pass --model or set LLM_MODEL (model directory)');
  });

  it('rejects unknown flags and stray arguments in strict mode', () => {
    expect(() => loadConfig(schema, { argv: ['--model', 'm', '--modle', 'x'], env: {}, strict: true })).toThrow(/unknown flag --modle/);
    expect(() => loadConfig(schema, { argv: ['--model', 'm', 'extra'], env: {}, strict: true })).toThrow(/unexpected argument 'extra'/);
  });

  it('collects a list from repeated flags and commas, or from the environment', () => {
    expect(loadConfig(schema, { argv: ['--model', 'm', '--api-key', 'a', '--api-key', 'b,c'], env: {} }).apiKey).toEqual(['a', 'b', 'c']);
    expect(loadConfig(schema, { argv: ['--model', 'm'], env: { LLM_API_KEY: 'x, y' } }).apiKey).toEqual(['x', 'y']);
    expect(loadConfig(schema, { argv: ['--model', 'm'], env: { LLM_API_KEY: '' } }).apiKey).toEqual([]);
  });

  it('parses --no-flag as false, and keeps positionals apart', () => {
    expect(parseFlags(['--no-verbose']).get('verbose')).toBe('false');
    expect(parseArgs(['run', '--a', '1', '--b'])).toEqual({ flags: new Map([['a', ['1']], ['b', ['true']]]), positional: ['run'] });
  });
});

describe('readAppArgs', () => {
  it('answers --help and -h with every flag, its variable and its default', () => {
    for (const flag of ['--help', '-h']) {
      const out = readAppArgs('demo', 'serves demo', schema, { argv: [flag, '--bogus'], env: {} });
      expect(out.kind).toBe('help');
      const text = (out as { text: string }).text;
      expect(text).toMatch(/^demo: serves demo/);
      expect(text).toMatch(/--grpc-port V\s+LLM_GRPC_PORT\s+gRPC port \(default 50055\)/);
      expect(text).toMatch(/--model V\s+LLM_MODEL\s+model directory \(required\)/);
    }
  });

  it('turns an unknown flag into one line naming the app', () => {
    const out = readAppArgs('demo', 'serves demo', schema, { argv: ['--model', 'm', '--nope'], env: {} });
    expect(out).toEqual({ kind: 'error', line: 'demo: unknown flag --nope (run with --help for the flags this app takes)' });
  });
});
