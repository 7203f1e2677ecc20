/**
 * Server reflection under both names clients use: `grpc.reflection.v1.ServerReflection` and
 * `grpc.reflection.v1alpha.ServerReflection` (grpcurl before 1.8.8, Postman, evans and
 * grpc-js-reflection-client speak only v1alpha). The two protos define the same messages field for
 * field, so one implementation serves both; only the method path differs. grpc-go's servers
 * register both the same way.
 *
 * What it is not: a descriptor builder (the descriptor set comes from @llm/proto's build).
 */
import { readFileSync } from 'node:fs';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import { DESCRIPTOR_SET_PATH } from '@llm/proto';

const V1_PREFIX = '/grpc.reflection.v1.ServerReflection/';
const V1ALPHA_PREFIX = '/grpc.reflection.v1alpha.ServerReflection/';

/** The v1alpha service definition: v1's methods with v1alpha paths. */
export const ServerReflectionV1AlphaService = Object.fromEntries(
  Object.entries(ServerReflectionService).map(([name, method]) => [name, { ...method, path: method.path.replace(V1_PREFIX, V1ALPHA_PREFIX) }]),
) as unknown as typeof ServerReflectionService;

export const REFLECTION_SERVICE_NAMES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;

/** The reflection definitions to add to a server, each with the implementation for `serviceNames`. */
export function reflectionServices(serviceNames: readonly string[]) {
  const implementation = ServerReflection(readFileSync(DESCRIPTOR_SET_PATH), serviceNames);
  return [
    { definition: ServerReflectionService, implementation },
    { definition: ServerReflectionV1AlphaService, implementation },
  ];
}
