/**
 * Kafka node ids are assigned once and kept, whatever the order of the config's node list; the
 * controller quorum is chosen when the cluster is first formatted and a change to it is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kafkaIdentitiesPath, removeInventory, writeInventory } from '../../../lib/inventory';
import { assignKafkaIdentities, defaultControllers, ensureKafkaIdentities, KafkaQuorumError, readKafkaIdentities } from '../../../provisioning/kafka-identities';
import { buildServerProperties, checkFormattedIdentity, isController } from '../../../provisioning/services/kafka';
import { comparePorts } from '../../../provisioning/verify/ports';
import { planCluster } from '../../../provisioning/plan';
import { factsFor } from '../../fixtures/facts';
import { runCli, tempHome } from '../cli/built-cli';

const fresh = (kafkaNodes: string[], requested?: string[]) => assignKafkaIdentities({ kafkaNodes, requested, legacy: false });

describe('Kafka identities', () => {
  it('numbers a new cluster in list order and makes 3 voters when it can, else 1', () => {
    expect(fresh(['a', 'b', 'c', 'd', 'e'])).toEqual({ nodeIds: { a: 1, b: 2, c: 3, d: 4, e: 5 }, nextId: 6, controllers: ['a', 'b', 'c'] });
    expect(fresh(['a', 'b']).controllers).toEqual(['a']);
    expect(defaultControllers(['a'])).toEqual(['a']);
    expect(fresh(['a', 'b', 'c', 'd'], ['d', 'b', 'a']).controllers).toEqual(['a', 'b', 'd']);
  });

  it('keeps every id when the list is reordered, and gives an inserted node the next id', () => {
    const stored = fresh(['a', 'b', 'c']);
    expect(assignKafkaIdentities({ kafkaNodes: ['c', 'a', 'b'], stored, legacy: false }).nodeIds).toEqual({ a: 1, b: 2, c: 3 });
    const grown = assignKafkaIdentities({ kafkaNodes: ['a', 'x', 'b', 'c'], stored, legacy: false });
    expect(grown.nodeIds).toEqual({ a: 1, x: 4, b: 2, c: 3 });
    expect(grown.nextId).toBe(5);
    expect(grown.controllers).toEqual(['a', 'b', 'c']);
  });

  it('never gives a removed broker\'s id to another node', () => {
    const four = fresh(['a', 'b', 'c', 'd']);
    const shrunk = assignKafkaIdentities({ kafkaNodes: ['a', 'b', 'c'], stored: four, legacy: false });
    expect(shrunk.nodeIds.d).toBe(4);
    const replaced = assignKafkaIdentities({ kafkaNodes: ['a', 'b', 'c', 'e'], stored: shrunk, legacy: false });
    expect(replaced.nodeIds.e).toBe(5);
    // A node that comes back under its old name gets its old id back.
    expect(assignKafkaIdentities({ kafkaNodes: ['a', 'b', 'c', 'd'], stored: replaced, legacy: false }).nodeIds.d).toBe(4);
  });

  it('refuses to drop a voter, naming it and the brokers that can go', () => {
    const stored = fresh(['a', 'b', 'c', 'd']);
    const attempt = (): unknown => assignKafkaIdentities({ kafkaNodes: ['a', 'c', 'd'], stored, legacy: false });
    expect(attempt).toThrow(KafkaQuorumError);
    expect(attempt).toThrow(/\[b\] is a KRaft controller voter of this cluster.*nothing was changed/);
    try {
      attempt();
    } catch (e) {
      expect((e as KafkaQuorumError).hint).toMatch(/keep b in nodes with the kafka role.*brokers that are not voters \(d\) can be removed/);
      expect((e as KafkaQuorumError).exitCode).toBe(2);
    }
  });

  it('refuses a different quorum on a formatted cluster, and takes the same voters in any order', () => {
    const stored = fresh(['a', 'b', 'c', 'd']);
    expect(() => assignKafkaIdentities({ kafkaNodes: ['a', 'b', 'c', 'd'], requested: ['a', 'b', 'd'], stored, legacy: false })).toThrow(
      /asks for the KRaft voters \[a, b, d\], but this cluster's quorum is \[a, b, c\]/,
    );
    expect(assignKafkaIdentities({ kafkaNodes: ['a', 'b', 'c', 'd'], requested: ['c', 'b', 'a'], stored, legacy: false }).controllers).toEqual(['a', 'b', 'c']);
  });

  it('keeps a cluster formatted before identities were kept as it runs: ids by position, every kafka node a voter', () => {
    expect(assignKafkaIdentities({ kafkaNodes: ['a', 'b'], legacy: true })).toEqual({ nodeIds: { a: 1, b: 2 }, nextId: 3, controllers: ['a', 'b'] });
  });

  it('renders a non-voter as a broker only: no controller listener, the voters unchanged', () => {
    const f = factsFor(`name: big
nodes:
  - { name: kafka-1, roles: [kafka] }
  - { name: kafka-2, roles: [kafka] }
  - { name: kafka-3, roles: [kafka, datanode] }
  - { name: kafka-4, roles: [kafka] }
  - { name: spark-1, roles: [spark-master, spark-worker] }
  - { name: hdfs-1, roles: [namenode, datanode, kms] }
`);
    const voter = buildServerProperties(f, f.kafkaNodes[0]!);
    const broker = buildServerProperties(f, f.kafkaNodes[3]!);
    expect(voter['process.roles']).toBe('broker,controller');
    expect(broker['process.roles']).toBe('broker');
    expect(broker['node.id']).toBe(4);
    expect(broker.listeners).toBe('CLIENT://127.0.0.14:9093');
    expect(broker['listener.security.protocol.map']).toBe('CLIENT:SSL,CONTROLLER:SSL');
    expect(broker['controller.quorum.voters']).toBe('1@127.0.0.11:9094,2@127.0.0.12:9094,3@127.0.0.13:9094');
    expect(broker['controller.quorum.voters']).toBe(voter['controller.quorum.voters']);
    // verify's port check expects no controller port on a broker-only node, and one on a voter.
    // (9100 and 9404: every node's host metrics and the broker's JMX metrics.)
    expect(comparePorts(f.kafkaNodes[3]!, [22, 9093, 9100, 9404], isController(f, f.kafkaNodes[3]!))).toEqual({ unexpected: [], missing: [] });
    expect(comparePorts(f.kafkaNodes[3]!, [22, 9093, 9094, 9100, 9404], false).unexpected).toEqual([9094]);
    expect(comparePorts(f.kafkaNodes[0]!, [22, 9093, 9100, 9404], isController(f, f.kafkaNodes[0]!)).missing.map((p) => p.port)).toEqual([9094]);
  });

  it('renders the same files on every node when the config lists the nodes in another order', () => {
    const lines = [
      '  - { name: kafka-1, roles: [kafka], address: 127.0.0.11 }',
      '  - { name: kafka-2, roles: [kafka, datanode], address: 127.0.0.12 }',
      '  - { name: kafka-3, roles: [kafka, spark-worker], address: 127.0.0.13 }',
      '  - { name: kafka-4, roles: [kafka], address: 127.0.0.14 }',
      '  - { name: spark-1, roles: [spark-master, spark-worker], address: 127.0.0.15 }',
      '  - { name: hdfs-1, roles: [namenode, datanode, kms], address: 127.0.0.16 }',
    ];
    const yaml = (order: string[]): string => `name: big\nnodes:\n${order.join('\n')}\n`;
    const first = factsFor(yaml(lines));
    const files = (f: ReturnType<typeof factsFor>): Record<string, string> =>
      Object.fromEntries(planCluster(f).flatMap((p) => p.files.map((x) => [`${p.node.name}:${x.path}`, x.content])));
    const reordered = factsFor(yaml([...lines].reverse()), {}, {}, first.kafkaIdentities);
    expect(reordered.kafkaIdentities).toEqual(first.kafkaIdentities);
    const [a, b] = [files(first), files(reordered)];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(a).filter((k) => a[k] !== b[k])).toEqual([]);
  });

  it('refuses to use storage formatted with another node id or cluster id, naming both', () => {
    const f = factsFor();
    const node = f.kafkaNodes[0]!;
    const meta = (id: string, cluster = f.kafkaClusterId): Map<string, string> => new Map([['node.id', id], ['cluster.id', cluster], ['version', '1']]);
    expect(() => checkFormattedIdentity(meta('1'), f, node)).not.toThrow();
    expect(() => checkFormattedIdentity(meta('2'), f, node)).toThrow(/kafka-1's Kafka storage .* was formatted as node\.id 2, but the cluster state gives it node\.id 1; the broker was not started/);
    expect(() => checkFormattedIdentity(meta('1', 'OTHER'), f, node)).toThrow(/cluster\.id OTHER, but .* cluster\.id AAAAAAAAAAAAAAAAAAAAAA/);
  });
});

describe('Kafka identities in the cluster state', () => {
  let home: string;
  const saved = process.env.MILLRACE_HOME;
  beforeEach(() => {
    home = tempHome('millrace-ids-');
    process.env.MILLRACE_HOME = path.join(home, '.millrace');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.MILLRACE_HOME;
    else process.env.MILLRACE_HOME = saved;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('records them 0600 on first use and keeps them across runs; forgetting the nodes forgets them', () => {
    const first = ensureKafkaIdentities('demo', ['a', 'b', 'c'], undefined);
    const file = kafkaIdentitiesPath('demo');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readKafkaIdentities('demo')).toEqual(first);
    expect(ensureKafkaIdentities('demo', ['c', 'b', 'new', 'a'], undefined).nodeIds).toEqual({ a: 1, b: 2, c: 3, new: 4 });
    expect(readKafkaIdentities('demo')?.nextId).toBe(5);
    removeInventory('demo');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('treats a cluster with nodes and a Kafka cluster id but no identities file as formatted the old way', () => {
    writeInventory({ cluster: 'old', target: 'local', createdAt: '2026-01-01T00:00:00.000Z', nodes: [] });
    fs.writeFileSync(path.join(process.env.MILLRACE_HOME!, 'clusters', 'old', 'kafka-cluster-id'), 'AAAAAAAAAAAAAAAAAAAAAA\n');
    expect(ensureKafkaIdentities('old', ['a', 'b', 'c', 'd'], undefined).controllers).toEqual(['a', 'b', 'c', 'd']);
  });

  it('`up` refuses a quorum change before it creates anything (exit 2, state unchanged)', () => {
    const state = path.join(home, '.millrace', 'clusters', 'ids');
    fs.mkdirSync(state, { recursive: true });
    const stored = { nodeIds: { 'kafka-1': 1, 'kafka-2': 2, 'kafka-3': 3 }, nextId: 4, controllers: ['kafka-1'] };
    fs.writeFileSync(path.join(state, 'kafka-identities.json'), JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    fs.writeFileSync(
      path.join(home, 'millrace.yaml'),
      `name: ids
target: static
nodes:
  - { name: kafka-1, roles: [kafka], address: 127.0.0.221 }
  - { name: kafka-2, roles: [kafka], address: 127.0.0.222 }
  - { name: kafka-3, roles: [kafka, namenode, datanode], address: 127.0.0.223 }
kafka:
  controllers: [kafka-1, kafka-2, kafka-3]
`,
    );
    const before = fs.readdirSync(state);
    const r = runCli(home, ['up', '-c', 'millrace.yaml', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kafka\.controllers asks for the KRaft voters \[kafka-1, kafka-2, kafka-3\], but this cluster's quorum is \[kafka-1\]/);
    expect(r.stderr).toMatch(/set kafka\.controllers to \[kafka-1\], or remove it/);
    expect(fs.readdirSync(state)).toEqual(before);
    expect(JSON.parse(fs.readFileSync(path.join(state, 'kafka-identities.json'), 'utf8'))).toEqual(stored);
  });
});
