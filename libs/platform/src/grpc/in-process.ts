/**
 * The in-process transport: a client with exactly the shape of a nice-grpc client for a ts-proto
 * generic definition, that calls a service implementation directly (embedded mode). Requests and
 * responses pass through the messages' `fromPartial`, so callers see the same defaults as over the
 * wire; a ServerError thrown by the implementation reaches the caller as a ClientError with the same
 * code and details, as it would over gRPC; `deadline` and `signal` options abort the call the same way.
 *
 * Deliberately no serialisation: tensors and token arrays are handed over without copies.
 */
import {
  ClientError,
  Metadata,
  ServerError,
  Status,
  type CallContext,
  type CallOptions,
  type Client,
  type CompatServiceDefinition,
} from 'nice-grpc';

interface TsProtoMethod {
  name: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { fromPartial?(o: unknown): unknown };
  responseType: { fromPartial?(o: unknown): unknown };
}

interface TsProtoDefinition {
  fullName: string;
  methods: Record<string, TsProtoMethod>;
}

type InProcessOptions = CallOptions & { deadline?: Date | number };

function toClientError(path: string, err: unknown): Error {
  if (err instanceof ClientError) return err;
  if (err instanceof ServerError) return new ClientError(path, err.code, err.details);
  if (err instanceof Error && err.name === 'AbortError') return new ClientError(path, Status.CANCELLED, 'The operation was cancelled');
  const message = err instanceof Error ? err.message : String(err);
  return new ClientError(path, Status.UNKNOWN, message);
}

/** Builds the CallContext a handler receives, wired to the caller's signal and deadline. */
function makeContext(path: string, options: InProcessOptions | undefined) {
  const controller = new AbortController();
  let deadlineHit = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = options?.deadline;
  if (deadline !== undefined) {
    const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline;
    timer = setTimeout(() => {
      deadlineHit = true;
      controller.abort();
    }, Math.max(0, ms));
  }
  const onAbort = () => controller.abort();
  options?.signal?.addEventListener('abort', onAbort);
  if (options?.signal?.aborted) controller.abort();
  const context: CallContext = {
    metadata: options?.metadata ?? Metadata(),
    peer: 'in-process',
    header: Metadata(),
    trailer: Metadata(),
    signal: controller.signal,
  } as CallContext;
  const done = () => {
    if (timer) clearTimeout(timer);
    options?.signal?.removeEventListener('abort', onAbort);
  };
  const abortError = () =>
    deadlineHit
      ? new ClientError(path, Status.DEADLINE_EXCEEDED, 'Deadline exceeded')
      : new ClientError(path, Status.CANCELLED, 'The operation was cancelled');
  return { context, controller, done, abortError };
}

/** Races a promise against the call's abort signal. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

async function* mapRequests(reqs: AsyncIterable<unknown>, m: TsProtoMethod): AsyncIterable<unknown> {
  for await (const r of reqs) yield m.requestType.fromPartial ? m.requestType.fromPartial(r) : r;
}

function unary(path: string, m: TsProtoMethod, impl: (...a: any[]) => any) {
  return async (request: unknown, options?: InProcessOptions) => {
    const { context, done, abortError } = makeContext(path, options);
    try {
      const input = m.requestStream ? mapRequests(request as AsyncIterable<unknown>, m) : m.requestType.fromPartial?.(request) ?? request;
      const res = await untilAborted(Promise.resolve().then(() => impl(input, context)), context.signal, abortError);
      return m.responseType.fromPartial ? m.responseType.fromPartial(res) : res;
    } catch (err) {
      throw toClientError(path, err);
    } finally {
      done();
    }
  };
}

function streaming(path: string, m: TsProtoMethod, impl: (...a: any[]) => any) {
  return (request: unknown, options?: InProcessOptions): AsyncIterable<unknown> => ({
    [Symbol.asyncIterator]: async function* () {
      const { context, controller, done, abortError } = makeContext(path, options);
      try {
        const input = m.requestStream ? mapRequests(request as AsyncIterable<unknown>, m) : m.requestType.fromPartial?.(request) ?? request;
        const it = (impl(input, context) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
        while (true) {
          const next = await untilAborted(it.next(), context.signal, abortError);
          if (next.done) break;
          yield m.responseType.fromPartial ? m.responseType.fromPartial(next.value) : next.value;
        }
      } catch (err) {
        throw toClientError(path, err);
      } finally {
        // The consumer stopped early (break/return) or the call failed: cancel the handler.
        controller.abort();
        done();
      }
    },
  });
}

/** A client for `definition` that calls `implementation` in this process. */
export function createInProcessClient<D extends CompatServiceDefinition>(
  definition: D,
  implementation: object,
): Client<D, { deadline?: Date | number }> {
  const def = definition as unknown as TsProtoDefinition;
  const client: Record<string, unknown> = {};
  for (const [key, m] of Object.entries(def.methods)) {
    const fn = (implementation as Record<string, unknown>)[key];
    const path = `/${def.fullName}/${m.name}`;
    const impl =
      typeof fn === 'function'
        ? (fn as (...a: any[]) => any).bind(implementation)
        : () => {
            throw new ServerError(Status.UNIMPLEMENTED, `Method ${path} is not implemented`);
          };
    client[key] = m.responseStream ? streaming(path, m, impl) : unary(path, m, impl);
  }
  return client as Client<D, { deadline?: Date | number }>;
}
