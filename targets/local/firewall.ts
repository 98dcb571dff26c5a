/**
 * The local target's security groups: an nftables table per cluster that drops what the flow
 * table (lib/flows.ts) does not allow, built from the same ingress rules as the AWS security
 * groups (stacks/ingress-plan.ts). Without it the local nodes, which share this machine's network
 * namespace, could reach every port of every other node, and a flow that EC2 would block (a worker
 * reading the master's web UI) passed every test here.
 *
 * Sources are told apart by address: each node's connections leave from its own address
 * (./source-address.ts), and this machine's own (the operator's) from 127.0.0.1, which the default
 * network.sshCidr names. One flow is the local target's own: the operator's machine shares the
 * nodes' network, so where no Kafka node has a public address it reaches the CLIENT listener
 * (9093), as the pipeline's flow observer (pipeline-scenarios.ts) allows too. What it filters,
 * on the output hook that every loopback packet passes:
 * - a packet to a node's address from the same node passes (an instance's traffic to itself meets
 *   no security group);
 * - a TCP SYN to a node passes if some ingress rule lets its source reach that port there;
 * - anything else to a node is dropped, as a security group drops it (no reset: the client waits,
 *   as it would on EC2). A dropped SYN is recorded in the set `denied` (source, node, port), which
 *   `deniedConnections` reads; other protocols only count (counter `denied-other`).
 * Replies and the rest of a connection that was let in are not looked at (stateful, as security
 * groups are). Traffic to addresses that are not this cluster's nodes is not touched.
 *
 * `up` updates the sets and rules in one transaction and keeps `denied`; `down` deletes the table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../../lib/config';
import { MillraceError } from '../../lib/errors';
import { operatorUsesClientListener } from '../../lib/inventory';
import { run } from '../../lib/process';
import { portNumber, portsFor } from '../../lib/roles';
import { planGroups, planIngress } from '../../stacks/ingress-plan';

export const NFT_HINT = 'the local target enforces the flow table with nftables: install nftables (scripts/setup.sh does), and run where the kernel has nf_tables';

export function firewallTable(cluster: string): string {
  return `millrace-${cluster}`;
}

/** One allowed (source, node address, ports) triple; source is a CIDR or an address. */
export interface FirewallAllow {
  from: string;
  to: string;
  fromPort: number;
  toPort: number;
  /** The ingress rule it carries out. */
  rule: string;
}

/** Every node's address, and the triples the ingress rules allow between them and from CIDRs. */
export function firewallPlan(config: ClusterConfig): { nodes: string[]; allow: FirewallAllow[] } {
  const address = (name: string): string => {
    const a = config.nodes.find((n) => n.name === name)?.address;
    if (!a) throw new MillraceError(`node ${name} has no address`, { hint: 'give every node of the local target an address in the config' });
    return a;
  };
  const members = new Map(planGroups(config).map((g) => [g.key, g.nodes.map(address)]));
  const allow = planIngress(config).flatMap((rule) => {
    const sources =
      rule.source.kind === 'cidr' ? [rule.source.cidr] : rule.source.kind === 'group' ? (members.get(rule.source.group) ?? []) : [];
    return (members.get(rule.group) ?? []).flatMap((to) =>
      // A node's traffic to itself passes anyway (set `self`).
      sources.filter((from) => from !== to).map((from) => ({ from, to, fromPort: rule.fromPort, toPort: rule.toPort, rule: rule.id })),
    );
  });
  // The operator's machine is on the local nodes' network. Where no Kafka node has a public
  // address, millrace's own clients there use the CLIENT listener (lib/inventory.ts, operatorUsesClientListener),
  // as an operator inside the VPC would; the security groups of the aws target never open it.
  const inventoryNodes = config.nodes.map((n) => ({ roles: n.roles, privateAddress: address(n.name), ...(n.publicAddress ? { publicAddress: n.publicAddress } : {}) }));
  const client = portNumber('kafka', 'kafka-client');
  if (operatorUsesClientListener(inventoryNodes))
    for (const n of config.nodes.filter((x) => x.roles.includes('kafka')))
      allow.push({ from: config.network.sshCidr, to: address(n.name), fromPort: client, toPort: client, rule: 'operator-on-the-node-network-kafka-client' });
  // Prometheus (on the monitor node) is a Go program: Go makes its connections without libc, so
  // the source-address library cannot give them (its scrapes, and its alerts to Alertmanager beside
  // it) the monitor's address, and they leave from
  // 127.0.0.1. On EC2 they leave from the monitor's own address, which the security groups let
  // reach every metrics port. Here 127.0.0.1 may reach the metrics ports (and only those), so this
  // machine's own processes can too: the one way this firewall is wider than the security groups.
  if (config.nodes.some((n) => n.roles.includes('monitor')))
    for (const n of config.nodes)
      for (const spec of portsFor(n.roles).filter((p) => p.name.endsWith('-metrics') || p.name === 'alertmanager'))
        allow.push({ from: UNSHIMMED_SOURCE, to: address(n.name), fromPort: spec.port, toPort: spec.toPort ?? spec.port, rule: 'local-prometheus-without-the-source-address-library' });
  return { nodes: config.nodes.map((n) => address(n.name)), allow };
}

