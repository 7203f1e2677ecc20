import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kv, router, worker, DESCRIPTOR_SET_PATH, SERVICE_NAMES } from '@llm/proto';

const root = join(__dirname, '..', '..', '..');

describe('generated contracts', () => {
  it('are up to date with proto/ (regenerates with buf and compares)', () => {
    // Throws (non-zero exit) when any generated file differs from a fresh generation.
    const out = execFileSync('node', [join(root, 'scripts', 'proto-gen.mjs'), '--check'], { encoding: 'utf8' });
    expect(out).toContain('up to date');
  });

  it('round-trip a message through the binary wire format', () => {
    const msg = kv.AllocateSlotsRequest.fromPartial({
      poolId: 'w0',
      ownerId: 's1',
      sequences: [{ seqId: 'a', newTokenIds: [1, 2, 70000], cacheSalt: 't', numTokensToCompute: 3 }],
    });
    const bytes = kv.AllocateSlotsRequest.encode(msg).finish();
    const back = kv.AllocateSlotsRequest.decode(bytes);
    expect(back).toEqual(msg);
    expect(back.sequences[0].newTokenIds).toEqual([1, 2, 70000]);
  });

  it('carry tensors as raw little-endian bytes', () => {
    const data = new Float32Array([1.5, -2, 3.25]);
    const t = router.Tensor.fromPartial({
      dtype: router.DType.D_TYPE_F32,
      shape: [1, 3],
      data: new Uint8Array(data.buffer),
    });
    const back = router.Tensor.decode(router.Tensor.encode(t).finish());
    const f = new Float32Array(back.data.buffer.slice(back.data.byteOffset, back.data.byteOffset + back.data.byteLength));
    expect(Array.from(f)).toEqual([1.5, -2, 3.25]);
  });

  it('name every service as the architecture table does', () => {
    expect(worker.WorkerDefinition.fullName).toBe(SERVICE_NAMES.worker);
    expect(kv.KvManagerDefinition.fullName).toBe(SERVICE_NAMES.kv);
    expect(existsSync(DESCRIPTOR_SET_PATH)).toBe(true);
  });
});
