/**
 * Evidence for the flow table (lib/flows.ts): while a test runs, the TCP connections on this
 * machine are sampled about once a second with `ss -Htanp`, each one attributed to the nodes at
 * its ends, and every connection between nodes (or from the operator, i.e. this machine) checked
 * against the table.
 *
 * The local target's nodes share this machine's network namespace, so both ends of a connection
 * between two nodes are sockets here. Each connection is counted once, from its client end: the
 * socket whose local address is not a listening one (ss -l), so an ephemeral client port is never
 * taken for a service port. The client end's process says which node opened the connection: its
 * root directory (/proc/PID/root, the same directory as the node's rootfs) or, on a registered
 * machine, its cgroup (machine-<name>.scope); a process of this machine's own is the operator
 * (the CLI, the tests). The server end says which node was reached: by its address (each node
 * has its own), or, for a socket bound elsewhere (127.0.0.1), by the process that listens.
 *
 * No import of the harness: the unit tests use the parsing and attribution below.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Flow, FLOWS, flowAllowed, flowPort } from '../../lib/flows';
import { ROLE_PORTS, Role, SSH_PORT } from '../../lib/roles';

export interface SsSocket {
  state: string;
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  /** The first process that holds the socket; TIME-WAIT sockets have none. */
  pid?: number;
  command?: string;
}

const ENDPOINT = /^(?:\[(?:::ffff:)?([^\]]+)\]|([^\s]*)):(\d+|\*)$/;

function endpoint(s: string): { address: string; port: number } | undefined {
  const m = ENDPOINT.exec(s);
  if (!m) return undefined;
  let address = (m[1] ?? m[2] ?? '').replace(/%.*$/, '');
  if (address.startsWith('::ffff:')) address = address.slice('::ffff:'.length);
  if (address === '*') address = '0.0.0.0';
  return { address, port: m[3] === '*' ? 0 : Number(m[3]) };
}

/** `ss -Htanp` (or `ss -Htnp`, `ss -Htlnp`: the state column is there in all of them) → sockets. */
export function parseSs(output: string): SsSocket[] {
  return output.split('\n').flatMap((line) => {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) return [];
    const local = endpoint(cols[3]!);
    const peer = endpoint(cols[4]!);
    if (!local || !peer) return [];
    const user = /users:\(\("((?:[^"\\]|\\.)*)",pid=(\d+)/.exec(line);
    return [
      {
        state: cols[0]!,
        localAddress: local.address,
        localPort: local.port,
        peerAddress: peer.address,
        peerPort: peer.port,
        ...(user ? { pid: Number(user[2]), command: user[1] } : {}),
      },
    ];
  });
}

const WILDCARD = new Set(['0.0.0.0', '::']);

/** The listening socket that serves address:port (bound to it, or to every address), if any. */
export function listenerFor(listeners: SsSocket[], address: string, port: number): SsSocket | undefined {
  return listeners.find((l) => l.localPort === port && l.localAddress === address) ?? listeners.find((l) => l.localPort === port && WILDCARD.has(l.localAddress));
}

export interface ObservedNode {
  name: string;
  roles: Role[];
  address: string;
  /** The node's root directory on this machine (the local target's rootfs). */
  rootfs?: string;
  /** Its machine name (systemd-nspawn --machine), for cgroup attribution. */
  machine?: string;
}

/** Who a process belongs to: a node, this machine (the operator), or nobody known (it ended). */
export type Owner = { node: string } | 'operator' | 'unknown';

/** The machine name in a /proc/PID/cgroup text (machine-<name>.scope, with systemd's \x2d escapes). */
export function machineOfCgroup(cgroup: string): string | undefined {
  const m = /machine-(.+?)\.scope/.exec(cgroup);
  return m ? m[1]!.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : undefined;
}

/** What attribution reads of a process; injectable for the unit tests. */
export interface ProcReader {
  /** `dev:ino` of the process's root directory, or undefined if it is gone. */
  rootId(pid: number): string | undefined;
  cgroup(pid: number): string | undefined;
  /** When the process started (field 22 of /proc/PID/stat, in clock ticks since boot), or undefined if it is gone. */
  startTime(pid: number): string | undefined;
  /** `dev:ino` of a directory of this machine. */
  dirId(path: string): string | undefined;
}

const statId = (p: string): string | undefined => {
  try {
    const s = fs.statSync(p);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
};

export const PROC: ProcReader = {
  rootId: (pid) => statId(`/proc/${pid}/root/`),
  cgroup: (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined;
    }
  },
  startTime: (pid) => {
    try {
      // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
      return undefined;
    }
  },
  dirId: statId,
};

/**
 * Maps processes to nodes, remembering each process by its PID and start time. A PID alone is
 * not enough: with the kernel's default pid_max (32768) the PIDs wrap within one test file, and a
 * PID remembered as a node's may come back as this machine's ssh, or the other way round.
 */
