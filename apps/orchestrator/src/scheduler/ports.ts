/*
 * The scheduler's two ports: the kv-manager calls and the worker call it makes, as the subset of
 * the nice-grpc clients it uses. Embedded mode passes in-process clients, distributed mode gRPC
 * clients, unit tests small fakes: the scheduler cannot tell them apart.
 */
import type { Client } from '@llm/platform';
import type { kv, worker } from '@llm/proto';

export type KvPort = Pick<Client<kv.KvManagerDefinition>, 'allocateSlots' | 'free'>;
export type WorkerPort = Pick<Client<worker.WorkerDefinition>, 'step'>;
