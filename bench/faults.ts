/**
 * Faults benchmark (issue 14): a local cluster of its own, a fault injected in the middle of real
 * work, and for each scenario the events acknowledged, the events found afterwards (in the topic,
 * or in the lake for the ingest scenarios), lost, duplicated, and the seconds until the faulted
 * part served again. Every count is read back from the cluster, never taken from the producer's
 * own summary. The reference in the same run is the same produce with no fault.
 *
 * Two phases, each on a local cluster of its own at 127.0.0.47 and up:
 * - the default three nodes, one broker: the broker restarted, killed with SIGKILL, its node
 *   rebooted from inside (back without `up`); the NameNode restarted during ingest; `up` killed in
 *   the middle of a rolling change (its SSH sessions cut) and run again;
 * - five nodes, 3 brokers (replication 3, min.insync.replicas 2), 3 DataNodes, 2 Spark workers,
 *   each scenario while flights are produced and streaming ingest writes them to the lake: a broker
 *   killed with SIGKILL, a rolling restart of the 3 brokers, a broker added (3 → 4) and drained and
 *   removed (4 → 3), a DataNode added (3 → 4), killed with SIGKILL, and decommissioned (4 → 3).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDfsReport } from '../provisioning/hdfs-decommission';
import { KAFKA_ADMIN_TOOLS, KAFKA_CLIENT_PORT } from '../provisioning/services/kafka';
import { BenchRow, benchEnv, benchWorkdir, cliTimed, localClusterYaml, REPO, Timed, writeYaml } from './common';

const NAME = 'benchfault';
const LARGE_NAME = 'benchfault5';
const FIRST = 47;
const KAFKA_4 = '127.0.0.52';
const HDFS_2 = '127.0.0.53';
const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
const JOB = (f: string): string => path.join(REPO, 'spark-jobs', f);
const RECORDS = 30_000;
const RATE = 1000;
/** Flights per ingest scenario of the five-node phase, and their rate. */
const INGEST_EVENTS = 60_000;
const INGEST_RATE = 1500;