/** Where a node's connection leaves from when the source-address library cannot act (a Go program). */
export const UNSHIMMED_SOURCE = '127.0.0.1';

/** The allowed set's elements ("from . to . port[-port]") of a config's flow table. */
export function allowedTriples(config: ClusterConfig): string[] {
  const ports = (a: FirewallAllow): string => (a.fromPort === a.toPort ? `${a.fromPort}` : `${a.fromPort}-${a.toPort}`);
  return [...new Set(firewallPlan(config).allow.map((a) => `${a.from} . ${a.to} . ${ports(a)}`))];
}

/** An element as numbers: source range, destination, port range. */
function elementRanges(e: string): { from: [number, number]; to: string; ports: [number, number] } {
  const [from = '', to = '', ports = ''] = e.split(' . ');
  const [net = '', bits = '32'] = from.split('/');
  const base = net.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  const [lo = '0', hi = lo] = ports.split('-');
  return { from: [base - (base % size), base - (base % size) + size - 1], to, ports: [Number(lo), Number(hi)] };
}

/**
 * Without the elements that another one holds whole (a node's address inside the operator's CIDR,
 * to the same port): an interval set refuses overlapping elements ("File exists").
 */
export function withoutCovered(elements: string[]): string[] {
  const all = elements.map(elementRanges);
  const holds = (a: [number, number], b: [number, number]): boolean => a[0] <= b[0] && b[1] <= a[1];
  const contains = (o: (typeof all)[number], r: (typeof all)[number]): boolean => o.to === r.to && holds(o.from, r.from) && holds(o.ports, r.ports);
  // Of two that hold each other (the same ranges, written two ways), the first stays.
  return elements.filter((_, i) => !all.some((o, j) => j !== i && contains(o, all[i]!) && (!contains(all[i]!, o) || j < i)));
}

/**
 * The kept elements that overlap none of `own`: an interval set refuses overlapping elements
 * ("File exists"), e.g. an operator CIDR that changed. What overlaps is (at least partly) open anyway.
 */
export function keptApart(keep: string[], own: string[]): string[] {
  const mine = own.map(elementRanges);
  const meets = (a: [number, number], b: [number, number]): boolean => a[0] <= b[1] && b[0] <= a[1];
  return keep.filter((k) => {
    const e = elementRanges(k);
    return !mine.some((m) => m.to === e.to && meets(m.from, e.from) && meets(m.ports, e.ports));
  });
}

/**
 * The nft script that creates the table if needed and replaces its sets (but `denied`) and rules.
 * `keep`: elements of the allowed set kept beside the config's own (the last table's, during an `up`).
 */
