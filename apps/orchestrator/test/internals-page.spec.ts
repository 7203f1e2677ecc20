/*
 * The /internals page in headless Chromium (Debian's `chromium`, driven by playwright-core): it runs
 * a prompt on a Mixtral-shaped model served with --allow-trace and every panel renders with the
 * expected element counts (tokens and pieces, one heatmap per layer and head with the causal
 * triangle's N(N+1)/2 cells, token x layer routing cells and one load bar per expert, the pool's
 * blocks, two timeline bars per step, one sampling row per token); hovering a token shows its
 * piece's merge sequence; the saved seed traces load; the KV map animates; the console has no
 * errors. Screenshots go to artifacts/internals/ (CI keeps them).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { modelDir, startTestPlatform, type TestPlatform } from './support/platform';

jest.setTimeout(180_000);

const CHROMIUM = process.env.LLM_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(__dirname, '..', '..', '..', 'artifacts', 'internals');
const PROMPT = 'The tokens of the model repeat: the model, the tokens.';
const MAX_TOKENS = 3;

let p: TestPlatform;
let context: BrowserContext;
let page: Page;
let profile: string;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does) or set LLM_CHROMIUM`);
  mkdirSync(ARTIFACTS, { recursive: true });
  p = await startTestPlatform({ model: modelDir(1, 'mixtral'), numBlocks: 96, blockSize: 4, config: { httpPort: 0, allowTrace: true } });
  profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(`http://${p.orch.http}/internals`);
});

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await p?.close();
});

const count = (selector: string) => page.locator(selector).count();

it('runs a prompt and renders every panel with the expected element counts', async () => {
  await page.fill('#prompt', PROMPT);
  await page.fill('#max-tokens', String(MAX_TOKENS));
  await page.click('#run');
  await page.waitForFunction(() => /^ran in|^\d{3}:/.test(document.getElementById('status')?.textContent ?? ''));
  expect(await page.textContent('#status')).toMatch(/^ran in \d+ ms/);
  const c = p.model.config;
  const ids = p.orch.facts.tokenizer.encode(PROMPT);
  const pieces = p.orch.facts.tokenizer.explain(PROMPT).pieces;
  const N = ids.length + MAX_TOKENS - 1; // positions computed (the last sampled token never is)
  expect(await count('#tokens .token')).toBe(ids.length);
  expect(await count('#tokens .piece')).toBe(pieces.length);
  expect(await count('#attention figure.attn-map')).toBe(c.numLayers * c.numHeads);
  expect(await count('#attention figure.attn-map >> nth=0 >> g[aria-label="cell"] rect')).toBe((N * (N + 1)) / 2); // the causal triangle
  expect(await count('#moe .moe-map g[aria-label="cell"] rect')).toBe(N * c.numLayers);
  expect(await count('#moe .moe-load g[aria-label="bar"] rect')).toBe(c.numExperts);
  const blocks = Number(await page.getAttribute('#kv', 'data-blocks'));
  expect(blocks).toBeGreaterThanOrEqual(Math.ceil((N + 1) / 4));
  expect(await count('#kv g[aria-label="cell"] rect')).toBe(blocks);
  const steps = Number(await page.getAttribute('#scheduler', 'data-steps'));
  expect(steps).toBe(1 + MAX_TOKENS - 1); // one prefill, then one decode per generated token but the last
  expect(await count('#scheduler .sched-timeline g[aria-label="bar"] rect')).toBe(2 * steps);
  expect(await count('#sampling .sample-row')).toBe(MAX_TOKENS);
  await page.screenshot({ path: join(ARTIFACTS, 'run.png'), fullPage: true });
});

it('hovering a token shows the merge sequence of its piece', async () => {
  const pieces = p.orch.facts.tokenizer.explain(PROMPT).pieces;
  const at = pieces.findIndex((x) => x.merges.length >= 2);
  expect(at).toBeGreaterThanOrEqual(0);
  const first = pieces.slice(0, at).reduce((n, x) => n + x.ids.length, 0);
  await page.hover(`#tokens .token >> nth=${first}`);
  const text = (await page.textContent('#merges')) ?? '';
  for (const m of pieces[at].merges) expect(text).toContain(`${m.left} + ${m.right} → ${m.merged}`);
  expect(text.split('\n').filter((l) => /^\d+\. /.test(l))).toHaveLength(pieces[at].merges.length);
  await page.locator('#panel-tokens').screenshot({ path: join(ARTIFACTS, 'merges.png') });
});

it('animates the block map over the steps', async () => {
  const before = await page.inputValue('#kv-step');
  await page.click('#kv-play');
  await page.waitForFunction((v) => (document.getElementById('kv-step') as HTMLInputElement).value !== v, before);
  await page.click('#kv-play');
  await page.locator('#panel-kv').screenshot({ path: join(ARTIFACTS, 'kv.png') });
});

it('loads each saved seed trace', async () => {
  const names = await page.$$eval('#seed option', (os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(names).toEqual(expect.arrayContaining(['addition-attention', 'mixtral-routing', 'prefix-sharing']));
  const shown: Record<string, { maps: number; routed: number; shared: number }> = {};
  for (const name of names) {
    const before = (await page.getAttribute('body', 'data-rendered')) ?? '0';
    await page.selectOption('#seed', name);
    await page.click('#load-seed');
    await page.waitForFunction((n) => document.body.dataset.rendered !== n, before);
    shown[name] = {
      maps: await count('#attention figure.attn-map'),
      routed: await count('#moe .moe-map g[aria-label="cell"] rect'),
      shared: await page.locator('#kv text', { hasText: 'S' }).count(),
    };
    await page.screenshot({ path: join(ARTIFACTS, `seed-${name}.png`), fullPage: true });
  }
  expect(shown['addition-attention']).toEqual({ maps: 8, routed: 0, shared: 0 }); // 2 layers x 4 heads, a dense model
  expect(shown['mixtral-routing'].routed).toBeGreaterThan(0);
  expect(shown['prefix-sharing'].maps).toBe(1);
  await page.selectOption('#seed', 'prefix-sharing');
  await page.click('#load-seed');
  await page.waitForFunction(() => document.querySelectorAll('#kv text').length > 0);
  expect(await page.locator('#kv g[aria-label="text"] text').count()).toBeGreaterThan(0); // S marks on the shared blocks
});

it('logged no console error, page error or failed request', () => {
  expect(problems).toEqual([]);
});