interface Outcome {
  scenario: string;
  /** The scenario whose run time this one is compared with: the same work with no fault. */
  reference: string;
  acknowledged: number;
  /** In the topic, or (ingest scenarios) in the lake, counted by Spark. */
  found: number;
  /** Ingest scenarios of the five-node phase: the events this scenario added to the topic. */
  inTopic?: number;
  duplicates: number;
  recoverySeconds: number;
  seconds: number;
  note: string;
  /** Set when the scenario failed: what went wrong (the phase stops there). */
  failed?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The five-node layout: 3 brokers (replication 3, min.insync.replicas 2, 3 controllers), 3 DataNodes, 2 Spark workers. */
export function largeClusterYaml(name: string, first: number): string {
  return `name: ${name}
target: local
nodes:
  - { name: kafka-1, roles: [kafka, datanode], address: 127.0.0.${first} }
  - { name: kafka-2, roles: [kafka, datanode], address: 127.0.0.${first + 1} }
  - { name: kafka-3, roles: [kafka, datanode], address: 127.0.0.${first + 2} }
  - { name: spark-1, roles: [spark-master, spark-worker], address: 127.0.0.${first + 3} }
  - { name: hdfs-1, roles: [namenode, kms, spark-worker], address: 127.0.0.${first + 4} }
artifacts:
  source: maven
`;
}

export async function benchFaults(only: string[] = []): Promise<{ rows: BenchRow[]; outcomes: Outcome[] }> {
  // A scenario runs when no words were given or its name contains one of them (case aside).
  const wanted = (scenario: string): boolean => only.length === 0 || only.some((w) => scenario.toLowerCase().includes(w.toLowerCase()));
  const outcomes: Outcome[] = [];
  const smallScenarios = ['broker restart (1 broker)', 'broker SIGKILL (1 broker)', 'node reboot from inside', 'NameNode restart during ingest', '`up` killed mid-change, run again'];
  if (smallScenarios.some(wanted)) await oneBrokerPhase(wanted, outcomes);
  if (LARGE_SCENARIOS.some(wanted)) await fiveNodePhase(wanted, outcomes);

  const rows: BenchRow[] = outcomes.flatMap((o) => {
    if (o.failed) return [{ metric: `${o.scenario}: FAILED`, value: 0, unit: '', note: o.failed.split('\n')[0]!.slice(0, 300) }];
    const ref = outcomes.find((r) => r.scenario === o.reference);
    const lost = o.acknowledged - Math.min(o.acknowledged, o.found - o.duplicates);
    const topic = o.inTopic === undefined ? '' : `; in the topic: ${o.inTopic}`;
    return [
      { metric: `${o.scenario}: acknowledged / found / lost / duplicated`, value: o.found, unit: 'events', note: `${o.acknowledged} / ${o.found} / ${lost} / ${o.duplicates}${topic}; ${o.note}` },
      ...(o.reference === o.scenario ? [] : [{ metric: `${o.scenario}: recovery`, value: o.recoverySeconds, unit: 's', note: '' }]),
      ...(ref ? [{ metric: `${o.scenario}: run / no-fault run`, value: o.seconds / ref.seconds, unit: 'ratio', note: `${o.seconds.toFixed(0)} s against ${ref.seconds.toFixed(0)} s` }] : []),
    ];
  });
  return { rows, outcomes };
}

/** Runs one scenario; a failure is recorded as its outcome and stops the phase (what follows builds on it). */
async function attempt(outcomes: Outcome[], scenario: string, reference: string, run: () => Promise<Outcome | Outcome[]>): Promise<void> {
  try {
    const got = await run();
    outcomes.push(...(Array.isArray(got) ? got : [got]));
  } catch (error) {
    const failed = error instanceof Error ? error.message : String(error);
    outcomes.push({ scenario, reference, acknowledged: 0, found: 0, duplicates: 0, recoverySeconds: -1, seconds: 0, note: '', failed });
    throw new PhaseStopped(failed);
  }
}

class PhaseStopped extends Error {}

/** The default three nodes, one broker: faults that a single broker or the single NameNode must ride through. */
async function oneBrokerPhase(wanted: (s: string) => boolean, outcomes: Outcome[]): Promise<void> {
  const dir = benchWorkdir('faults');
  const base = localClusterYaml(NAME, FIRST);
  const config = writeYaml(path.join(dir, 'faults.yaml'), base);
  const changed = writeYaml(path.join(dir, 'faults-changed.yaml'), base + 'kafka:\n  overrides: { log.retention.hours: 100 }\n');
  const c = ['-c', config];
  await cliTimed(['down', '--yes', ...c], dir); // leftovers of an interrupted run
  await cliTimed(['up', ...c], dir);
  const REF = 'no fault';
  try {
    await attempt(outcomes, REF, REF, async () => ({ ...(await produceThrough(dir, config, REF, async () => 0)), reference: REF, note: 'the reference: the same produce, no fault' }));

    // Faults on kafka-1, the only broker: the command that makes it, and what says the node is back.
    const brokerFaults: { scenario: string; command: string; back?: string; note: string }[] = [
      {
        scenario: 'broker restart (1 broker)',
        command: 'systemctl stop millrace-kafka.service && sleep 20 && systemctl start millrace-kafka.service',
        note: 'down 20 s; the producer waits (--retry-timeout 300) and re-sends idempotently',
      },
      { scenario: 'broker SIGKILL (1 broker)', command: 'systemctl kill --kill-whom=main -s KILL millrace-kafka.service', note: 'systemd restarts it (Restart=on-failure, 5 s); the broker recovers its log' },
      {
        scenario: 'node reboot from inside',
        command: 'touch /run/millrace-bench-before-reboot && systemctl --no-block reboot',
        back: 'test ! -e /run/millrace-bench-before-reboot',
        note: 'kafka-1 reboots and is back with its broker, without `up`',
      },
    ];
    for (const f of brokerFaults.filter((b) => wanted(b.scenario))) {
      await attempt(outcomes, f.scenario, REF, async () => {
        const outcome = await produceThrough(dir, config, f.scenario, async () => {
          const t = Date.now();
          await onNode(dir, config, 'kafka-1', f.command);
          return untilServing(dir, config, 'kafka-1', t, f.back);
        });
        return { ...outcome, reference: REF, note: f.note };
      });
    }

    if (wanted('NameNode restart during ingest')) {
      await attempt(outcomes, 'NameNode restart during ingest', '', async () => ({
        ...(await namenodeRestartDuringIngest(dir, config)),
        reference: '',
        note: "ingest (Structured Streaming) through a NameNode restart; counted in the lake by Spark; the HDFS client's retry policy rides it through",
      }));
    }
    if (wanted('`up` killed mid-change, run again')) await attempt(outcomes, '`up` killed mid-change, run again', REF, () => upKilledMidway(dir, config, changed));
  } catch (error) {
    if (!(error instanceof PhaseStopped)) throw error;
  } finally {
    await cliTimed(['down', '--yes', ...c], dir);
  }
}

const LARGE_SCENARIOS = [
  'no fault, produce and ingest (5 nodes)',
  'broker SIGKILL during produce and ingest (3 brokers)',
  'rolling restart of 3 brokers during produce and ingest',
  'broker added (3 → 4) during produce and ingest',
  'broker drained and removed (4 → 3) during produce and ingest',
  'DataNode added (3 → 4) during ingest',
  'DataNode SIGKILL during ingest (4 DataNodes, replication 3)',
  'DataNode decommissioned (4 → 3) during ingest',
];

/**
 * Five nodes: 3 brokers (topics with 3 replicas, min.insync.replicas 2), 3 DataNodes (dfs.replication
 * 3), 2 Spark workers. Every scenario produces flights while streaming ingest writes them to the
 * lake, and counts both the topic and the lake. The shape changes build on one another: 3 brokers →
 * 3 with a config change → 4 → 3; 3 DataNodes → 4 (one killed) → 3. Any one asked for runs those
 * before it that it builds on.
 */
async function fiveNodePhase(wanted: (s: string) => boolean, outcomes: Outcome[]): Promise<void> {
  const dir = benchWorkdir('faults-5');
  const base = largeClusterYaml(LARGE_NAME, FIRST);
  const kafka3 = `  - { name: kafka-3, roles: [kafka, datanode], address: 127.0.0.${FIRST + 2} }\n`;
  const override = (hours: number): string => `kafka:\n  overrides: { log.retention.hours: ${hours} }\n`;
  const config = writeYaml(path.join(dir, 'faults-5.yaml'), base);
  const changed = writeYaml(path.join(dir, 'faults-5-changed.yaml'), base + override(100));
  const four = writeYaml(path.join(dir, 'faults-5-four-brokers.yaml'), base.replace(kafka3, `${kafka3}  - { name: kafka-4, roles: [kafka], address: ${KAFKA_4} }\n`) + override(100));
  const c = ['-c', config];
  await cliTimed(['down', '--yes', ...c], dir); // leftovers of an interrupted run (down removes every node the cluster has)
  const upSeconds = (await cliTimed(['up', ...c], dir)).seconds;
  const REF = LARGE_SCENARIOS[0]!;
  const topic = new TopicCounter(dir);
  const last = (names: string[]): number => Math.max(...names.map((n) => LARGE_SCENARIOS.indexOf(n)).filter((i) => i >= 0 && wanted(LARGE_SCENARIOS[i]!)), -1);
  const upToBrokers = last(LARGE_SCENARIOS.slice(1, 5));
  const upToDataNodes = last(LARGE_SCENARIOS.slice(5));
  let now = config;
  const ingest = async (scenario: string, at: string, fault: () => Promise<number>, after: string, note: (o: Omit<Outcome, 'note' | 'reference'>) => Promise<string> | string): Promise<Outcome> => {
    const o = await ingestThrough(dir, at, scenario, fault, after, INGEST_EVENTS, INGEST_RATE);
    const inTopic = await topic.added(after);
    const topicDuplicates =
      (inTopic.duplicates > 0 ? `; THE TOPIC HOLDS ${inTopic.duplicates} DUPLICATED EVENTS` : '') +
      (inTopic.redelivered > 0 ? `; the check's consumer was handed ${inTopic.redelivered} records again (a rebalance; counted once)` : '');
    return { ...o, inTopic: inTopic.added, reference: REF, note: (await note(o)) + topicDuplicates };
  };
  try {
    await attempt(outcomes, REF, REF, () => ingest(REF, config, async () => 0, config, () => `the reference: the same produce and ingest, no fault; the five nodes came up in ${upSeconds.toFixed(0)} s`));
    if (upToBrokers >= 1) {
      await attempt(outcomes, LARGE_SCENARIOS[1]!, REF, () =>
        ingest(LARGE_SCENARIOS[1]!, config, async () => {
          const t = Date.now();
          await onNode(dir, config, 'kafka-2', 'systemctl kill --kill-whom=main -s KILL millrace-kafka.service');
          const serving = await untilServing(dir, config, 'kafka-2', t);
          const inSync = await until(async () => (await underReplicated(dir, config)) === 0, t, 'no under-replicated partition');
          return Math.max(serving, inSync);
        }, config, () => "kafka-2's broker killed; systemd restarts it; recovery: serving and every partition fully in sync again; producers wrote to the other two (min.insync.replicas 2)"),
      );
    }
    if (upToBrokers >= 2) {
      await attempt(outcomes, LARGE_SCENARIOS[2]!, REF, () => ingest(LARGE_SCENARIOS[2]!, config, upTo(dir, changed), changed, () => 'a broker config change: `up` restarts one broker at a time, each caught up before the next; recovery: the whole `up`'));
      now = changed;
    }
    if (upToBrokers >= 3) {
      await attempt(outcomes, LARGE_SCENARIOS[3]!, REF, () => ingest(LARGE_SCENARIOS[3]!, changed, upTo(dir, four), four, () => 'the `up` that added kafka-4 (a broker only; the others restart one at a time to name it a super user)'));
      now = four;
    }
    if (upToBrokers >= 4) {
      // Partitions created on four brokers: kafka-4 holds some of their replicas, which the drain must move.
      const spread = `bench-spread-${Date.now()}`;
      await cliTimed(['topics', 'create', spread, '--partitions', '8', '--replication-factor', '3', '-c', four], dir);
      const sent = JSON.parse((await cliTimed(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', '20000', '--topic', spread, '--source-name', spread, '-c', four], dir)).stdout) as { sent: number };
      const onKafka4 = await replicasOn(dir, four, spread, 'kafka-4');
      await attempt(outcomes, LARGE_SCENARIOS[4]!, REF, () =>
        ingest(LARGE_SCENARIOS[4]!, four, upTo(dir, changed), changed, async () => {
          const kept = JSON.parse((await cliTimed(['consume', spread, '--verify', '--json', '--spec', SPEC, '-c', changed], dir)).stdout) as { messages: number; duplicates: number };
          return `kafka-4 drained by reassignment (it held ${onKafka4} replicas of a topic of 8 partitions with ${sent.sent} events: ${kept.messages} read back after, ${kept.duplicates} duplicated), stopped, removed`;
        }),
      );
      now = changed;
    }
    if (upToDataNodes >= 5) await dataNodeScenarios(dir, now, upToDataNodes, outcomes, ingest);
  } catch (error) {
    if (!(error instanceof PhaseStopped)) throw error;
  } finally {
    await cliTimed(['down', '--yes', ...c], dir);
  }
}

/** The events the ingest topic gained since the last call, and the duplicates it holds, read back from the cluster (`consume --verify`). */
class TopicCounter {
  private seen = 0;
  constructor(private readonly dir: string) {}
  async added(config: string): Promise<{ added: number; duplicates: number; redelivered: number }> {
    const r = JSON.parse((await cliTimed(['consume', 'flights', '--verify', '--json', '--spec', SPEC, '-c', config], this.dir, { allowFailure: true })).stdout) as { messages: number; duplicates: number; redelivered?: number };
    const added = r.messages - this.seen;
    this.seen = r.messages;
    return { added, duplicates: r.duplicates, redelivered: r.redelivered ?? 0 };
  }
}

/** Under-replicated partitions, as kafka-1's broker reports them. */
async function underReplicated(dir: string, config: string): Promise<number> {
  const out = await onNode(dir, config, 'kafka-1', `${topicCommand(FIRST)} --describe --under-replicated-partitions`);
  return out.split('\n').filter((l) => /\bPartition:/.test(l)).length;
}

/** How many of a topic's partition replicas a broker (by its node.id, from its node) holds. */
async function replicasOn(dir: string, config: string, topicName: string, node: string): Promise<number> {
  const id = Number((await onNode(dir, config, node, "sed -n 's/^node.id=//p' /etc/millrace/kafka/server.properties")).trim());
  const out = await onNode(dir, config, 'kafka-1', `${topicCommand(FIRST)} --describe --topic ${topicName}`);
  return out.split('\n').filter((l) => /\bPartition:/.test(l)).filter((l) => (/Replicas: ([\d,]+)/.exec(l)?.[1] ?? '').split(',').map(Number).includes(id)).length;
}

/** Kafka's topic tool on kafka-1, as the broker (a super user). */
const topicCommand = (first: number): string =>
  `java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '${KAFKA_ADMIN_TOOLS.classpath}' org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.${first}:${KAFKA_CLIENT_PORT} --command-config ${KAFKA_ADMIN_TOOLS.clientConfig}`;

/** `millrace exec <node> -- <command>`; a failure stops the scenario, with what the command printed. */
async function onNode(dir: string, config: string, node: string, command: string): Promise<string> {
  const r = await cliTimed(['--json', '-c', config, 'exec', node, '--', command], dir, { allowFailure: true });
  const result = (JSON.parse(r.stdout || '[]') as { stdout: string; stderr: string; code: number }[] | { error?: string });
  const first = Array.isArray(result) ? result[0] : undefined;
  if (r.code !== 0 || !first) throw new Error(`\`${command}\` failed on ${node} (exit ${first?.code ?? r.code}): ${(first ? `${first.stderr}\n${first.stdout}` : r.stderr).trim().slice(-2000)}`);
  return first.stdout;
}

/** Seconds from `since` until the node's broker listens again (and `also` holds), polled each second. */
async function untilServing(dir: string, config: string, node: string, since: number, also = 'true'): Promise<number> {
  // The listener's pid, not just the port: local nodes share the host's network namespace, where other clusters' brokers listen on 9093 too.
  const probe = `pid=$(systemctl show -p MainPID --value millrace-kafka.service); (${also}) && systemctl is-active --quiet millrace-kafka.service && ss -ltnpH 'sport = :9093' | grep -q "pid=$pid," && echo serving || echo waiting`;
  for (;;) {
    const r = await cliTimed(['--json', '-c', config, 'exec', node, '--', probe], dir, { allowFailure: true });
    if (r.code === 0 && r.stdout.includes('serving')) return (Date.now() - since) / 1000;
    if (Date.now() - since > 10 * 60_000) throw new Error(`${node}'s broker is not serving ${Math.round((Date.now() - since) / 1000)} s after the fault`);
    await sleep(1000);
  }
}

/** Produces RECORDS synthetic events into a new topic at RATE/s, runs the fault 5 s in, and counts the topic afterwards. */
async function produceThrough(dir: string, config: string, scenario: string, fault: () => Promise<number>): Promise<Omit<Outcome, 'note' | 'reference'>> {
  const topic = `bench-fault-${scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${Date.now()}`;
  const c = ['-c', config];
  await cliTimed(['topics', 'create', topic, '--replication-factor', '1', ...c], dir);
  const started = Date.now();
  const producing = cliTimed(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', String(RECORDS), '--rate', String(RATE), '--topic', topic, '--source-name', topic, ...c], dir);
  await sleep(5000);
  const recoverySeconds = await fault();
  const done = JSON.parse((await producing).stdout) as { sent: number };
  const seconds = (Date.now() - started) / 1000;
  const counted = JSON.parse((await cliTimed(['consume', topic, '--verify', '--json', '--spec', SPEC, ...c], dir)).stdout) as { messages: number; distinctIds: number; duplicates: number };
  for (const t of [topic, `${topic}.dlq`]) await cliTimed(['topics', 'delete', t, ...c], dir, { allowFailure: true });
  return { scenario, acknowledged: done.sent, found: counted.messages, duplicates: counted.duplicates, recoverySeconds, seconds };
}

/** Starts streaming ingest unless it runs already; waits until its queries are ready. */
async function ensureIngest(dir: string, config: string): Promise<void> {
  const c = ['-c', config];
  const jobs = JSON.parse((await cliTimed(['jobs', '--json', ...c], dir)).stdout) as { name: string }[];
  if (jobs.some((j) => j.name === 'millrace-ingest-flights')) return;
  await cliTimed(['topics', 'create', 'flights', ...c], dir, { allowFailure: true });
  await cliTimed(['submit', '--detach', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '--', '--trigger-seconds', '2'], dir);
  await sleep(30_000);
}

/** The lake's rows of one source, counted by Spark (lake_stats.py). */
async function lakeCount(dir: string, config: string, source: string): Promise<{ events: number; distinct_ids: number; duplicate_ids: number }> {
  const r = await cliTimed(['submit', '-c', config, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('lake_stats.py'), '--', '--id-prefix', `${source}#`], dir);
  const line = r.stdout.split('\n').find((l) => l.startsWith('MILLRACE_RESULT '));
  return line ? (JSON.parse(line.slice('MILLRACE_RESULT '.length)) as { events: number; distinct_ids: number; duplicate_ids: number }) : { events: 0, distinct_ids: 0, duplicate_ids: 0 };
}

/**
 * Ingest runs; `n` flights are produced at `rate`/s; the fault runs 15 s in; the lake is counted
 * (for up to 15 minutes) until every acknowledged event landed. `after`: the config once the fault is over.
 */
async function ingestThrough(dir: string, config: string, scenario: string, fault: () => Promise<number>, after = config, n = 100_000, rate = 2000): Promise<Omit<Outcome, 'note' | 'reference'>> {
  const source = `bench-${scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${Date.now()}`;
  await ensureIngest(dir, config);
  const started = Date.now();
  const producing = cliTimed(['produce', '--json', '-c', config, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--limit', String(n), '--rate', String(rate), '--source-name', source], dir);
  await sleep(15_000);
  const recoverySeconds = await fault();
  const done = JSON.parse((await producing).stdout) as { sent: number };
  let stats = { events: 0, distinct_ids: 0, duplicate_ids: 0 };
  for (const deadline = Date.now() + 15 * 60_000; Date.now() < deadline; await sleep(10_000)) {
    stats = await lakeCount(dir, after, source);
    if (stats.events >= done.sent) break;
  }
  return { scenario, acknowledged: done.sent, found: stats.events, duplicates: stats.duplicate_ids, recoverySeconds, seconds: (Date.now() - started) / 1000 };
}

/** A fault that is an `up` to another config; its recovery is the whole `up`, in seconds. */
function upTo(dir: string, config: string): () => Promise<number> {
  return async () => {
    const t = Date.now();
    await cliTimed(['up', '-c', config], dir);
    return (Date.now() - t) / 1000;
  };
}

/** Until `ok` holds, polled every 2 s for up to 10 minutes; the seconds since `since`. */
async function until(ok: () => Promise<boolean>, since: number, what: string): Promise<number> {
  for (;;) {
    if (await ok().catch(() => false)) return (Date.now() - since) / 1000;
    if (Date.now() - since > 10 * 60_000) throw new Error(`${what} did not happen within 10 minutes`);
    await sleep(2000);
  }
}

/** Ingest runs; 100,000 flights are produced; the NameNode restarts in the middle; the lake is counted once all landed. */
async function namenodeRestartDuringIngest(dir: string, config: string): Promise<Omit<Outcome, 'note' | 'reference'>> {
  return ingestThrough(dir, config, 'NameNode restart during ingest', async () => {
    const t = Date.now();
    await onNode(dir, config, 'hdfs-1', 'systemctl restart millrace-hdfs-namenode.service');
    // Serving again: the NameNode answers and has left safemode.
    return until(async () => (await cliTimed(['hdfs', '-c', config, '--', '-test', '-d', '/lake'], dir, { allowFailure: true })).code === 0, t, 'the NameNode serving /lake');
  });
}

/** dfsadmin on hdfs-1, as hdfs. */
const DFSADMIN = "runuser -u hdfs -- java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp '/etc/millrace/hadoop:/opt/millrace/hadoop/current:/opt/millrace/hadoop/current/lib/*' org.apache.hadoop.hdfs.tools.DFSAdmin";

/**
 * From `dfsadmin -report` on hdfs-1: the live DataNodes in service (a decommissioned one is listed
 * live until its heartbeats have stopped for ~10 minutes), those decommissioned, and the
 * under-replicated blocks.
 */
async function hdfsReport(dir: string, config: string): Promise<{ live: number; decommissioned: number; underReplicated: number }> {
  const out = await onNode(dir, config, 'hdfs-1', `${DFSADMIN} -report`);
  const nodes = parseDfsReport(out);
  return {
    live: nodes.filter((n) => !n.dead && n.status === 'Normal').length,
    decommissioned: nodes.filter((n) => n.status === 'Decommissioned').length,
    underReplicated: Number(/Under replicated blocks: (\d+)/.exec(out)?.[1] ?? -1),
  };
}

type IngestScenario = (scenario: string, at: string, fault: () => Promise<number>, after: string, note: (o: Omit<Outcome, 'note' | 'reference'>) => Promise<string> | string) => Promise<Outcome>;

/**
 * hdfs-2, a fourth DataNode, added by `up` while ingest writes; its DataNode killed with SIGKILL
 * while ingest writes (systemd restarts it; the NameNode brings every block back to 3 replicas);
 * then decommissioned and removed by `up` while ingest writes. `now`: the config the cluster runs.
 * `upTo`: the index in LARGE_SCENARIOS of the last one asked for.
 */
async function dataNodeScenarios(dir: string, now: string, upToIndex: number, outcomes: Outcome[], ingest: IngestScenario): Promise<void> {
  const text = fs.readFileSync(now, 'utf8');
  const hdfs1 = `  - { name: hdfs-1, roles: [namenode, kms, spark-worker], address: 127.0.0.${FIRST + 4} }\n`;
  if (!text.includes(hdfs1)) throw new Error('largeClusterYaml changed: the faults benchmark cannot find hdfs-1 in it');
  const withHdfs2 = writeYaml(path.join(dir, 'faults-5-four-datanodes.yaml'), text.replace(hdfs1, `${hdfs1}  - { name: hdfs-2, roles: [datanode], address: ${HDFS_2} }\n`));
  const [added, killed, removed] = LARGE_SCENARIOS.slice(5) as [string, string, string];
  const REF = LARGE_SCENARIOS[0]!;
  await attempt(outcomes, added, REF, () =>
    ingest(added, now, upTo(dir, withHdfs2), withHdfs2, async () => `the \`up\` that added hdfs-2; live DataNodes after: ${(await hdfsReport(dir, withHdfs2)).live}`),
  );
  if (upToIndex >= 6) {
    await attempt(outcomes, killed, REF, async () => {
      let restoredAfter = -1;
      return ingest(
        killed,
        withHdfs2,
        async () => {
          const t = Date.now();
          await onNode(dir, withHdfs2, 'hdfs-2', 'systemctl kill --kill-whom=main -s KILL millrace-hdfs-datanode.service');
          await sleep(3000);
          return until(async () => (await hdfsReport(dir, withHdfs2)).live === 4, t, "hdfs-2's DataNode live again");
        },
        withHdfs2,
        async () => {
          const t = Date.now();
          restoredAfter = await until(async () => (await hdfsReport(dir, withHdfs2)).underReplicated === 0, t, 'no under-replicated blocks').catch(() => -1);
          return `systemd restarts it (Restart=on-failure); recovery: live again; replication ${restoredAfter >= 0 ? `restored (no under-replicated block) ${restoredAfter.toFixed(0)} s after the count` : 'NOT restored within 10 minutes'}`;
        },
      );
    });
  }
  if (upToIndex >= 7) {
    await attempt(outcomes, removed, REF, () =>
      ingest(removed, withHdfs2, upTo(dir, now), now, async () => {
        const r = await hdfsReport(dir, now);
        return `the \`up\` that decommissioned and removed hdfs-2; DataNodes in service after: ${r.live}, decommissioned: ${r.decommissioned}; under-replicated blocks: ${r.underReplicated}`;
      }),
    );
  }
}

/**
 * `up` with a changed broker config, killed (SIGKILL, so its SSH sessions drop mid-command) once it
 * has worked for a while, then run again: it must converge, and a third run must change nothing.
 */
async function upKilledMidway(dir: string, config: string, changed: string): Promise<Outcome> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO, 'dist/cli/main.js'), 'up', '-c', changed], { env: benchEnv(dir), cwd: dir, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  await sleep(20_000);
  child.kill('SIGKILL');
  await exited;
  const t = Date.now();
  const again: Timed = await cliTimed(['up', '--json', '-c', changed], dir);
  const recoverySeconds = (Date.now() - t) / 1000;
  const third = JSON.parse((await cliTimed(['up', '--json', '-c', changed], dir)).stdout) as { changed: boolean };
  const props = await onNode(dir, config, 'kafka-1', 'grep -c "^log.retention.hours=100$" /etc/millrace/kafka/server.properties || true');
  const converged = props.trim() === '1' && !third.changed;
  return {
    scenario: '`up` killed mid-change, run again',
    reference: '',
    acknowledged: 0,
    found: 0,
    duplicates: 0,
    recoverySeconds,
    seconds: (Date.now() - started) / 1000,
    note: `killed after 20 s; the re-run ${again.code === 0 ? 'exited 0' : `exited ${again.code}`}, ${converged ? 'converged (the override is in place, a third run changes nothing)' : 'DID NOT CONVERGE'}`,
  };
}
