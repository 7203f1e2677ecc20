/**
 * reportBoundPorts / isBoundPortsMessage (src/grpc/port-report.ts): a process with an IPC channel
 * sends its bound ports to its parent exactly once per call, in the shape the parent accepts; one
 * without a channel (or with a closed one) sends nothing; anything else on the channel is not taken
 * for a report. The round trip over a real IPC channel is apps/cli/test/port-race.spec.ts.
 */
import { BOUND_PORTS_MESSAGE, isBoundPortsMessage, portOf, reportBoundPorts } from '@llm/platform';

describe('reportBoundPorts', () => {
  it('sends { type, grpc, metrics, http } over a connected channel, and nothing without one', () => {
    const sent: unknown[] = [];
    const send = ((m: unknown) => sent.push(m) > 0) as NodeJS.Process['send'];
    expect(reportBoundPorts({ grpc: 41001, metrics: 41002, http: 41003 }, { send, connected: true })).toBe(true);
    expect(sent).toEqual([{ type: 'llm.bound-ports', grpc: 41001, metrics: 41002, http: 41003 }]);
    expect(isBoundPortsMessage(sent[0])).toBe(true);
    expect(reportBoundPorts({ grpc: 41001 }, { send, connected: false })).toBe(false);
    expect(reportBoundPorts({ grpc: 41001 }, { send: undefined, connected: false })).toBe(false);
    expect(sent).toHaveLength(1);
  });
});

describe('isBoundPortsMessage', () => {
  it.each([
    [{ type: BOUND_PORTS_MESSAGE, grpc: 50051 }, true],
    [{ type: BOUND_PORTS_MESSAGE, grpc: 50051, metrics: 9451, http: 8080 }, true],
    [{ type: BOUND_PORTS_MESSAGE, grpc: 0 }, false], // a port 0 was never bound
    [{ type: BOUND_PORTS_MESSAGE, grpc: 65536 }, false],
    [{ type: BOUND_PORTS_MESSAGE, grpc: '50051' }, false],
    [{ type: BOUND_PORTS_MESSAGE, grpc: 50051, metrics: -1 }, false],
    [{ type: BOUND_PORTS_MESSAGE, grpc: 50051, http: 1.5 }, false],
    [{ type: 'other', grpc: 50051 }, false],
    [{ grpc: 50051 }, false],
    [null, false],
    ['llm.bound-ports', false],
  ])('%j -> %s', (m, want) => expect(isBoundPortsMessage(m)).toBe(want));
});

it('portOf reads the port of host:port and [v6]:port addresses', () => {
  expect(portOf('127.0.0.1:8080')).toBe(8080);
  expect(portOf('[::1]:41234')).toBe(41234);
  expect(portOf('0.0.0.0:1')).toBe(1);
});
