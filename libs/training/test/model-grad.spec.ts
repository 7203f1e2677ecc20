/*
 * The whole model's gradient against central finite differences in float64, on tiny
 * configs: llama (MHA; GQA with biases), qwen2, gpt2, and mixtral (MoE + GQA, aux loss on).
 * A seeded sample of each parameter's entries is checked to keep the test fast.
 */
import { JsEngine } from '../src/autograd/engine';
import { trainConfig } from '../src/model/config';
import { modelLoss } from '../src/model/loss';
import { initParams } from '../src/model/params';
import { Rng } from '../src/rng';
import { gradCheck } from './gradcheck';

const small = ['hidden_size=8', 'intermediate_size=12', 'num_hidden_layers=2', 'max_position_embeddings=8'];
const cases: Array<{ arch: string; sets: string[]; label: string }> = [
  { arch: 'llama', label: 'llama MHA', sets: [...small, 'num_key_value_heads=2', 'num_attention_heads=2'] },
  { arch: 'llama', label: 'llama GQA with attention and MLP biases', sets: [...small, 'num_attention_heads=4', 'num_key_value_heads=2', 'attention_bias=true', 'mlp_bias=true'] },
  { arch: 'qwen2', label: 'qwen2 (qkv bias, tied embeddings)', sets: [...small, 'num_attention_heads=2', 'num_key_value_heads=1'] },
  { arch: 'gpt2', label: 'gpt2', sets: ['n_embd=8', 'n_inner=12', 'n_layer=2', 'n_positions=8', 'n_head=2'] },
  { arch: 'mixtral', label: 'mixtral MoE + GQA', sets: [...small, 'num_attention_heads=4', 'num_key_value_heads=1', 'num_local_experts=3', 'num_experts_per_tok=2', 'router_aux_loss_coef=0.5'] },
];

describe('whole-model gradient (float64 finite differences)', () => {
  for (const { arch, sets, label } of cases) {
    it(label, async () => {
      const cfg = trainConfig(arch, sets, { vocabSize: 11, bosTokenId: null, eosTokenId: 0 });
      const params = initParams(cfg, 3, 'f64');
      // Larger-than-default weights so every path (attention, gates) carries signal.
      const rng = new Rng(4);
      for (const p of params.values()) if (p.shape.length === 2 || p.name?.endsWith('.bias')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.5;
      const B = 2, T = 5;
      const inputs = Int32Array.from({ length: B * T }, () => rng.int(11));
      const targets = Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? -100 : rng.int(11)));
      const engine = new JsEngine();
      const loss = async () => (await modelLoss(engine, cfg, params, { inputs, targets, B, T })).loss;
      const err = await gradCheck([...params.values()], loss, { maxEntries: 6, h: 1e-5 });
      expect(err).toBeLessThan(1e-5);
    });
  }
});
