// uniquePorts (distributed.ts): the free-port helper of `llm serve --distributed` never hands out a
// port twice, even when the OS offers the same port to two probes in a row.
import { CliError } from '../errors';
import { freePort, uniquePorts } from './distributed';

describe('uniquePorts', () => {
  it('skips a port the OS offers again and returns the next new one', async () => {
    const offers = [41000, 41000, 41000, 41001, 41000, 41002];
    const next = uniquePorts(async () => offers.shift() as number);
    expect([await next(), await next(), await next()]).toEqual([41000, 41001, 41002]);
    expect(offers).toEqual([]);
  });

  it('gives up with a CLI error, not a hang, when the probe never offers a new port', async () => {
    let probes = 0;
    const next = uniquePorts(async () => {
      probes++;
      return 42000;
    });
    expect(await next()).toBe(42000);
    await expect(next()).rejects.toThrow(CliError);
    expect(probes).toBe(1 + 64);
  });

  it('hands out distinct ports from the real probe', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
  });
});
