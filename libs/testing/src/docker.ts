/**
 * Is a Docker engine answering? A GET /_ping on the engine's socket (DOCKER_HOST when it is a unix
 * or tcp address, else /var/run/docker.sock), bounded by a short timeout so a missing engine costs
 * nothing.
 */
import { request } from 'node:http';

export async function dockerAvailable(timeoutMs = 1500): Promise<boolean> {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const target = host.startsWith('unix://')
    ? { socketPath: host.slice('unix://'.length) }
    : host.startsWith('tcp://')
      ? { host: new URL(host.replace('tcp://', 'http://')).hostname, port: Number(new URL(host.replace('tcp://', 'http://')).port || 2375) }
      : undefined;
  if (!target) return false;
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** testcontainers settings for engines that cannot pull images (no Ryuk) and publish on loopback. */
export function configureTestcontainersEnv(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}
