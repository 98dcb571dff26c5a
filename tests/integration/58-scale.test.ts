/**
 * Stable identities, scaling out and rolling changes (issue 14), on the shared cluster. The file
 * stops the ingest it started, and leaves the cluster as the base config describes it:
 * - a node (a broker, a Spark worker and a DataNode) added by editing the config and running `up`
 *   while a producer runs: it gets the next node id and joins as a broker only, the controller
 *   quorum stays as it was, the worker joins the master, the DataNode registers at the node's own
 *   address beside hdfs-1's, and every record is in the topic once;
 * - the node list reordered: `up` changes nothing (ids do not follow list positions);
 * - a broker config change while producing: `up` restarts the brokers one at a time, each back
 *   and fully replicated before the next goes down, and every record is in the topic once;
 * - kafka-2's DataNode killed with SIGKILL while ingest writes: systemd restarts it, the NameNode
 *   counts no under-replicated or missing block (a file with a replica on each DataNode included),
 *   and every row of the run is in the lake once, written by the same ingest job;
 * - dropping the quorum's voter from the config is refused before anything changes;
 * - removing the added broker while a topic has a replica more than one broker can hold is refused;
 * - removing it while producing drains it first: its partitions move to kafka-1, its DataNode is
 *   decommissioned (a file whose only replica was on it is still read back whole afterwards), its
 *   broker, worker and DataNode are stopped, the node goes, every record is in the topic once, and
 *   the Spark applications that ran before still run. The cluster is as the base config describes
 *   it again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { clusterKnownHosts } from '../../provisioning/known-hosts';
import { connect, type RemoteHost } from '../../provisioning/remote-host';
import { createKafkaClient } from '../../producers/kafka-client';
import { KAFKA_ADMIN_TOOLS } from '../../provisioning/services/kafka';
import * as crypto from 'node:crypto';
import { ADDRESSES, cli, CLUSTER, CLUSTER_YAML, CONFIG, ENV, ensureBaseCluster, faultMidIngest, FLIGHTS_SPEC as SPEC, ingestWrote, JOB, kafkaAs, killJobsNamed, lakeStats, liveDataNodes, node, randomName, rowsWrittenByIngest, runningIngest, SPARK_FS_SHELL, SparkJob, stateDir, TEST_DIR, writeConfig } from './harness';

const KAFKA_2 = '127.0.0.37';
const KAFKA_1_LINE = `  - { name: kafka-1, roles: [kafka], address: ${ADDRESSES['kafka-1']} }\n`;
const KAFKA_2_LINE = `  - { name: kafka-2, roles: [kafka, spark-worker, datanode], address: ${KAFKA_2} }\n`;

function withNodes(lines: string, extra = ''): string {
  expect(CLUSTER_YAML).toContain(KAFKA_1_LINE);
  return CLUSTER_YAML.replace(KAFKA_1_LINE, lines) + extra;
}
const SCALED = writeConfig(path.join(TEST_DIR, 'scaled.yaml'), withNodes(KAFKA_1_LINE + KAFKA_2_LINE));
const REORDERED = writeConfig(path.join(TEST_DIR, 'scaled-reordered.yaml'), withNodes(KAFKA_2_LINE + KAFKA_1_LINE));
const CHANGED = writeConfig(path.join(TEST_DIR, 'scaled-changed.yaml'), withNodes(KAFKA_1_LINE + KAFKA_2_LINE, 'kafka:\n  overrides: { log.retention.hours: 100 }\n'));
const NO_VOTER = writeConfig(path.join(TEST_DIR, 'scaled-no-voter.yaml'), withNodes(KAFKA_2_LINE));

async function on<T>(name: string, fn: (host: RemoteHost) => Promise<T>): Promise<T> {
  const n = readInventory(CLUSTER).nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no ${name} in the test inventory`);
  const host = await connect(n, { knownHosts: clusterKnownHosts(CLUSTER) });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

/** The spark-master's count of ALIVE workers, as `status` reports it ("n of m"). */
async function aliveWorkers(config: string): Promise<string> {
  const r = await cli(['status', '--json', '-c', config]);
  const s = JSON.parse(r.stdout) as { services: { service: string; checks: { name: string; detail: string }[] }[] };
  return s.services.find((x) => x.service === 'spark-master')?.checks.find((c) => c.name === 'ALIVE workers')?.detail ?? `no spark-master in status (exit ${r.code})`;
}

