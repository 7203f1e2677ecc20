/**
 * The router's composition from its config: load the model directory (libs/model), build the MoE
 * layers for the hosted experts on ONNX Runtime, connect the peers over gRPC with deadlines.
 * Used by main.ts (standalone) and by composition roots that embed the router.
 */
import { basename, resolve } from 'node:path';
import { loadModelDir, type LoadedModel, type QuantFormat } from '@llm/model';
import { ortExpertBackend } from '@llm/moe';
import { clientCredentials, connectGrpc, type GrpcConnection } from '@llm/platform';
import { router } from '@llm/proto';
import { buildMoeModel } from './moe-weights';
import { RouterMoe, type RouterPeer } from './router-moe';
import { parseExpertList, type RouterConfig } from './router.config';

export interface RouterParts {
  moe: RouterMoe;
  /** Peer channels; close them on shutdown. */
  connections: GrpcConnection<typeof router.RouterDefinition>[];
}

/** Loads `config.modelDir` and builds the replica it describes. */
export async function createRouterMoe(config: RouterConfig): Promise<RouterParts> {
  return routerFromModel(await loadRouterModel(config), config);
}

/** The model of `config` (one line naming the flag when none is set). */
export async function loadRouterModel(config: Pick<RouterConfig, 'modelDir' | 'quantize'>): Promise<LoadedModel> {
  if (!config.modelDir) throw new Error('the router needs a model: pass --model or set LLM_MODEL (a Hugging Face model directory or .gguf file)');
  return loadModelDir(resolve(config.modelDir), { quantize: (config.quantize || undefined) as QuantFormat | undefined });
}

/**
 * The replica for a model already in memory (embedded mode shares the worker's LoadedModel);
 * `config.modelDir` is ignored, the other settings apply.
 */
export function routerFromModel(loaded: LoadedModel, config: Omit<RouterConfig, 'modelDir'>): RouterParts {
  const dir = loaded.dir;
  const numExperts = loaded.config.numExperts;
  if (numExperts === 0) throw new Error(`model dir ${dir} is a dense model (${loaded.config.architecture}); the router serves MoE models such as Mixtral`);
  const model = buildMoeModel(loaded.config.raw, loaded.weights, {
    hostedExperts: parseExpertList(config.hostedExperts, numExperts),
    capacityFactor: config.capacityFactor > 0 ? config.capacityFactor : undefined,
    backend: ortExpertBackend({ threads: config.threads }),
  });
  const addresses = config.peers.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  const credentials = clientCredentials(config);
  const connections = addresses.map((a) => connectGrpc(router.RouterDefinition, a, { deadlineMs: config.peerDeadlineMs, credentials }));
  const peers: RouterPeer[] = connections.map((c, i) => ({ address: addresses[i], client: c.client }));
  const moe = new RouterMoe({ modelId: basename(dir), model, peers, peerDeadlineMs: config.peerDeadlineMs });
  return { moe, connections };
}
