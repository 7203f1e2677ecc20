/**
 * RouterMoe: what one router replica holds — the model's MoE layers (gates + the experts it
 * hosts), its peers, and the gating executor that fans tokens out over [this replica, ...peers].
 * The executor is built on the first Dispatch, after asking each peer what it hosts
 * (GetRouterInfo); a failed discovery is retried on the next call.
 *
 * Not transport: peers arrive as clients (gRPC or in-process); the service maps errors to codes.
 */
import { LocalExpertReplica, MoeExecutor, localReplica, type ExpertReplica, type LayerLoad, type MoeShape } from '@llm/moe';
import { ServerError, Status } from '@llm/platform';
import { GrpcExpertReplica, type RouterClient } from './grpc-replica';
import type { MoeModel } from './moe-weights';

export interface RouterPeer {
  /** host:port, for messages. */
  address: string;
  client: RouterClient;
}

export interface RouterMoeOptions {
  modelId: string;
  model: MoeModel;
  peers?: RouterPeer[];
  /** Deadline of each call to a peer (ms); default 10 s. */
  peerDeadlineMs?: number;
  /** alpha of the aux loss; default the config's router_aux_loss_coef. */
  auxLossCoef?: number;
}

export class RouterMoe {
  readonly modelId: string;
  readonly shape: MoeShape;
  readonly local: LocalExpertReplica;
  private readonly layerIndices: number[];
  private building: Promise<MoeExecutor> | null = null;
  private built: MoeExecutor | null = null;

  constructor(private readonly opts: RouterMoeOptions) {
    this.modelId = opts.modelId;
    this.shape = opts.model.shape;
    this.local = localReplica(opts.model.layers);
    this.layerIndices = [...opts.model.layers.keys()].sort((a, b) => a - b);
  }

  get moeLayers(): number[] {
    return this.layerIndices;
  }

  /** The gating executor (peers discovered once). */
  executor(): Promise<MoeExecutor> {
    if (!this.building) {
      this.building = this.build().then(
        (exec) => (this.built = exec),
        (err) => {
          this.building = null; // retry discovery on the next call
          throw err;
        },
      );
    }
    return this.building;
  }

  /** Load statistics since start (empty before the first Dispatch). */
  stats(): LayerLoad[] {
    return this.built ? this.built.stats.snapshot() : [];
  }

  async dispose(): Promise<void> {
    await this.local.dispose();
  }

  private async build(): Promise<MoeExecutor> {
    const deadline = this.opts.peerDeadlineMs ?? 10_000;
    const replicas: ExpertReplica[] = [this.local];
    for (const peer of this.opts.peers ?? []) {
      const { replica, info } = await GrpcExpertReplica.discover(peer.address, peer.client, deadline);
      this.checkPeer(peer.address, info);
      replicas.push(replica);
    }
    const covered = new Set(replicas.flatMap((r) => [...r.hostedExperts]));
    const missing = Array.from({ length: this.shape.numExperts }, (_, e) => e).filter((e) => !covered.has(e));
    if (missing.length > 0) {
      throw new ServerError(
        Status.FAILED_PRECONDITION,
        `experts [${missing.join(', ')}] are hosted neither here nor by a peer; start replicas for them and list them in --peers`,
      );
    }
    return new MoeExecutor({
      gates: new Map([...this.opts.model.layers].map(([l, layer]) => [l, layer.gate])),
      replicas,
      auxLossCoef: this.opts.auxLossCoef ?? this.shape.auxLossCoef,
    });
  }

  private checkPeer(address: string, info: { hiddenSize: number; numExperts: number; numExpertsPerToken: number; moeLayerIndices: number[] }): void {
    const want = this.shape;
    const sameLayers = info.moeLayerIndices.join(',') === this.layerIndices.join(',');
    if (info.hiddenSize !== want.hiddenSize || info.numExperts !== want.numExperts || info.numExpertsPerToken !== want.topK || !sameLayers) {
      throw new ServerError(
        Status.FAILED_PRECONDITION,
        `router replica ${address} serves C=${info.hiddenSize}, E=${info.numExperts}, k=${info.numExpertsPerToken}, ` +
          `layers [${info.moeLayerIndices.join(', ')}]; this replica has C=${want.hiddenSize}, E=${want.numExperts}, ` +
          `k=${want.topK}, layers [${this.layerIndices.join(', ')}] (point both at the same model)`,
      );
    }
  }
}
