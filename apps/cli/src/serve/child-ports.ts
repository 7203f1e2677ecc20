/**
 * The parent's side of libs/platform's bound-ports report: `llm serve --distributed` starts each
 * child with port 0 wherever the user fixed no port, and waits here for the child's IPC message
 * naming the ports it bound (gRPC, /metrics, the api's HTTP). Only then does it probe the child's
 * readiness and hand its address to the children started after it, so no port is ever picked by
 * one process and bound by another (the window an outgoing connection could take it in).
 *
 * What it is not: the readiness wait (preflight.ts's waitReady runs after this) nor the restart
 * policy (supervisor.ts; a restarted child is given the ports reported here, so the addresses its
 * dependents hold stay valid).
 */
import type { ChildProcess } from 'node:child_process';
import { isBoundPortsMessage, type BoundPorts } from '@llm/platform';
import { CliError } from '../errors';
import type { ChildSpec, Supervisor } from './supervisor';

/**
 * Starts `name` under the supervisor and resolves with the ports it reported; from then on its
 * restarts are pinned to those ports, which the supervisor holds while the child is down.
 */
export async function startReporting(supervisor: Supervisor, name: string, spec: ChildSpec, timeoutMs: number): Promise<BoundPorts> {
  const child = supervisor.start(name, spec);
  const ports = await waitBoundPorts(name, child, timeoutMs);
  const held = [ports.grpc, ports.metrics, ports.http].filter((p): p is number => p !== undefined);
  supervisor.pin(name, pinnedPortsEnv(ports), { host: spec.env.LLM_HOST ?? '127.0.0.1', ports: held });
  return ports;
}

/** Resolves with the child's first bound-ports report; fails when it exits first or after timeoutMs. */
export function waitBoundPorts(name: string, child: ChildProcess, timeoutMs: number): Promise<BoundPorts> {
  return new Promise((resolve, reject) => {
    const done = (finish: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      finish();
    };
    const onMessage = (m: unknown) => {
      if (isBoundPortsMessage(m)) done(() => resolve({ grpc: m.grpc, metrics: m.metrics, http: m.http }));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      done(() => reject(new CliError(`${name} exited during start-up (${signal ?? `code ${code}`}; its error is above)`)));
    const timer = setTimeout(
      () => done(() => reject(new CliError(`${name} did not report its listening ports within ${Math.round(timeoutMs / 1000)} s (its output is above)`))),
      timeoutMs,
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
  });
}

/**
 * The environment that pins a started child to the ports it reported, for its restarts: dependents
 * hold its address, so a restarted child must serve the same one.
 */
export function pinnedPortsEnv(ports: BoundPorts): Record<string, string> {
  return {
    LLM_GRPC_PORT: String(ports.grpc),
    ...(ports.metrics !== undefined ? { LLM_METRICS_PORT: String(ports.metrics) } : {}),
    ...(ports.http !== undefined ? { LLM_HTTP_PORT: String(ports.http) } : {}),
  };
}
