/*
 * GET /internals: the page that runs a prompt with an internals trace and draws it (BPE pieces and
 * merges, attention heatmaps, expert routing, the KV pool's block map over steps, the scheduler
 * timeline), served only when the server allows tracing (--allow-trace; 404 otherwise). Static and
 * self-contained: the page, its script and stylesheet (./internals), the plotting library
 * (Observable Plot, bundled into dist/vendor/plot.js by scripts/build.mjs at `npm ci` / `npm run
 * build`, no CDN), and the saved seed traces (./internals/seeds/*.json, listed at /internals/seeds).
 *
 * What it is not: an API. The page calls POST /v1/completions like any client (with the key the
 * user types when API keys are on; add /internals to --auth-exempt so the page itself loads).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { HttpError } from './errors';

const PAGE_DIR = join(__dirname, 'internals');
const SEED_DIR = join(PAGE_DIR, 'seeds');

const FILES: Record<string, { file: () => string; type: string }> = {
  '/internals': { file: () => join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/internals/': { file: () => join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/internals/app.js': { file: () => join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/internals/style.css': { file: () => join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/internals/plot.js': { file: () => join(packageRoot(), 'dist', 'vendor', 'plot.js'), type: 'text/javascript; charset=utf-8' },
};

/** The orchestrator package's folder (src/http or dist/src/http are below it). */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Answers a GET under /internals; `enabled` is the server's --allow-trace. */
export function serveInternals(path: string, enabled: boolean, res: ServerResponse): void {
  if (!enabled) throw new HttpError(404, 'the internals page is off on this server (start it with --allow-trace)');
  if (path === '/internals/seeds') return send(res, 200, 'application/json', JSON.stringify(seedNames()));
  const seed = /^\/internals\/seeds\/([a-z0-9-]+)\.json$/.exec(path);
  if (seed) {
    if (!seedNames().includes(seed[1])) throw new HttpError(404, `no seed trace '${seed[1]}' (see /internals/seeds)`);
    return send(res, 200, 'application/json', readFileSync(join(SEED_DIR, `${seed[1]}.json`)));
  }
  const asset = FILES[path];
  if (!asset) throw new HttpError(404, `no page ${path.slice(0, 200)} (the page is /internals)`);
  const file = asset.file();
  if (!existsSync(file)) throw new HttpError(500, `${file} is missing: run npm run build (it bundles the plotting library)`);
  send(res, 200, asset.type, readFileSync(file));
}

function seedNames(): string[] {
  if (!existsSync(SEED_DIR)) return [];
  return readdirSync(SEED_DIR).filter((f) => /^[a-z0-9-]+\.json$/.test(f)).map((f) => f.slice(0, -5)).sort();
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}
