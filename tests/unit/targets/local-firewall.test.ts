/**
 * The local target's firewall (targets/local/firewall.ts): the script it derives from the flow
 * table, then that script loaded into this machine's nftables and tried with real connections
 * between spare loopback addresses, each client bound to its node's address as the nodes' own
 * connections are (targets/local/source-address.ts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../lib/config';
import { applyFirewall, deniedConnections, firewallPlan, firewallScript, firewallTable, keptApart, parseDenied, removeFirewall, withoutCovered } from '../../../targets/local/firewall';

const KAFKA = '127.0.0.71';
const SPARK = '127.0.0.72';
const HDFS = '127.0.0.73';
const CLUSTER = `unit-fw-${process.pid}`;
const config = parseConfigText(
  [
    `name: ${CLUSTER}`,
    'target: local',
    'nodes:',
    `  - { name: kafka-1, roles: [kafka], address: ${KAFKA} }`,
    `  - { name: spark-1, roles: [spark-master, spark-worker], address: ${SPARK} }`,
    `  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${HDFS} }`,
    '',
  ].join('\n'),
  'test.yaml',
);

const allows = (from: string, to: string, port: number): boolean =>
  firewallPlan(config).allow.some((a) => a.from === from && a.to === to && a.fromPort <= port && port <= a.toPort);

describe('the local firewall: its plan, from the flow table', () => {
  it('lets the operator (network.sshCidr, 127.0.0.1/32 by default) reach SSH and the web UIs, and nothing else of HDFS', () => {
    for (const to of [KAFKA, SPARK, HDFS]) expect(allows('127.0.0.1/32', to, 22)).toBe(true);
    expect(allows('127.0.0.1/32', SPARK, 8480)).toBe(true);
    expect(allows('127.0.0.1/32', HDFS, 8020)).toBe(false);
    expect(allows('127.0.0.1/32', KAFKA, 9094)).toBe(false);
  });

  it("lets the operator reach the CLIENT listener only while millrace's own clients use it (no Kafka node with a public address)", () => {
    expect(allows('127.0.0.1/32', KAFKA, 9093)).toBe(true);
    const natted = parseConfigText(
      `name: ${CLUSTER}\ntarget: local\nnodes:\n  - { name: kafka-1, roles: [kafka], address: ${KAFKA}, publicAddress: 127.0.0.75 }\n  - { name: spark-1, roles: [spark-master, spark-worker, namenode, datanode, kms], address: ${SPARK} }\n`,
      'test.yaml',
    );
    const plan = firewallPlan(natted).allow;
    expect(plan.some((a) => a.from === '127.0.0.1/32' && a.to === KAFKA && a.fromPort === 9093)).toBe(false);
    expect(plan.some((a) => a.from === '127.0.0.1/32' && a.to === KAFKA && a.fromPort === 9095)).toBe(true);
  });

  it("lets 127.0.0.1 reach every node's metrics ports and nothing else more: Prometheus, a Go program, connects without the source-address library", () => {
    // (and the monitor's Alertmanager, 9099, which Prometheus beside it sends alerts to)
    const metrics = { [KAFKA]: [9100, 9404], [SPARK]: [9100, 9408, 9409, 9099], [HDFS]: [9100, 9405, 9406, 9407] };
    for (const [to, ports] of Object.entries(metrics)) for (const port of ports) expect([to, port, allows('127.0.0.1', to, port)]).toEqual([to, port, true]);
    // Only from the monitor's own address is it a flow of the table; other nodes reach no metrics port.
    expect(allows(SPARK, KAFKA, 9404)).toBe(true);
    expect(allows(HDFS, KAFKA, 9404)).toBe(false);
    expect(allows(KAFKA, HDFS, 9100)).toBe(false);
    expect(firewallPlan(config).allow.filter((a) => a.from === '127.0.0.1').every((a) => [9100, 9404, 9405, 9406, 9407, 9408, 9409, 9099].includes(a.fromPort))).toBe(true);
  });

  it('lets Spark reach HDFS, the KMS and Kafka; a Kafka-only node reaches none of HDFS, the KMS or a web UI', () => {
    expect(allows(SPARK, HDFS, 8020)).toBe(true);
    expect(allows(SPARK, HDFS, 9600)).toBe(true);
    expect(allows(SPARK, KAFKA, 9093)).toBe(true);
    expect(allows(KAFKA, HDFS, 8020)).toBe(false);
    expect(allows(KAFKA, HDFS, 9600)).toBe(false);
    expect(allows(KAFKA, SPARK, 8480)).toBe(false);
    // No node reaches another's SSH: only the operator does.
    expect(allows(SPARK, KAFKA, 22)).toBe(false);
  });

  it("a worker on another node reaches the master's RPC but not its web UI (issue 14's EC2 bug)", () => {
    const split = parseConfigText(
      `name: ${CLUSTER}\ntarget: local\nnodes:\n  - { name: master-1, roles: [spark-master, kafka, namenode, datanode, kms], address: ${SPARK} }\n  - { name: worker-1, roles: [spark-worker], address: ${KAFKA} }\n`,
      'test.yaml',
    );
    const plan = firewallPlan(split).allow;
    const ok = (port: number): boolean => plan.some((a) => a.from === KAFKA && a.to === SPARK && a.fromPort <= port && port <= a.toPort);
    expect(ok(7077)).toBe(true);
    expect(ok(8480)).toBe(false);
  });

  it('writes one transaction that keeps the denied set across updates', () => {
    const script = firewallScript(config);
    expect(script).toContain(`table inet ${firewallTable(CLUSTER)} {`);
    expect(script).toMatch(/flush set inet \S+ allowed/);
    expect(script).not.toMatch(/flush set inet \S+ denied/);
    expect(script).toContain(`${SPARK} . ${HDFS} . 8020`);
    expect(script).toContain(`${SPARK} . ${SPARK}`); // the self set: a node reaches itself
    // Spark's application ports are open between Spark nodes only.
    expect(script).not.toContain(`${KAFKA} . ${SPARK} . 7100-7139`);
  });

  it('reads the dropped connections from nft -j', () => {
    const json = JSON.stringify({ nftables: [{ metainfo: {} }, { set: { name: 'denied', elem: [{ concat: ['127.0.0.1', HDFS, 22] }, { concat: [KAFKA, HDFS, 8020] }] } }] });
    expect(parseDenied(json)).toEqual([
      { from: '127.0.0.1', to: HDFS, port: 22 },
      { from: KAFKA, to: HDFS, port: 8020 },
    ]);
    expect(parseDenied(JSON.stringify({ nftables: [{ set: { name: 'denied' } }] }))).toEqual([]);
  });
});

/** Connects from `from` (bound, as a node's process is) to to:port; 'connected' or why not. */
function tryConnect(from: string | undefined, to: string, port: number, timeoutMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: to, port, ...(from ? { localAddress: from } : {}), timeout: timeoutMs });
    s.on('connect', () => (s.destroy(), resolve('connected')));
    s.on('timeout', () => (s.destroy(), resolve('timed out')));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('the local firewall, loaded into nftables', () => {
  const servers: net.Server[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-firewall-'));

  beforeAll(async () => {
    try {
      execFileSync('nft', ['list', 'tables'], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`nftables is not usable here (the local target needs it: scripts/setup.sh installs nftables; it needs root and a kernel with nf_tables): ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
    }
    for (const [host, port] of [[HDFS, 8020], [HDFS, 22], [SPARK, 8480], [KAFKA, 9093]] as const) {
      const server = net.createServer((s) => s.end());
      await new Promise<void>((r) => server.listen(port, host, r));
      servers.push(server);
    }
    await applyFirewall(config, dir);
  });

  afterAll(async () => {
    await removeFirewall(CLUSTER);
    for (const s of servers) await new Promise((r) => s.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes the flows of the table, drops the others (no reset: the client times out), and records each drop', async () => {
    expect(await tryConnect(SPARK, HDFS, 8020)).toBe('connected');
    expect(await tryConnect(SPARK, KAFKA, 9093)).toBe('connected');
    expect(await tryConnect('127.0.0.1', HDFS, 22)).toBe('connected');
    expect(await tryConnect('127.0.0.1', KAFKA, 9093)).toBe('connected');
    // A node's own connections to itself meet no rule.
    expect(await tryConnect(SPARK, SPARK, 8480)).toBe('connected');

    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('timed out');
    expect(await tryConnect(KAFKA, SPARK, 8480)).toBe('timed out');
    expect(await tryConnect('127.0.0.1', HDFS, 8020)).toBe('timed out');
    expect((await deniedConnections(CLUSTER)).sort((a, b) => a.port - b.port || a.from.localeCompare(b.from))).toEqual([
      { from: KAFKA, to: SPARK, port: 8480 },
      { from: '127.0.0.1', to: HDFS, port: 8020 },
      { from: KAFKA, to: HDFS, port: 8020 },
    ].sort((a, b) => a.port - b.port || a.from.localeCompare(b.from)));
  });

  it('an update (a second up) changes the rules in place and keeps what was denied', async () => {
    const grown = parseConfigText(
      `name: ${CLUSTER}\ntarget: local\nnodes:\n  - { name: kafka-1, roles: [kafka, spark-worker], address: ${KAFKA} }\n  - { name: spark-1, roles: [spark-master, spark-worker], address: ${SPARK} }\n  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${HDFS} }\n`,
      'test.yaml',
    );
    await applyFirewall(grown, dir);
    // kafka-1 now carries a Spark worker: its executors read the lake.
    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('connected');
    expect(await tryConnect(KAFKA, SPARK, 8480)).toBe('timed out');
    expect((await deniedConnections(CLUSTER)).length).toBe(3);
    await applyFirewall(config, dir);
    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('timed out');
  });

  it("during an up (keepPrevious) the last table's flows stay open beside the new ones, and close when it is applied as final", async () => {
    const grown = parseConfigText(
      `name: ${CLUSTER}\ntarget: local\nnodes:\n  - { name: kafka-1, roles: [kafka, spark-worker], address: ${KAFKA} }\n  - { name: spark-1, roles: [spark-master, spark-worker], address: ${SPARK} }\n  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${HDFS} }\n`,
      'test.yaml',
    );
    await applyFirewall(grown, dir);
    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('connected');
    // kafka-1's worker leaves: while its nodes are provisioned, what it still runs keeps reaching the lake.
    await applyFirewall(config, dir, { keepPrevious: true });
    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('connected');
    await applyFirewall(config, dir);
    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('timed out');
    // The final table is now the last one: a second up keeps nothing more.
    await applyFirewall(config, dir, { keepPrevious: true });
    expect(await tryConnect(KAFKA, HDFS, 8020)).toBe('timed out');
  });

  it("keeps only the last table's elements that overlap none of the new ones (nft refuses overlaps), e.g. when the operator's CIDR changed", async () => {
    expect(keptApart(['127.0.0.0/8 . 127.0.0.33 . 22', '127.0.0.32 . 127.0.0.33 . 88', '127.0.0.32 . 127.0.0.33 . 40000-40100'], ['127.0.0.1 . 127.0.0.33 . 22', '127.0.0.32 . 127.0.0.33 . 40050-40200', '127.0.0.32 . 127.0.0.31 . 88'])).toEqual([
      '127.0.0.32 . 127.0.0.33 . 88',
    ]);
    expect(withoutCovered(['127.0.0.72 . 127.0.0.71 . 9093', '127.0.0.0/24 . 127.0.0.71 . 9093', '127.0.0.1 . 127.0.0.71 . 22', '127.0.0.1/32 . 127.0.0.71 . 22', '127.0.0.72 . 127.0.0.71 . 7140-7199'])).toEqual([
      '127.0.0.0/24 . 127.0.0.71 . 9093',
      '127.0.0.1 . 127.0.0.71 . 22',
      '127.0.0.72 . 127.0.0.71 . 7140-7199',
    ]);
    const wide = parseConfigText(`name: ${CLUSTER}\ntarget: local\nnetwork: { sshCidr: 127.0.0.0/24 }\nnodes:\n  - { name: kafka-1, roles: [kafka], address: ${KAFKA} }\n  - { name: spark-1, roles: [spark-master, spark-worker], address: ${SPARK} }\n  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${HDFS} }\n`, 'test.yaml');
    await applyFirewall(wide, dir);
    // The operator's CIDR narrows to 127.0.0.1/32 (the default): the last table's wider elements
    // overlap the new ones, and the up still applies its table.
    await applyFirewall(config, dir, { keepPrevious: true });
    expect(await tryConnect('127.0.0.1', HDFS, 22)).toBe('connected');
    await applyFirewall(config, dir);
  });

  it('traffic to addresses that are not the nodes is not touched', async () => {
    const other = net.createServer((s) => s.end());
    await new Promise<void>((r) => other.listen(8020, '127.0.0.74', r));
    try {
      expect(await tryConnect(KAFKA, '127.0.0.74', 8020)).toBe('connected');
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
