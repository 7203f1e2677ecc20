/** Starts services on a real gRPC server on an ephemeral 127.0.0.1 port, with health and reflection. */
import { startGrpcServer, type GrpcServiceBinding, type RunningGrpcServer } from '@llm/platform';

export function startTestGrpcServer(...services: GrpcServiceBinding[]): Promise<RunningGrpcServer> {
  return startGrpcServer({ host: '127.0.0.1', port: 0, services });
}
