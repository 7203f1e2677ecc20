import { loadConfig } from '@llm/platform';
import { parseExpertList, routerConfigSchema } from '../src';

describe('router config', () => {
  it('parses expert lists and ranges', () => {
    expect(parseExpertList('all', 4)).toEqual([0, 1, 2, 3]);
    expect(parseExpertList('0-2', 8)).toEqual([0, 1, 2]);
    expect(parseExpertList('5, 0,2-3,3', 8)).toEqual([0, 2, 3, 5]);
  });

  it('names the flag and the problem', () => {
    expect(() => parseExpertList('0-9', 4)).toThrow("--hosted-experts '0-9': '0-9' is outside 0..3 (the model has 4 experts)");
    expect(() => parseExpertList('3-1', 4)).toThrow(/'3-1' is outside/);
    expect(() => parseExpertList('a', 4)).toThrow(/'a' is not an expert id or range/);
  });

  it('reads flags and environment with the defaults of a single all-experts replica', () => {
    const c = loadConfig(routerConfigSchema, { argv: ['--model', '/m', '--peers', 'a:1,b:2'], env: { LLM_CAPACITY_FACTOR: '1.25' } });
    expect(c).toMatchObject({ host: '127.0.0.1', grpcPort: 50053, modelDir: '/m', hostedExperts: 'all', peers: 'a:1,b:2', capacityFactor: 1.25 });
    expect(() => loadConfig(routerConfigSchema, { argv: ['--capacity-factor', '-1'], env: {} })).toThrow(/--capacity-factor.*expected >= 0/);
  });
});
