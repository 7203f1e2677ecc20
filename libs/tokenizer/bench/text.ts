/*
 * Benchmark text: several megabytes of real-world prose and code, read from the Markdown
 * and TypeScript declaration files under node_modules (sorted, so every run reads the same
 * bytes), plus multilingual and emoji lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MULTILINGUAL = [
  '日本語のテキストです。東京は大きい都市です。',
  'Русский текст с пунктуацией: «ёлки-палки»!',
  'العربية نص تجريبي مع أرقام ١٢٣',
  'हिन्दी पाठ परीक्षण के लिए',
  'emoji 🎉🎉 👨‍👩‍👧‍👦 family 🇫🇷🇯🇵 flags 👍🏽',
  'Ünïcödé àccénts çà et là, naïve café, straße',
].join('\n');

function walk(dir: string, out: string[], depth: number): void {
  if (depth > 6) return;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, out, depth + 1);
    else if ((name.endsWith('.md') || name.endsWith('.d.ts')) && st.size < 200_000) out.push(p);
  }
}

/** About `targetBytes` of mixed text (UTF-16 length is close to the UTF-8 size for this mix). */
export function benchText(root: string, targetBytes: number): string {
  const files: string[] = [];
  walk(join(root, 'node_modules'), files, 0);
  const parts: string[] = [];
  let size = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    parts.push(text);
    size += Buffer.byteLength(text);
    if (parts.length % 20 === 0) {
      parts.push(MULTILINGUAL);
      size += Buffer.byteLength(MULTILINGUAL);
    }
    if (size >= targetBytes) break;
  }
  return parts.join('\n');
}