export function firewallScript(config: ClusterConfig, keep: string[] = []): string {
  const t = `inet ${firewallTable(config.name)}`;
  const { nodes } = firewallPlan(config);
  const elements = (items: string[]): string => (items.length ? ` { ${items.join(', ')} }` : '');
  const lines = [
    `table ${t} {`,
    '  set nodes { type ipv4_addr; }',
    '  set self { type ipv4_addr . ipv4_addr; }',
    '  set allowed { type ipv4_addr . ipv4_addr . inet_service; flags interval; }',
    '  set denied { type ipv4_addr . ipv4_addr . inet_service; flags dynamic; size 65536; }',
    '  counter denied-other { }',
    '  chain output { type filter hook output priority filter; policy accept; }',
    '}',
    `flush set ${t} nodes`,
    `flush set ${t} self`,
    `flush set ${t} allowed`,
    `flush chain ${t} output`,
  ];
  if (nodes.length) {
    lines.push(`add element ${t} nodes${elements(nodes)}`);
    lines.push(`add element ${t} self${elements(nodes.map((a) => `${a} . ${a}`))}`);
  }
  const own = withoutCovered(allowedTriples(config));
  const triples = [...own, ...keptApart(keep, own)];
  if (triples.length) lines.push(`add element ${t} allowed${elements(triples)}`);
  lines.push(
    `add rule ${t} output ip daddr != @nodes accept`,
    `add rule ${t} output ip saddr . ip daddr @self accept`,
    `add rule ${t} output meta l4proto != tcp counter name denied-other drop`,
    `add rule ${t} output tcp flags & (syn | ack) != syn accept`,
    `add rule ${t} output ip saddr . ip daddr . tcp dport @allowed accept`,
    `add rule ${t} output add @denied { ip saddr . ip daddr . tcp dport } drop`,
  );
  return `${lines.join('\n')}\n`;
}

async function nft(args: string[]): Promise<string> {
  return run('nft', args, { hint: NFT_HINT });
}

/** Creates or updates the cluster's table, in one transaction. */
/** The allowed set of the last table applied as final (not during an `up`), kept in the cluster's state. */
const LAST_ALLOWED = 'firewall-allowed.json';

/**
 * Applies the config's flow table. With keepPrevious (an `up` before its nodes have the new
 * config), the last final table's flows stay open too: a flow the new config drops (a KDC that
 * moves, a role that leaves a node) is still in use until the nodes are provisioned, make before
 * break. The `up` applies the table again without them once every node runs the new config.
 */
export async function applyFirewall(config: ClusterConfig, stateDir: string, opts: { keepPrevious?: boolean } = {}): Promise<void> {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'firewall.nft');
  const last = path.join(stateDir, LAST_ALLOWED);
  const keep = opts.keepPrevious && fs.existsSync(last) ? (JSON.parse(fs.readFileSync(last, 'utf8')) as string[]) : [];
  fs.writeFileSync(file, firewallScript(config, keep));
  try {
    await nft(['-f', file]);
  } catch (error) {
    // A table from an older millrace whose sets differ cannot be merged: make it again.
    if (!(await tableExists(config.name))) throw error;
    await removeFirewall(config.name);
    await nft(['-f', file]);
  }
  if (!opts.keepPrevious) fs.writeFileSync(last, JSON.stringify(allowedTriples(config)) + '\n');
}

async function tableExists(cluster: string): Promise<boolean> {
  const out = await nft(['list', 'tables', 'inet']);
  return out.split('\n').some((l) => l.trim() === `table inet ${firewallTable(cluster)}`);
}

export async function removeFirewall(cluster: string): Promise<void> {
  if (await tableExists(cluster)) await nft(['delete', 'table', 'inet', firewallTable(cluster)]);
}

export interface DeniedConnection {
  from: string;
  to: string;
  port: number;
}

/** `nft -j list set … denied` → the connections dropped since the table was made. */
export function parseDenied(json: string): DeniedConnection[] {
  const doc = JSON.parse(json) as { nftables?: { set?: { elem?: unknown[] } }[] };
  const elems = doc.nftables?.find((x) => x.set)?.set?.elem ?? [];
  return elems.flatMap((e) => {
    const concat = (e as { concat?: unknown[]; elem?: { val?: { concat?: unknown[] } } }).concat ?? (e as { elem?: { val?: { concat?: unknown[] } } }).elem?.val?.concat;
    if (!Array.isArray(concat) || concat.length !== 3) return [];
    const [from, to, port] = concat;
    return typeof from === 'string' && typeof to === 'string' && typeof port === 'number' ? [{ from, to, port }] : [];
  });
}

/** The connections the cluster's table dropped; [] where it has none. */
export async function deniedConnections(cluster: string): Promise<DeniedConnection[]> {
  if (!(await tableExists(cluster))) return [];
  return parseDenied(await nft(['-j', 'list', 'set', 'inet', firewallTable(cluster), 'denied']));
}
