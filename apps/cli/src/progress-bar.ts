/**
 * A one-line progress bar on stderr for long steps that count items (tensors quantized or
 * written): redrawn in place on a TTY, a line every ~10% otherwise so logs stay readable.
 */
export function progressBar(label: string): (done: number, total: number, item?: string) => void {
  const tty = process.stderr.isTTY;
  const width = 24;
  let lastBucket = -1;
  return (done, total, item = '') => {
    const frac = total > 0 ? done / total : 1;
    const filled = Math.round(frac * width);
    const text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${item}`;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${text}${done === total ? '\n' : ''}`);
      return;
    }
    const bucket = Math.floor(frac * 10);
    if (bucket !== lastBucket || done === total) process.stderr.write(`${text}\n`);
    lastBucket = bucket;
  };
}
