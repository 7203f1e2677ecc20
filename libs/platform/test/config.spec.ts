import { ConfigError, defineConfig, loadConfig, parseFlags } from '@llm/platform';

const schema = defineConfig({
  grpcPort: { type: 'int', default: 50055, min: 0, max: 65535, description: 'gRPC port' },
  kvCacheGib: { type: 'float', default: 1, min: 0, description: 'KV cache budget in GiB' },
  backend: { type: 'string', default: 'ort', choices: ['ort', 'ts'], description: 'execution backend' },
  verbose: { type: 'bool', default: false, description: 'log more' },
  model: { type: 'string', required: true, description: 'model directory' },
});

describe('loadConfig', () => {
  it('takes flags over env over defaults', () => {
    const c = loadConfig(schema, {
      argv: ['--grpc-port', '6000', '--model=/m', '--verbose'],
      env: { GRPC_PORT: '7000', KV_CACHE_GIB: '2.5' },
    });
    expect(c).toEqual({ grpcPort: 6000, kvCacheGib: 2.5, backend: 'ort', verbose: true, model: '/m' });
  });

  it('names the flag, the variable and the expectation on a bad value', () => {
    expect(() => loadConfig(schema, { argv: ['--grpc-port', 'abc', '--model', 'm'], env: {} })).toThrow(
      "--grpc-port (flag --grpc-port, env GRPC_PORT) is 'abc': expected an integer",
    );
    expect(() => loadConfig(schema, { argv: ['--model', 'm'], env: { KV_CACHE_GIB: '-1' } })).toThrow(/KV_CACHE_GIB.*expected >= 0/);
    expect(() => loadConfig(schema, { argv: ['--model', 'm', '--backend', 'gpu'], env: {} })).toThrow(/expected one of ort, ts/);
  });

  it('reports a missing required setting with both ways to pass it', () => {
    expect(() => loadConfig(schema, { argv: [], env: {} })).toThrow(ConfigError);
    expect(() => loadConfig(schema, { argv: [], env: {} })).toThrow('missing setting: pass --model or set MODEL (model directory)');
  });

  it('rejects unknown flags in strict mode', () => {
    expect(() => loadConfig(schema, { argv: ['--model', 'm', '--modle', 'x'], env: {}, strict: true })).toThrow(/unknown flag --modle/);
  });

  it('parses --no-flag as false', () => {
    expect(parseFlags(['--no-verbose']).get('verbose')).toBe('false');
  });
});
