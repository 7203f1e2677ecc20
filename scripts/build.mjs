#!/usr/bin/env node
// Compiles every workspace package's src/ (and bench/) to <package>/dist with swc, in one
// process. Type checking is separate (`npm run typecheck`); this only emits CommonJS. Then bundles
// the /internals page's plotting library (Observable Plot, with esbuild) into one browser file,
// apps/orchestrator/dist/vendor/plot.js, so the page needs no CDN.
import { readdirSync, readFileSync, statSync, mkdirSync, writeFileSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import { join, relative, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from '@swc/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: true,
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const started = Date.now();
let count = 0;
for (const group of ['libs', 'apps']) {
  const groupDir = join(root, group);
  if (!existsSync(groupDir)) continue;
  for (const pkg of readdirSync(groupDir)) {
    const pkgDir = join(groupDir, pkg);
    if (!existsSync(join(pkgDir, 'package.json'))) continue;
    const dist = join(pkgDir, 'dist');
    rmSync(dist, { recursive: true, force: true });
    for (const sub of ['src', 'bench', 'reliability']) {
      const srcDir = join(pkgDir, sub);
      if (!existsSync(srcDir)) continue;
      for (const file of walk(srcDir)) {
        const rel = relative(pkgDir, file);
        const target = join(dist, rel);
        mkdirSync(dirname(target), { recursive: true });
        if (file.endsWith('.spec.ts') || file.endsWith('.d.ts')) continue;
        if (extname(file) === '.ts') {
          const { code, map } = await swc.transformFile(file, { ...options, filename: file });
          const js = target.replace(/\.ts$/, '.js');
          writeFileSync(js, `${code}\n//# sourceMappingURL=${js.split('/').pop()}.map\n`);
          if (map) writeFileSync(`${js}.map`, map);
          count++;
        } else {
          copyFileSync(file, target);
        }
      }
    }
  }
}
await bundlePlot();
process.stderr.write(`build: compiled ${count} files in ${Date.now() - started} ms\n`);

async function bundlePlot() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write('build: esbuild is not installed (npm ci installs it); the /internals page will have no plotting library\n');
    return;
  }
  await esbuild.build({
    stdin: { contents: "import * as Plot from '@observablehq/plot'; globalThis.Plot = Plot;", resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'iife',
    legalComments: 'eof',
    banner: { js: `/* Observable Plot ${JSON.parse(readFileSync(join(root, 'node_modules', '@observablehq', 'plot', 'package.json'), 'utf8')).version} with the d3 modules it uses (ISC licenses), bundled for the /internals page */` },
    outfile: join(root, 'apps', 'orchestrator', 'dist', 'vendor', 'plot.js'),
    logLevel: 'warning',
  });
}
