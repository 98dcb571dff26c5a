/**
 * A Kafka "broker" on loopback that speaks just enough of the wire protocol for a consumer to
 * reach its group coordinator lookup: ApiVersions, Metadata v0 and FindCoordinator v0, whose
 * error codes come from a script. It proves how the real kafkajs client reports what the brokers
 * answer while a group's coordinator is created or refused; everything after FindCoordinator
 * belongs to the integration tests.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export const API = { metadata: 3, findCoordinator: 10, apiVersions: 18 } as const;
/** Kafka's error codes for FindCoordinator. */
export const ERROR = { none: 0, coordinatorNotAvailable: 15, groupAuthorizationFailed: 30 } as const;

export interface ScriptedBroker {
  address: string;
  /** The groups FindCoordinator was asked for, in order. */
  lookups: string[];
  close(): Promise<void>;
}

const int16 = (v: number): Buffer => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const str = (s: string): Buffer => Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);
const array = (items: Buffer[]): Buffer => Buffer.concat([int32(items.length), ...items]);

/** `answer(n)` is the error code of the n-th FindCoordinator (0-based). */
export async function scriptedBroker(answer: (n: number) => number): Promise<ScriptedBroker> {
  const lookups: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const request = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + request.length);
        const body = respond(request);
        socket.write(Buffer.concat([int32(4 + body.length), int32(request.readInt32BE(4)), body]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  function respond(request: Buffer): Buffer {
    const apiKey = request.readInt16BE(0);
    const clientIdLength = request.readInt16BE(8);
    const rest = request.subarray(10 + Math.max(clientIdLength, 0));
    if (apiKey === API.apiVersions) {
      const versions = [
        [API.apiVersions, 0, 2],
        [API.metadata, 0, 0],
        [API.findCoordinator, 0, 0],
      ].map(([k, min, max]) => Buffer.concat([int16(k!), int16(min!), int16(max!)]));
      return Buffer.concat([int16(ERROR.none), array(versions), int32(0)]);
    }
    if (apiKey === API.metadata) {
      const topics: string[] = [];
      let at = 4;
      for (let i = 0; i < rest.readInt32BE(0); i++) {
        const n = rest.readInt16BE(at);
        topics.push(rest.subarray(at + 2, at + 2 + n).toString());
        at += 2 + n;
      }
      const brokers = array([Buffer.concat([int32(0), str('127.0.0.1'), int32(port)])]);
      const partition = Buffer.concat([int16(ERROR.none), int32(0), int32(0), array([int32(0)]), array([int32(0)])]);
      return Buffer.concat([brokers, array(topics.map((t) => Buffer.concat([int16(ERROR.none), str(t), array([partition])])))]);
    }
    if (apiKey === API.findCoordinator) {
      const group = rest.subarray(2, 2 + rest.readInt16BE(0)).toString();
      const error = answer(lookups.length);
      lookups.push(group);
      return Buffer.concat([int16(error), int32(0), str('127.0.0.1'), int32(port)]);
    }
    throw new Error(`the scripted broker does not speak API ${apiKey}`);
  }

  return {
    address: `127.0.0.1:${port}`,
    lookups,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
