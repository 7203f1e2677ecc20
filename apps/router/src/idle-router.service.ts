/**
 * The router of a dense model: nothing to route, but up and healthy, so one deployment (compose,
 * Kubernetes) serves dense and MoE models alike by changing only the model directory. It reports
 * the model with no MoE layers, returns empty statistics, and answers Dispatch and RunExperts with
 * FAILED_PRECONDITION saying why (a worker of a dense model never calls them).
 *
 * What it is not: a fallback that computes anything.
 */
import { failedPrecondition, type ServiceImplementation } from '@llm/platform';
import type { router } from '@llm/proto';

export class IdleRouterService implements ServiceImplementation<typeof router.RouterDefinition> {
  constructor(
    private readonly modelId: string,
    private readonly architecture: string,
    private readonly hiddenSize: number,
  ) {}

  private refuse(): never {
    throw failedPrecondition(
      `model '${this.modelId}' is dense (${this.architecture}): it has no MoE layers, so this router is idle (it serves MoE models such as Mixtral)`,
    );
  }

  async dispatch(): Promise<router.DispatchResponse> {
    this.refuse();
  }

  async runExperts(): Promise<router.RunExpertsResponse> {
    this.refuse();
  }

  async stats(): Promise<router.StatsResponse> {
    return { layers: [] };
  }

  async getRouterInfo(): Promise<router.GetRouterInfoResponse> {
    return { modelId: this.modelId, moeLayerIndices: [], numExperts: 0, hostedExpertIds: [], numExpertsPerToken: 0, hiddenSize: this.hiddenSize };
  }
}
