#!/usr/bin/env node
// Generates libs/proto/src/gen from proto/ with buf (from npm) and the local ts-proto plugin, plus a
// FileDescriptorSet for server reflection. With --check it generates into a temporary folder and fails
// when the committed code differs (stale generated code).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, rmSync, existsSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buf = join(root, 'node_modules', '.bin', 'buf');
const target = join(root, 'libs', 'proto', 'src', 'gen');
const check = process.argv.includes('--check');

function generate(outDir) {
  const plugin = join(root, 'node_modules', '.bin', 'protoc-gen-ts_proto');
  const template = readFileSync(join(root, 'proto', 'buf.gen.yaml'), 'utf8')
    .replace('../node_modules/.bin/protoc-gen-ts_proto', plugin)
    .replace('../libs/proto/src/gen', outDir);
  execFileSync(buf, ['generate', '--template', template], { cwd: join(root, 'proto'), stdio: 'inherit' });
  execFileSync(buf, ['build', '-o', join(outDir, 'descriptor.binpb')], { cwd: join(root, 'proto'), stdio: 'inherit' });
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function files(dir) {
  return walk(dir).map((p) => relative(dir, p)).sort();
}

if (check) {
  const tmp = mkdtempSync(join(tmpdir(), 'proto-gen-'));
  const out = join(tmp, 'gen');
  generate(out);
  const want = files(out);
  const have = existsSync(target) ? files(target) : [];
  const stale = [];
  if (want.join('\n') !== have.join('\n')) stale.push(`file list differs: expected ${want.join(', ')}`);
  for (const f of want) {
    if (have.includes(f) && !readFileSync(join(out, f)).equals(readFileSync(join(target, f)))) stale.push(f);
  }
  rmSync(tmp, { recursive: true, force: true });
  if (stale.length) {
    console.error(`generated code in libs/proto/src/gen is stale (${stale.join('; ')}); run \`npm run proto:gen\` and commit`);
    process.exit(1);
  }
  console.log('libs/proto/src/gen is up to date with proto/');
} else {
  rmSync(target, { recursive: true, force: true });
  generate(target);
  console.log(`generated ${files(target).length} files into libs/proto/src/gen`);
}
