/**
 * The flow table (lib/flows.ts) against the live ports: every port a node listens on must be one
 * the table lets someone reach on one of the node's roles (SSH included), and every port the
 * table says the node serves must listen, except those opened on demand (a running Spark
 * application's) and 9095 on a node without a public address.
 */
import { FLOWS, flowPort, flowsInto } from '../../lib/flows';
import type { InventoryNode } from '../../lib/inventory';
import { hasPublicAddress, PortSpec } from '../../lib/roles';
import type { RemoteHost } from '../remote-host';
import { parseListeners, reachableOn } from './ports';
import type { VerifyRow } from './types';

export interface FlowPortVerdict {
  /** Listening ports no flow of the table reaches on this node. */
  unreached: number[];
  /** Ports the table says this node serves, not listening. */
  missing: PortSpec[];
  /** Each listening port with a flow, and who may reach it. */
  reached: { port: number; name: string; from: string[] }[];
}

/** The ports the flow table says a node with these roles serves (one spec each). */
export function servedPorts(node: Pick<InventoryNode, 'roles' | 'privateAddress' | 'publicAddress'>): PortSpec[] {
  const specs = FLOWS.filter((f) => f.to === 'any' || node.roles.includes(f.to))
    .map(flowPort)
    .filter((s) => !s.publicOnly || hasPublicAddress(node));
  return specs.filter((s, i) => specs.findIndex((t) => t.name === s.name) === i);
}

export function compareFlowPorts(node: Pick<InventoryNode, 'roles' | 'privateAddress' | 'publicAddress'>, open: number[]): FlowPortVerdict {
  const served = servedPorts(node);
  const specOf = (p: number): PortSpec | undefined => served.find((s) => p >= s.port && p <= (s.toPort ?? s.port));
  const reached = open.flatMap((port) => {
    const spec = specOf(port);
    if (!spec) return [];
    const from = [...new Set(flowsInto(node.roles, spec.name).map((f) => f.from))];
    return from.length ? [{ port, name: spec.name, from }] : [];
  });
  return {
    unreached: open.filter((p) => !reached.some((r) => r.port === p)),
    missing: served.filter((s) => !s.onDemand && !open.includes(s.port)),
    reached,
  };
}

export function flowPortsRow(node: InventoryNode, open: number[]): VerifyRow {
  const v = compareFlowPorts(node, open);
  const ok = v.unreached.length === 0 && v.missing.length === 0;
  const detail = [
    v.unreached.length ? `listening, but no flow of the table reaches it: ${v.unreached.join(', ')}` : '',
    v.missing.length ? `the table says it serves, not listening: ${v.missing.map((s) => `${s.port} (${s.name})`).join(', ')}` : '',
    ok ? v.reached.map((r) => `${r.port} ← ${r.from.join(', ')}`).join('; ') : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { check: 'flows: every listening port is in the flow table, every table port listens', target: node.name, ok, detail };
}

export async function verifyFlowPorts(host: RemoteHost, node: InventoryNode): Promise<VerifyRow[]> {
  const { open } = reachableOn(parseListeners(await host.execOrThrow('ss -Hltnp')), node.privateAddress);
  return [flowPortsRow(node, open)];
}