export class Attributor {
  private readonly roots = new Map<string, string>();
  private readonly cache = new Map<string, Owner>();
  private readonly hostRoot: string | undefined;

  constructor(
    private readonly nodes: ObservedNode[],
    private readonly proc: ProcReader = PROC,
  ) {
    for (const n of nodes) {
      const id = n.rootfs ? proc.dirId(n.rootfs) : undefined;
      if (id) this.roots.set(id, n.name);
    }
    this.hostRoot = proc.dirId('/');
  }

  /** How many nodes have a root directory this machine can see (0: attribution by root cannot work). */
  get knownRoots(): number {
    return this.roots.size;
  }

  owner(pid: number | undefined): Owner {
    if (pid === undefined) return 'unknown';
    const started = this.proc.startTime(pid);
    if (started === undefined) return 'unknown';
    const key = `${pid}@${started}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const owner = this.lookup(pid);
    if (owner !== 'unknown') this.cache.set(key, owner);
    return owner;
  }

  private lookup(pid: number): Owner {
    const root = this.proc.rootId(pid);
    if (root === undefined) return 'unknown';
    const byRoot = this.roots.get(root);
    if (byRoot) return { node: byRoot };
    const machine = machineOfCgroup(this.proc.cgroup(pid) ?? '');
    const byMachine = machine ? this.nodes.find((n) => n.machine === machine) : undefined;
    if (byMachine) return { node: byMachine.name };
    // A process in some other root (another container) is nobody's: only this machine's own is the operator.
    return root === this.hostRoot ? 'operator' : 'unknown';
  }
}

/** One TCP connection, seen from its client end. */
export interface Connection {
  /** The node that opened it, or the operator (this machine), or 'external' (its client end is not here). */
  from: string;
  /** The node reached. */
  to: string;
  port: number;
  /** client address:port > server address:port, to count each connection once. */
  tuple: string;
  /** The client's process as `command[pid]`, where one holds the socket: what a disallowed flow names. */
  process?: string;
}

export interface SampleResult {
  connections: Connection[];
  /** Connections with a node at neither end (this machine's own, other containers). */
  unrelated: number;
  /** Client ends with no process (TIME-WAIT) or whose process ended, to a node. */
  unattributed: number;
}

/** This machine's own addresses (loopback included): a peer there is a socket of this machine. */
export function localAddresses(): (address: string) => boolean {
  const own = new Set(Object.values(os.networkInterfaces()).flatMap((as) => (as ?? []).map((a) => a.address)));
  return (address) => address.startsWith('127.') || address === '::1' || own.has(address);
}

/** The kernel's range of ports for clients' sockets (net.ipv4.ip_local_port_range): [low, high]. */
export type PortRange = readonly [number, number];

export function ephemeralPorts(): PortRange {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux, or no /proc: the kernel's default
  }
  return [32768, 60999];
}

/**
 * One sample: every connection that reaches a node, once, from its client end. Listening sockets
 * decide the direction, and so do the ports where a service is restarting: a socket it accepted
 * outlives its listening socket for a moment, and is still its server end when its own port is a
 * service's (outside the kernel's range for clients) and its peer's is a client's (inside it).
 * Each local node's clients use its own address, so that moment would otherwise read as the
 * service's node reaching the client's. A connection whose client end is at an address not of this
 * machine is 'external'. A server end whose local client end is already gone (closed, the server
 * end left in TIME-WAIT) cannot be attributed.
 */
export function attributeSample(
  sockets: SsSocket[],
  nodes: ObservedNode[],
  attributor: Attributor,
  isLocal: (address: string) => boolean = localAddresses(),
  clientPorts: PortRange = ephemeralPorts(),
): SampleResult {
  const listeners = sockets.filter((s) => s.state === 'LISTEN');
  const open = sockets.filter((s) => s.state !== 'LISTEN');
  const byAddress = new Map(nodes.map((n) => [n.address, n.name]));
  const key = (a: string, p: number): string => `${a}:${p}`;
  const ends = new Set(open.map((s) => `${key(s.localAddress, s.localPort)}>${key(s.peerAddress, s.peerPort)}`));
  const nodeOfListener = (address: string, port: number): string | undefined => {
    const direct = byAddress.get(address);
    if (direct) return direct;
    const l = listenerFor(listeners, address, port);
    const o = l ? attributor.owner(l.pid) : 'unknown';
    return typeof o === 'object' ? o.node : undefined;
  };
  const result: SampleResult = { connections: [], unrelated: 0, unattributed: 0 };
  const isClientPort = (port: number): boolean => port >= clientPorts[0] && port <= clientPorts[1];
  for (const s of open) {
    const isServerEnd = !!listenerFor(listeners, s.localAddress, s.localPort) || (!isClientPort(s.localPort) && isClientPort(s.peerPort));
    if (isServerEnd) {
      // The client end is here too (a node or this machine): counted from there.
      if (ends.has(`${key(s.peerAddress, s.peerPort)}>${key(s.localAddress, s.localPort)}`)) continue;
      const to = nodeOfListener(s.localAddress, s.localPort);
      if (!to) result.unrelated++;
      else if (isLocal(s.peerAddress) || byAddress.has(s.peerAddress)) result.unattributed++;
      else result.connections.push({ from: byAddress.get(s.peerAddress) ?? 'external', to, port: s.localPort, tuple: `${key(s.peerAddress, s.peerPort)}>${key(s.localAddress, s.localPort)}` });
      continue;
    }
    const to = nodeOfListener(s.peerAddress, s.peerPort);
    const owner = attributor.owner(s.pid);
    if (!to) {
      // A node reaching something that is no node (a package mirror, this machine): not in the table's scope.
      result.unrelated++;
      continue;
    }
    if (owner === 'unknown') {
      result.unattributed++;
      continue;
    }
    result.connections.push({
      from: owner === 'operator' ? 'operator' : owner.node,
      to,
      port: s.peerPort,
      tuple: `${key(s.localAddress, s.localPort)}>${key(s.peerAddress, s.peerPort)}`,
      ...(s.pid !== undefined ? { process: `${s.command ?? '?'}[${s.pid}]` } : {}),
    });
  }
  return result;
}

/** An exception the caller states, with its reason (e.g. the operator on 9093 where no Kafka node has a public address). */
export interface FlowException {
  from: 'operator' | Role;
  to: Role;
  port: number;
  reason: string;
}

export interface ObservedFlow {
  from: string;
  fromRoles: Role[] | 'operator' | 'clients';
  to: string;
  toRoles: Role[];
  port: number;
  portName: string;
  /** Distinct connections seen. */
  connections: number;
  /** Up to three of the client processes that opened them (`command[pid]`). */
  processes: string[];
  sameNode: boolean;
  /** The table entry that allows it, or the stated exception, or neither. */
  allowedBy?: string;
  exception?: string;
}

export interface FlowReport {
  samples: number;
  observed: ObservedFlow[];
  /** Flows between two nodes, or from the operator, that the table does not allow. */
  disallowed: ObservedFlow[];
  /** Flows inside one node that the table does not name: they never leave the node (lib/flows.ts), listed for the record. */
  sameNodeOutsideTable: ObservedFlow[];
  /** Table entries seen between two nodes (or from the operator), only within one node, or never. */
  entries: { flow: string; seen: 'between nodes' | 'same node only' | 'never' }[];
  unrelated: number;
  unattributed: number;
}

const flowName = (f: Flow): string => {
  const spec = flowPort(f);
  return `${f.from} → ${f.to} ${spec.port}${spec.toPort ? `-${spec.toPort}` : ''} (${f.port})`;
};

function portName(roles: Role[], port: number): string {
  const specs = [SSH_PORT, ...roles.flatMap((r) => ROLE_PORTS[r])];
  return specs.find((s) => port >= s.port && port <= (s.toPort ?? s.port))?.name ?? 'undeclared';
}

/** Folds connections into flows and checks each against the table. */
export function evaluate(connections: Iterable<Connection>, nodes: ObservedNode[], opts: { samples: number; unrelated?: number; unattributed?: number; exceptions?: FlowException[] }): FlowReport {
  const roles = new Map(nodes.map((n) => [n.name, n.roles]));
  const groups = new Map<string, { from: string; to: string; port: number; tuples: Set<string>; processes: Set<string> }>();
  for (const c of connections) {
    const k = `${c.from}|${c.to}|${c.port}`;
    const g = groups.get(k) ?? { from: c.from, to: c.to, port: c.port, tuples: new Set<string>(), processes: new Set<string>() };
    g.tuples.add(c.tuple);
    if (c.process && g.processes.size < 3) g.processes.add(c.process);
    groups.set(k, g);
  }
  const observed: ObservedFlow[] = [...groups.values()].map((g) => {
    const fromRoles = g.from === 'operator' ? 'operator' : g.from === 'external' ? 'clients' : (roles.get(g.from) ?? []);
    const toRoles = roles.get(g.to) ?? [];
    const flow = flowAllowed(fromRoles, toRoles, g.port);
    const exception = flow
      ? undefined
      : (opts.exceptions ?? []).find((e) => (e.from === 'operator' ? fromRoles === 'operator' : Array.isArray(fromRoles) && fromRoles.includes(e.from)) && toRoles.includes(e.to) && e.port === g.port);
    return {
      from: g.from,
      fromRoles,
      to: g.to,
      toRoles,
      port: g.port,
      portName: portName(toRoles, g.port),
      connections: g.tuples.size,
      processes: [...g.processes],
      sameNode: g.from === g.to,
      ...(flow ? { allowedBy: flowName(flow) } : {}),
      ...(exception ? { exception: exception.reason } : {}),
    };
  });
  observed.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.port - b.port);
  const unallowed = observed.filter((o) => !o.allowedBy && !o.exception);
  const matches = (f: Flow, o: ObservedFlow): boolean => {
    const spec = flowPort(f);
    const fromOk = f.from === 'operator' || f.from === 'clients' ? o.fromRoles === f.from : Array.isArray(o.fromRoles) && o.fromRoles.includes(f.from);
    return fromOk && (f.to === 'any' || o.toRoles.includes(f.to)) && o.port >= spec.port && o.port <= (spec.toPort ?? spec.port);
  };
  return {
    samples: opts.samples,
    observed,
    disallowed: unallowed.filter((o) => !o.sameNode),
    sameNodeOutsideTable: unallowed.filter((o) => o.sameNode),
    entries: FLOWS.map((f) => {
      const seen = observed.filter((o) => matches(f, o));
      return { flow: flowName(f), seen: seen.some((o) => !o.sameNode) ? 'between nodes' : seen.length ? 'same node only' : 'never' };
    }),
    unrelated: opts.unrelated ?? 0,
    unattributed: opts.unattributed ?? 0,
  };
}

/**
 * A one-line-per-flow text of a report, for the test log and the closing note. What fails the
 * test (sampling errors, flows the table does not allow) comes last, next to the test's result.
 */
export function formatFlowReport(r: FlowReport & { errors?: string[] }): string {
  const line = (o: ObservedFlow): string =>
    `  ${o.from} → ${o.to}:${o.port} (${o.portName}) ×${o.connections}${o.sameNode ? ' [same node]' : ''}: ${o.allowedBy ?? (o.exception ? `exception: ${o.exception}` : `NOT IN THE FLOW TABLE${o.processes.length ? ` (by ${o.processes.join(', ')})` : ''}`)}`;
  return [
    `flow observation: ${r.samples} samples, ${r.observed.reduce((n, o) => n + o.connections, 0)} connections in ${r.observed.length} flows (socket sightings left out: ${r.unattributed} with no process to attribute, e.g. TIME-WAIT; ${r.unrelated} not reaching a node)`,
    'observed:',
    ...r.observed.map(line),
    'table entries:',
    ...r.entries.map((e) => `  ${e.seen.padEnd(14)} ${e.flow}`),
    `inside one node, not in the table (never leaves the node): ${r.sameNodeOutsideTable.length ? '' : 'none'}`,
    ...r.sameNodeOutsideTable.map(line),
    `sampling errors: ${r.errors?.length ? '' : 'none'}`,
    ...(r.errors ?? []).map((e) => `  ${e}`),
    `disallowed between nodes: ${r.disallowed.length ? '' : 'none'}`,
    ...r.disallowed.map(line),
  ].join('\n');
}

/**
 * Samples `ss -Htanp` every `intervalMs` until stopped. A sample still running when the next is
 * due is not doubled: the interval is the pause between samples.
 */
export class FlowObserver {
  private readonly attributor: Attributor;
  private readonly connections = new Map<string, Connection>();
  private samples = 0;
  private unrelated = 0;
  private unattributed = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private errors: string[] = [];

  private readonly clientPorts = ephemeralPorts();

  constructor(
    private readonly nodes: ObservedNode[],
    private readonly intervalMs = 1000,
  ) {
    this.attributor = new Attributor(nodes);
  }

  start(): void {
    if (this.attributor.knownRoots === 0 && !this.nodes.some((n) => n.machine)) throw new Error('flow observer: no node root directory is visible on this machine');
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.sample().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  private sample(): Promise<void> {
    return new Promise((resolve) => {
      execFile('ss', ['-Htanp'], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
        if (error) {
          if (this.errors.length < 5) this.errors.push(error.message);
        } else {
          const r = attributeSample(parseSs(stdout), this.nodes, this.attributor, localAddresses(), this.clientPorts);
          for (const c of r.connections) this.connections.set(`${c.from}|${c.tuple}`, c);
          this.unrelated += r.unrelated;
          this.unattributed += r.unattributed;
          this.samples++;
        }
        resolve();
      });
    });
  }

  /** Stops sampling and returns the report (one last sample first). */
  async stop(exceptions: FlowException[] = []): Promise<FlowReport & { errors: string[] }> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.sample();
    return { ...evaluate(this.connections.values(), this.nodes, { samples: this.samples, unrelated: this.unrelated, unattributed: this.unattributed, exceptions }), errors: this.errors };
  }
}