/** The Spark applications the master lists as running. */
async function runningApps(): Promise<string[]> {
  const r = await cli(['jobs', '--json', '-c', CONFIG]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[]).map((a) => a.id).sort();
}

const identities = (): { nodeIds: Record<string, number>; controllers: string[] } => JSON.parse(fs.readFileSync(path.join(stateDir(), 'kafka-identities.json'), 'utf8'));

/** Starts `produce` of `records` synthetic events at 1000/s into a new topic; resolves with its summary once verified in the topic. */
async function produceThrough(topic: string, records: number, replicationFactor: number, during: () => Promise<void>): Promise<{ sent: number; retriedBatches: number; messages: number; duplicates: number }> {
  const created = await cli(['topics', 'create', topic, '--replication-factor', String(replicationFactor), '-c', CONFIG]);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  const producing = cli(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', String(records), '--rate', '1000', '--topic', topic, '--source-name', topic, '-c', CONFIG]);
  await new Promise((r) => setTimeout(r, 3000));
  await during();
  const done = await producing;
  expect(done.stderr.slice(-2000)).not.toMatch(/error:/);
  expect(done.code).toBe(0);
  const summary = JSON.parse(done.stdout) as { sent: number; errors: number; retriedBatches: number };
  expect(summary).toMatchObject({ sent: records, errors: 0 });
  const verified = await cli(['consume', topic, '--verify', '--json', '--spec', SPEC, '-c', CONFIG]);
  expect(verified.code).toBe(0);
  const counts = JSON.parse(verified.stdout) as { messages: number; distinctIds: number; duplicates: number };
  expect(counts).toMatchObject({ messages: records, distinctIds: records, duplicates: 0 });
  return { sent: summary.sent, retriedBatches: summary.retriedBatches, messages: counts.messages, duplicates: counts.duplicates };
}

/** Replicas of every partition of a topic, from kafka-1. */
async function replicasOf(topic: string): Promise<string> {
  const out = await on('kafka-1', (h) =>
    h.execOrThrow(`java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '${KAFKA_ADMIN_TOOLS.classpath}' org.apache.kafka.tools.TopicCommand --bootstrap-server ${ADDRESSES['kafka-1']}:9093 --command-config ${KAFKA_ADMIN_TOOLS.clientConfig} --describe --topic ${topic}`),
  );
  return [...out.matchAll(/Partition:\s*(\d+)\s+Leader:\s*\S+\s+Replicas:\s*([\d,]+)/g)].map((m) => `${m[1]}:${m[2]}`).join(' ');
}

let rollingTopic = '';
/** A file written on kafka-2 with one replica, so its blocks are on kafka-2's DataNode alone, and its digest. */
let onKafka2 = { path: '', sha256: '' };
const HADOOP_AS_HDFS_CMD = "runuser -u hdfs -- java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp '/etc/millrace/hadoop:/opt/millrace/hadoop/current:/opt/millrace/hadoop/current/lib/*'";
const HADOOP_AS_HDFS = `${HADOOP_AS_HDFS_CMD} org.apache.hadoop.fs.FsShell`;
const DFSADMIN = `${HADOOP_AS_HDFS_CMD} org.apache.hadoop.hdfs.tools.DFSAdmin`;

/** Starts the flights ingest (as the pipeline file, 72, leaves it running) and waits until its query has run a batch. */
async function startIngest(): Promise<SparkJob> {
  // One replica, as the pipeline makes it on one broker: kafka-2 must be removable later.
  await cli(['topics', 'create', 'flights', '--replication-factor', '1', '-c', CONFIG]);
  const r = await cli(['submit', '--detach', '--json', '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '-c', CONFIG, '--', '--trigger-seconds', '2']);
  if (r.code !== 0) throw new Error(`submitting ingest failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  for (const start = Date.now(); Date.now() - start < 180_000; await new Promise((res) => setTimeout(res, 3000))) {
    const job = await runningIngest();
    if (job?.state !== 'RUNNING' || !job.workDir) continue;
    const spark = await node('spark-1');
    try {
      const batches = await spark.exec(`grep -c '"query": "events"' ${job.workDir}/driver.log || true`);
      if (Number(batches.stdout.trim()) > 0) return job;
    } finally {
      await spark.close();
    }
  }
  throw new Error('ingest submitted, but it has not run a batch after 3 minutes');
}

beforeAll(async () => {
  await ensureBaseCluster();
  // The consumer offsets topic is made by the first consumer group, with as many replicas as there
  // are brokers then: made now, on one broker, as in the full suite (where earlier files made it).
  const probe = randomName('itest-scale-probe');
  const admin = createKafkaClient(await kafkaAs('admin'));
  try {
    expect(await admin.createTopic(probe, 1, 1)).toBe(true);
    await admin.produce(probe, [{ value: 'probe' }]);
    expect(await admin.consume(probe, `${probe}-group`, 1, 60_000)).toHaveLength(1);
    await admin.deleteTopic(probe);
  } finally {
    await admin.close();
  }
  expect(await replicasOf('__consumer_offsets')).toMatch(/^0:1 /);
}, 10 * 60_000);

// The ingest this file started (or found) has done its part by the end: stopped, it no longer
// polls a core and the CPU through 59-74 (72 starts one of its own on the kerberized cluster).
afterAll(() => killJobsNamed('millrace-ingest-flights'), 5 * 60_000);

describe('scaling out and rolling changes', () => {
  it('a node added by config and `up` while producing: next id, a broker only, the quorum unchanged, its DataNode at its own address, every record in once', async () => {
    expect(identities()).toMatchObject({ nodeIds: { 'kafka-1': 1 }, controllers: ['kafka-1'] });
    let up = { code: -1 as number | null, stdout: '', stderr: '', seconds: 0 };
    const topic = randomName('itest-scale-out');
    const appsBefore = await runningApps();
    const r = await produceThrough(topic, 30_000, 1, async () => {
      up = await cli(['up', '--json', '-c', SCALED]);
    });
    if (up.code !== 0) throw new Error(`up with kafka-2 added failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    const { nodes, staleApplications } = JSON.parse(up.stdout) as {
      nodes: { node: string; started: string[]; restarted: string[] }[];
      staleApplications: { changed: string[]; applications: { id: string }[] };
    };
    // The new broker is in spark-defaults.conf on spark-1, which a running driver never rereads:
    // `up` names every application that ran through it (ingest and scoring, in the full suite).
    expect(staleApplications.changed).toContain('/etc/millrace/spark/spark-defaults.conf');
    const appsAfter = await runningApps();
    expect(staleApplications.applications.map((a) => a.id)).toEqual(expect.arrayContaining(appsBefore.filter((id) => appsAfter.includes(id))));
    expect(nodes.find((n) => n.node === 'kafka-2')?.started.sort()).toEqual(['hdfs-datanode', 'kafka', 'node-exporter', 'spark-worker']);
    // Two DataNodes, each at its own node's address (not both at 127.0.0.1: one would replace the other).
    expect((await liveDataNodes()).map((d) => d.xferaddr)).toEqual([`${ADDRESSES['hdfs-1']}:9866`, `${KAFKA_2}:9866`]);
    // A client on a DataNode's node writes the first replica there: with one replica, kafka-2 alone holds the file.
    const data = crypto.randomBytes(5 * 1024 * 1024 + 3);
    onKafka2 = { path: `/tmp/${randomName('itest-on-kafka-2')}.bin`, sha256: crypto.createHash('sha256').update(data).digest('hex') };
    const blocksBefore = (await liveDataNodes()).find((d) => d.xferaddr === `${KAFKA_2}:9866`)!.numBlocks;
    await on('kafka-2', async (h) => {
      await h.putFile('/tmp/itest-on-kafka-2.bin', data, { mode: 0o644, owner: 'hdfs' });
      await h.execOrThrow(`${HADOOP_AS_HDFS} -D dfs.replication=1 -put /tmp/itest-on-kafka-2.bin ${onKafka2.path} && ${HADOOP_AS_HDFS} -chmod 644 ${onKafka2.path} && rm /tmp/itest-on-kafka-2.bin`);
    });
    expect((await liveDataNodes()).find((d) => d.xferaddr === `${KAFKA_2}:9866`)!.numBlocks).toBeGreaterThan(blocksBefore);
    // The Spark worker on kafka-2 joined the master too, and runs executors: an application spread
    // over both workers (it waits for both executors) gets one there, which opens kafka-2's own
    // keystore with the TLS settings the driver on spark-1 hands it.
    expect(await aliveWorkers(SCALED)).toBe('2 of 2');
    const pi = await cli(['submit', '-c', CONFIG, '--conf', 'spark.cores.max=2', '--conf', 'spark.executor.cores=1', '--conf', 'spark.scheduler.minRegisteredResourcesRatio=1.0', '--conf', 'spark.scheduler.maxRegisteredResourcesWaitingTime=90s', JOB('check_pi.py'), '--', '8']);
    expect(pi.stderr.slice(-2000)).not.toMatch(/^error:/m);
    expect(pi.code).toBe(0);
    expect(pi.stdout).toMatch(/Pi is roughly 3\.\d+ \(executors: 2, tasks: 8\)/);
    const appId = /app-\d{14}-\d{4}/.exec(pi.stdout + pi.stderr)?.[0];
    expect(appId).toBeDefined();
    const onKafka2Worker = await on('kafka-2', (h) => h.execOrThrow(`cd /var/lib/millrace/spark/work/${appId} && for d in */; do printf '%s %s\\n' "$d" "$(grep -c 'Exception in thread' "$d/stderr" || true)"; done`));
    expect(onKafka2Worker.trim().split('\n')).toEqual([expect.stringMatching(/^\d+\/ 0$/)]);
    expect(identities()).toMatchObject({ nodeIds: { 'kafka-1': 1, 'kafka-2': 2 }, nextId: 3, controllers: ['kafka-1'] });
    const [props, meta, quorum] = await on('kafka-2', async (h) => [
      await h.execOrThrow('cat /etc/millrace/kafka/server.properties'),
      await h.execOrThrow('cat /var/lib/millrace/kafka/data/meta.properties'),
      await h.execOrThrow(
        `java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '${KAFKA_ADMIN_TOOLS.classpath}' org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server ${KAFKA_2}:9093 --command-config ${KAFKA_ADMIN_TOOLS.clientConfig} describe --status`,
      ),
    ]);
    expect(props).toContain('process.roles=broker\n');
    expect(props).toContain('node.id=2\n');
    expect(props).toContain(`controller.quorum.voters=1@${ADDRESSES['kafka-1']}:9094\n`);
    expect(props).toContain(`listeners=CLIENT://${KAFKA_2}:9093\n`);
    expect(meta).toMatch(/^node\.id=2$/m);
    expect(quorum).toMatch(/CurrentVoters:\s+\[\{"id": ?1,/);
    expect(quorum).toMatch(/CurrentObservers:\s+\[.*"id": ?2\b/);
    console.log(
      `scale out: kafka-2 added in ${up.seconds.toFixed(0)}s (node id 2, broker only; voters [1]); kafka-1 ${nodes.find((n) => n.node === 'kafka-1')?.restarted.join(',') || 'not restarted'}; ${r.sent} acknowledged, ${r.messages} in the topic, ${r.duplicates} duplicates, ${r.retriedBatches} re-sends`,
    );
    for (const t of [topic, `${topic}.dlq`]) await cli(['topics', 'delete', t, '-c', CONFIG]);
  }, 15 * 60_000);

  it('the node list reordered: `up` changes nothing, and every broker keeps its id', async () => {
    const up = await cli(['up', '--json', '-c', REORDERED]);
    if (up.code !== 0) throw new Error(`up with the nodes reordered failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    expect(JSON.parse(up.stdout)).toMatchObject({ changed: false });
    expect(identities()).toMatchObject({ nodeIds: { 'kafka-1': 1, 'kafka-2': 2 }, controllers: ['kafka-1'] });
  }, 10 * 60_000);

  it('a broker config change while producing restarts the brokers one at a time, each caught up before the next: every record in once', async () => {
    let up = { code: -1 as number | null, stdout: '', stderr: '', seconds: 0 };
    const topic = (rollingTopic = randomName('itest-rolling'));
    const r = await produceThrough(topic, 30_000, 2, async () => {
      up = await cli(['up', '--json', '-c', CHANGED]);
    });
    if (up.code !== 0) throw new Error(`up with a broker config change failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    const nodes = (JSON.parse(up.stdout) as { nodes: { node: string; restarted: string[] }[] }).nodes;
    expect(nodes.filter((n) => n.restarted.includes('kafka')).map((n) => n.node).sort()).toEqual(['kafka-1', 'kafka-2']);
    // server.properties alone: nothing a running driver reads changed, so `up` names no application.
    expect((JSON.parse(up.stdout) as { staleApplications: unknown }).staleApplications).toEqual({ changed: [], applications: [] });
    // When each broker went down and came back (the nodes share this machine's clock): no overlap.
    const windows = await Promise.all(
      ['kafka-1', 'kafka-2'].map((name) =>
        on(name, async (h) => {
          const out = await h.execOrThrow('systemctl show millrace-kafka.service --timestamp=unix -p InactiveEnterTimestamp -p ActiveEnterTimestamp');
          const at = (key: string): number => Number(new RegExp(`^${key}=@(\\d+)`, 'm').exec(out)?.[1]);
          return { name, down: at('InactiveEnterTimestamp'), up: at('ActiveEnterTimestamp') };
        }),
      ),
    );
    windows.sort((a, b) => a.down - b.down);
    const [first, second] = windows as [(typeof windows)[0], (typeof windows)[0]];
    expect(first.down).toBeGreaterThan(0);
    expect(second.down).toBeGreaterThanOrEqual(first.up);
    for (const name of ['kafka-1', 'kafka-2']) expect(await on(name, (h) => h.execOrThrow('cat /etc/millrace/kafka/server.properties'))).toContain('log.retention.hours=100\n');
    console.log(
      `rolling restart: ${first.name} down ${first.down} up ${first.up}, ${second.name} down ${second.down} (${second.down - first.up}s after) up ${second.up}; up took ${up.seconds.toFixed(0)}s; ${r.sent} acknowledged, ${r.messages} in the topic, ${r.duplicates} duplicates, ${r.retriedBatches} re-sends`,
    );
  }, 15 * 60_000);

  it("a DataNode killed with SIGKILL during ingest: systemd restarts it, the NameNode counts no block short of replicas, and every row lands once, written by the same job", async () => {
    // 50 s of producing at 800/s. The fault comes once ingest writes the first of these rows: on
    // 2026-12-03, 36 s after the producer started (it reads past --skip first), with ingest just
    // started by this file; when it ran after the pipeline, with ingest's executor moved by the
    // `up`s above, that took more than a minute. This file now runs before the pipeline's, and in
    // the full runs of 2026-12-06 the kill came 16-17 s after ingest's first write, with 80 s of
    // producing (at 500/s) of which more than half was left.
    const batch = 40_000;
    const source = `itest-dn-kill-${Date.now().toString(36)}`;
    // The one running already, or one started here; either way stopped at the end of this file.
    const ingest = (await runningIngest()) ?? (await startIngest());
    expect(ingest.workDir).toBeDefined();
    const log = `${ingest.workDir}/driver.log`;
    // A file with a replica on each DataNode: the one on kafka-2 dies with it and must be counted again.
    const twoReplicas = `/tmp/${randomName('itest-two-replicas')}.bin`;
    await on('hdfs-1', (h) => h.execOrThrow(`head -c 3000000 /dev/urandom > /tmp/itest-two.bin && ${HADOOP_AS_HDFS} -D dfs.replication=2 -put /tmp/itest-two.bin ${twoReplicas}; rm -f /tmp/itest-two.bin`));
    const UNIT = 'millrace-hdfs-datanode.service';
    const pidBefore = (await on('kafka-2', (h) => h.execOrThrow(`systemctl show -p MainPID --value ${UNIT}`))).trim();
    const spark = await node('spark-1');
    let killedAfter = 0;
    try {
      ({ faultAfterSeconds: killedAfter } = await faultMidIngest(spark, log, { source, batch, skip: 2_100_000, rate: 800 }, async () => {
        await on('kafka-2', (h) => h.execOrThrow(`systemctl kill --kill-whom=main -s KILL ${UNIT}`));
      }));
    } finally {
      await spark.close();
    }
    // systemd started a new DataNode process (Restart=on-failure).
    const unit = await on('kafka-2', (h) => h.execOrThrow(`systemctl show -p MainPID -p ActiveState -p NRestarts ${UNIT}`));
    expect(unit).toMatch(/^ActiveState=active$/m);
    expect(unit).not.toMatch(new RegExp(`^MainPID=(0|${pidBefore})$`, 'm'));
    expect(Number(/^NRestarts=(\d+)$/m.exec(unit)?.[1])).toBeGreaterThanOrEqual(1);
    // Replication restored: both DataNodes live, and the NameNode counts no under-replicated or missing block (within 3 minutes).
    let report = '';
    const replicationWait = Date.now();
    for (const start = Date.now(); Date.now() - start < 180_000; await new Promise((r) => setTimeout(r, 3000))) {
      report = await on('hdfs-1', (h) => h.execOrThrow(`${DFSADMIN} -report`));
      if (/^Live datanodes \(2\)/m.test(report) && /^\s*Under replicated blocks: 0$/m.test(report) && /^\s*Missing blocks: 0$/m.test(report)) break;
    }
    const replicatedAfter = (Date.now() - replicationWait) / 1000;
    expect(report).toMatch(/^Live datanodes \(2\)/m);
    expect(report).toMatch(/^\s*Under replicated blocks: 0$/m);
    expect(report).toMatch(/^\s*Missing blocks: 0$/m);
    expect((await on('hdfs-1', (h) => h.execOrThrow(`${HADOOP_AS_HDFS} -stat %r ${twoReplicas} && ${HADOOP_AS_HDFS} -rm -skipTrash ${twoReplicas}`))).trim().split('\n')[0]).toBe('2');
    // The same job, never restarted, wrote every row once.
    expect(await runningIngest()).toEqual(expect.objectContaining({ id: ingest.id, state: 'RUNNING' }));
    const counted = Date.now();
    expect(await lakeStats(`${source}#`)).toEqual(expect.objectContaining({ events: batch, distinct_ids: batch, duplicate_ids: 0 }));
    console.log(`DataNode SIGKILL: kafka-2's DataNode killed ${killedAfter.toFixed(0)} s after ingest first wrote this run's rows; restarted by systemd; no block under-replicated or missing ${replicatedAfter.toFixed(0)} s after the ingest caught up; ${batch} of ${batch} rows in the lake once, by the same job (counted in ${((Date.now() - counted) / 1000).toFixed(0)} s)`);
  }, 15 * 60_000);

  it('a config without the quorum\'s voter is refused before anything changes (exit 2)', async () => {
    const before = fs.readFileSync(path.join(stateDir(), 'kafka-identities.json'), 'utf8');
    const up = await cli(['up', '-c', NO_VOTER]);
    expect(up.code).toBe(2);
    expect(up.stderr).toMatch(/\[kafka-1\] is a KRaft controller voter of this cluster, and the config no longer has it as a kafka node; nothing was changed/);
    expect(up.stderr).toMatch(/brokers that are not voters \(kafka-2\) can be removed/);
    expect(fs.readFileSync(path.join(stateDir(), 'kafka-identities.json'), 'utf8')).toBe(before);
    expect((await on('kafka-1', (h) => h.execOrThrow('systemctl is-active millrace-kafka.service'))).trim()).toBe('active');
  });

  it('removing kafka-2 while a topic has 2 replicas is refused before anything moves (exit 2), naming the topic', async () => {
    expect(rollingTopic).not.toBe('');
    const up = await cli(['up', '-c', CONFIG]);
    expect(up.code).toBe(2);
    expect(up.stderr).toMatch(new RegExp(`removing broker 2 would leave 1 broker for partitions with more replicas: .*${rollingTopic}-\\d \\(2 replicas\\).*; nothing was changed`));
    expect((await on('kafka-2', (h) => h.execOrThrow('systemctl is-active millrace-kafka.service'))).trim()).toBe('active');
    expect(readInventory(CLUSTER).nodes.map((n) => n.name)).toContain('kafka-2');
  });

  it('removing kafka-2 by config while producing: drained first (its partitions moved to kafka-1), its DataNode and Spark worker decommissioned, its broker, Spark worker and DataNode stopped, then gone; every record in once; Spark applications keep running', async () => {
    for (const t of [rollingTopic, `${rollingTopic}.dlq`]) expect((await cli(['topics', 'delete', t, '-c', CONFIG])).code).toBe(0);
    let up = { code: -1 as number | null, stdout: '', stderr: '', seconds: 0 };
    const topic = randomName('itest-scale-in');
    let before = '';
    // Whatever runs on Spark (ingest, started above) keeps running without kafka-2's worker.
    const apps = await runningApps();
    const r = await produceThrough(topic, 30_000, 1, async () => {
      before = await replicasOf(topic);
      // At info, for the removal's own report of what it stopped.
      up = await cli(['up', '--json', '-c', CONFIG], { env: { ...ENV, LOG_LEVEL: 'info' } });
    });
    if (up.code !== 0) throw new Error(`up without kafka-2 failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    // Kafka spread the topic over both brokers; everything is on kafka-1 now.
    expect(before).toMatch(/:2\b/);
    expect(await replicasOf(topic)).toBe('0:1 1:1 2:1');
    expect(up.stderr).toMatch(/decommissioned kafka-2 in \d+s/);
    // Its Spark worker decommissioned before the stop (SIGPWR), so the master moved no executor onto it.
    expect(up.stderr).toMatch(/spark-worker on kafka-2: decommissioned/);
    expect(up.stderr).toMatch(/stopped kafka, spark-worker, datanode on kafka-2 \(leaving the cluster\)/);
    // The file whose only replica was on kafka-2 is whole: decommissioning copied its blocks to hdfs-1.
    expect((await liveDataNodes()).map((d) => d.xferaddr)).toEqual([`${ADDRESSES['hdfs-1']}:9866`]);
    const spark = await node('spark-1');
    try {
      expect((await spark.execOrThrow(`${SPARK_FS_SHELL} -cat ${onKafka2.path} | sha256sum`)).split(' ')[0]).toBe(onKafka2.sha256);
    } finally {
      await spark.close();
    }
    const hdfs = await node('hdfs-1');
    try {
      await hdfs.exec(`${HADOOP_AS_HDFS} -rm -f -skipTrash ${onKafka2.path}`);
    } finally {
      await hdfs.close();
    }
    expect(await aliveWorkers(CONFIG)).toBe('1 of 1');
    expect(await runningApps()).toEqual(apps);
    // Running is not enough: the ingest goes on writing (an application the master lists as
    // running may have no executor left, e.g. after a master and a worker restarted under it).
    const ingest = await runningIngest();
    expect(ingest?.workDir).toBeDefined();
    const sparkHost = await node('spark-1');
    try {
      const log = `${ingest!.workDir}/driver.log`;
      const before = await rowsWrittenByIngest(sparkHost, log);
      const after = cli(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', '2000', '--rate', '1000', '--source-name', randomName('itest-after-scale-in'), '-c', CONFIG]);
      expect(await ingestWrote(sparkHost, log, before)).toBe(true);
      expect((await after).code).toBe(0);
    } finally {
      await sparkHost.close();
    }
    expect(readInventory(CLUSTER).nodes.map((n) => n.name).sort()).toEqual(['hdfs-1', 'kafka-1', 'spark-1']);
    expect(fs.existsSync(path.join(stateDir(), 'nodes', 'kafka-2'))).toBe(false);
    // kafka-2 keeps its id in the state, so no later node gets it.
    expect(identities()).toMatchObject({ nodeIds: { 'kafka-1': 1, 'kafka-2': 2 }, nextId: 3, controllers: ['kafka-1'] });
    const admin = createKafkaClient(await kafkaAs('admin'));
    try {
      expect((await admin.describeCluster()).brokers.map((b) => b.nodeId)).toEqual([1]);
    } finally {
      await admin.close();
    }
    console.log(`scale in: kafka-2 drained and removed by up in ${up.seconds.toFixed(0)}s (partitions before ${before}); ${r.sent} acknowledged, ${r.messages} in the topic, ${r.duplicates} duplicates, ${r.retriedBatches} re-sends`);
    for (const t of [topic, `${topic}.dlq`]) await cli(['topics', 'delete', t, '-c', CONFIG]);
  }, 15 * 60_000);
});
