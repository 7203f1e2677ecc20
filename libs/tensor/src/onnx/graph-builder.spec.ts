/** @jest-environment ./src/onnx/ort-test-environment.js */
/*
 * OnnxGraphBuilder: the serialised proto carries what was declared (symbolic dims, raw
 * little-endian initializers, typed attributes, opset imports), and graphs built with it run in
 * ONNX Runtime and match hand-computed results, including a com.microsoft contrib op.
 */
import { onnx } from 'onnx-proto';
import { floatAttr, OnnxGraphBuilder } from './graph-builder';
import { createOrtSession, ortSessionOptions, ortTensor, outputF32 } from './session';

describe('OnnxGraphBuilder', () => {
  it('serialises inputs with symbolic dims, raw little-endian initializers and typed attributes', () => {
    const g = new OnnxGraphBuilder({ name: 'probe', microsoftDomain: true });
    const x = g.input('x', 'float32', ['N', 2]);
    const w = g.initializer('w', Float32Array.of(1, -2), [2]);
    const y = g.op('Mul', [x, w]);
    const s = g.op('Softmax', [y], { axis: -1 });
    const e = g.op('LeakyRelu', [s], { alpha: 0.25 });
    const gm = g.op('Gemm', [e, e], { alpha: floatAttr(1), transB: 1 });
    g.output(gm, 'out', 'float32', ['N', 'N']);
    const m = onnx.ModelProto.decode(g.toBytes());

    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17], ['com.microsoft', 1]]);
    const g2 = m.graph as onnx.GraphProto;
    expect(g2.input[0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 2]);
    // 1.0f = 0x3f800000 and -2.0f = 0xc0000000, little-endian bytes.
    expect(Array.from(g2.initializer[0].rawData!)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(g2.initializer[0].dataType).toBe(onnx.TensorProto.DataType.FLOAT);
    const T = onnx.AttributeProto.AttributeType;
    const attrs = g2.node.flatMap((n) => n.attribute!.map((a) => [n.opType, a.name, a.type]));
    expect(attrs).toEqual([
      ['Softmax', 'axis', T.INT],
      ['LeakyRelu', 'alpha', T.FLOAT],
      ['Gemm', 'alpha', T.FLOAT],
      ['Gemm', 'transB', T.INT],
    ]);
    expect(g2.output[0].name).toBe('out');
    expect(g2.node[g2.node.length - 1].opType).toBe('Identity');
  });

  it('builds a graph that ONNX Runtime runs: Reshape by an int64 constant, Softmax, scaled Add', async () => {
    const g = new OnnxGraphBuilder();
    const x = g.input('x', 'float32', ['N']);
    const shaped = g.op('Reshape', [x, g.constInt64([-1, 2])]); // (N) -> (N/2, 2)
    const p = g.op('Softmax', [shaped], { axis: -1 });
    const y = g.op('Add', [p, g.constFloat([10], [])]);
    g.output(y, 'y', 'float32', ['R', 2]);
    const session = await createOrtSession(g.toBytes(), { threads: 1 });
    const out = outputF32(await session.run({ x: ortTensor(Float32Array.of(0, 0, 0, Math.log(3)), [4]) }), 'y');
    await session.release();
    // softmax([0, 0]) = [0.5, 0.5]; softmax([0, ln 3]) = [1/4, 3/4]
    const expected = [10.5, 10.5, 10.25, 10.75];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
  });

  it('runs a com.microsoft contrib op (QuickGelu: x * sigmoid(alpha x))', async () => {
    const g = new OnnxGraphBuilder({ microsoftDomain: true });
    const x = g.input('x', 'float32', [3]);
    g.output(g.op('QuickGelu', [x], { alpha: 1.702 }, 'com.microsoft'), 'y', 'float32', [3]);
    const session = await createOrtSession(g.toBytes(), { threads: 1 });
    const xs = Float32Array.of(-1, 0.5, 2);
    const out = outputF32(await session.run({ x: ortTensor(xs, [3]) }), 'y');
    await session.release();
    xs.forEach((v, i) => expect(out[i]).toBeCloseTo(v / (1 + Math.exp(-1.702 * v)), 5));
  });

  it('names the problem on bad declarations', () => {
    const g = new OnnxGraphBuilder({ name: 'bad' });
    g.input('x', 'float32', [2]);
    expect(() => g.input('x', 'float32', [2])).toThrow(/'bad': value name 'x' is already defined/);
    expect(() => g.initializer('w', new Float32Array(5), [2, 3])).toThrow(/'w': dims \[2, 3\] hold 6 elements but the data has 5/);
    expect(() => g.op('QuickGelu', ['x'], {}, 'com.microsoft')).toThrow(/microsoftDomain: true/);
  });

  it('ORT reports a malformed graph as a clear error, and session options never spin', async () => {
    const g = new OnnxGraphBuilder({ name: 'broken' });
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('MatMul', [x, 'missing_value']), 'y', 'float32', [2]);
    await expect(createOrtSession(g.toBytes(), { threads: 1 })).rejects.toThrow(/ONNX Runtime rejected the model/);
    expect(() => ortSessionOptions(0)).toThrow(/threads must be a positive integer/);
    expect(ortSessionOptions(2)).toMatchObject({
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  });
});
