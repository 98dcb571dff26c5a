/**
 * Faults benchmark (issue 14): a local cluster of its own, a fault injected in the middle of real
 * work, and for each scenario the events acknowledged, the events found afterwards (in the topic,
 * or in the lake for the ingest scenarios), lost, duplicated, and the seconds until the faulted
 * part served again. Every count is read back from the cluster, never taken from the producer's
 * own summary. The reference in the same run is the same produce with no fault.
 *
 * Scenarios: a broker restarted (one broker), a broker killed with SIGKILL, the broker's node
 * rebooted from inside (back without `up`), the NameNode restarted during ingest, `up` killed in
 * the middle of a rolling change (its SSH sessions cut) and run again, a broker added (1 → 2)
 * while producing, a rolling restart of both brokers while producing, and the added broker drained
 * and removed while producing; and, while ingest writes to the lake, a DataNode added (1 → 2),
 * killed with SIGKILL, and decommissioned and removed (2 → 1).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchRow, benchEnv, benchWorkdir, cliTimed, localClusterYaml, REPO, Timed, writeYaml } from './common';

const NAME = 'benchfault';
const FIRST = 47;
const KAFKA_2 = '127.0.0.50';
const HDFS_2 = '127.0.0.51';
const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
const JOB = (f: string): string => path.join(REPO, 'spark-jobs', f);
const RECORDS = 30_000;
const RATE = 1000;

interface Outcome {
  scenario: string;
  acknowledged: number;
  found: number;
  duplicates: number;
  recoverySeconds: number;
  seconds: number;
  note: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function benchFaults(only: string[] = []): Promise<{ rows: BenchRow[]; outcomes: Outcome[] }> {
  // A scenario runs when no words were given or its name contains one of them (case aside).
  const wanted = (scenario: string): boolean => only.length === 0 || only.some((w) => scenario.toLowerCase().includes(w.toLowerCase()));
  const dir = benchWorkdir('faults');
  const base = localClusterYaml(NAME, FIRST);
  const kafka1 = `  - { name: kafka-1, roles: [kafka], address: 127.0.0.${FIRST} }\n`;
  const kafka2 = `  - { name: kafka-2, roles: [kafka], address: ${KAFKA_2} }\n`;
  if (!base.includes(kafka1)) throw new Error('localClusterYaml changed: the faults benchmark cannot find kafka-1 in it');
  const config = writeYaml(path.join(dir, 'faults.yaml'), base);
  // Each step's config is the one before with one change: an override, a broker, another override, the broker gone.
  const override = (hours: number): string => `kafka:\n  overrides: { log.retention.hours: ${hours} }\n`;
  const twoBrokers = base.replace(kafka1, kafka1 + kafka2);
  const changed = writeYaml(path.join(dir, 'faults-changed.yaml'), base + override(100));
  const scaled = writeYaml(path.join(dir, 'faults-scaled.yaml'), twoBrokers + override(100));
  const scaledChanged = writeYaml(path.join(dir, 'faults-scaled-changed.yaml'), twoBrokers + override(50));
  const shrunk = writeYaml(path.join(dir, 'faults-shrunk.yaml'), base + override(50));
  const c = ['-c', config];
  await cliTimed(['down', '--yes', ...c], dir); // leftovers of an interrupted run
  await cliTimed(['up', ...c], dir);
  const outcomes: Outcome[] = [];
  try {
    const reference = await produceThrough(dir, config, 'no fault', async () => 0);
    outcomes.push({ ...reference, note: 'the reference: the same produce, no fault' });

    // Faults on kafka-1, the only broker: the command that makes it, and what says the node is back.
    const brokerFaults: { scenario: string; command: string; back?: string; note: string }[] = [
      {
        scenario: 'broker restart (1 broker)',
        command: 'systemctl stop millrace-kafka.service && sleep 20 && systemctl start millrace-kafka.service',
        note: 'down 20 s; the producer waits (--retry-timeout 300) and re-sends idempotently',
      },
      { scenario: 'broker SIGKILL', command: 'systemctl kill -s KILL millrace-kafka.service', note: 'systemd restarts it (Restart=on-failure, 5 s); the broker recovers its log' },
      {
        scenario: 'node reboot from inside',
        command: 'touch /run/millrace-bench-before-reboot && systemctl --no-block reboot',
        back: 'test ! -e /run/millrace-bench-before-reboot',
        note: 'kafka-1 reboots and is back with its broker, without `up`',
      },
    ];
    for (const f of brokerFaults.filter((b) => wanted(b.scenario))) {
      const outcome = await produceThrough(dir, config, f.scenario, async () => {
        const t = Date.now();
        await onNode(dir, config, 'kafka-1', f.command);
        return untilServing(dir, config, 'kafka-1', t, f.back);
      });
      outcomes.push({ ...outcome, note: f.note });
    }

    if (wanted('NameNode restart during ingest')) outcomes.push({ ...(await namenodeRestartDuringIngest(dir, config)), note: 'ingest (Structured Streaming) through a NameNode restart; counted in the lake by Spark' });

    // The config the cluster runs now: each step below leaves it at its own.
    let now = config;
    if (wanted('`up` killed mid-change, run again')) {
      outcomes.push(await upKilledMidway(dir, config, changed));
      now = changed;
    }

    // Shape changes while producing: each an `up` from one config to the next; recovery is that whole `up`.
    const shapeChanges: { scenario: string; from: string; to: string; replicationFactor: number; note: string }[] = [
      { scenario: 'broker added (1 → 2)', from: changed, to: scaled, replicationFactor: 1, note: 'the `up` that added kafka-2 (the producer never stopped)' },
      { scenario: 'rolling restart of both brokers', from: scaled, to: scaledChanged, replicationFactor: 2, note: 'replication 2; one broker at a time, each caught up before the next' },
      { scenario: 'broker drained and removed (2 → 1)', from: scaledChanged, to: shrunk, replicationFactor: 1, note: 'kafka-2 drained by reassignment, stopped, removed' },
    ];
    // The shape changes build on one another (1 → 2 → 2 changed → 1): any one asked for runs them all.
    for (const step of shapeChanges.some((c) => wanted(c.scenario)) ? shapeChanges : []) {
      const outcome = await produceThrough(
        dir,
        step.from,
        step.scenario,
        upTo(dir, step.to),
        step.replicationFactor,
        step.to,
      );
      outcomes.push({ ...outcome, note: `${step.note}; recovery: the whole \`up\`` });
      now = step.to;
    }

    // DataNodes, each while ingest writes to the lake: hdfs-2 added, killed, then decommissioned.
    if (['DataNode added (1 → 2) during ingest', 'DataNode SIGKILL during ingest', 'DataNode decommissioned (2 → 1) during ingest'].some(wanted)) {
      outcomes.push(...(await dataNodeScenarios(dir, now)));
    }
  } finally {
    await cliTimed(['down', '--yes', ...c], dir);
  }

  const ref = outcomes[0]!;
  const rows: BenchRow[] = outcomes.flatMap((o) => [
    { metric: `${o.scenario}: acknowledged / found / lost / duplicated`, value: o.found, unit: 'events', note: `${o.acknowledged} / ${o.found} / ${o.acknowledged - Math.min(o.acknowledged, o.found - o.duplicates)} / ${o.duplicates}; ${o.note}` },
    ...(o === ref ? [] : [{ metric: `${o.scenario}: recovery`, value: o.recoverySeconds, unit: 's', note: '' }]),
    { metric: `${o.scenario}: run / no-fault run`, value: o.seconds / ref.seconds, unit: 'ratio', note: `${o.seconds.toFixed(0)} s against ${ref.seconds.toFixed(0)} s` },
  ]);
  return { rows, outcomes };
}

/** `millrace exec <node> -- <command>`; a failure stops the benchmark. */
async function onNode(dir: string, config: string, node: string, command: string): Promise<string> {
  const r = await cliTimed(['--json', '-c', config, 'exec', node, '--', command], dir);
  return (JSON.parse(r.stdout) as { stdout: string }[])[0]?.stdout ?? '';
}

/** Seconds from `since` until the node's broker listens again (and `also` holds), polled each second. */
async function untilServing(dir: string, config: string, node: string, since: number, also = 'true'): Promise<number> {
  const probe = `(${also}) && systemctl is-active --quiet millrace-kafka.service && ss -ltnH 'sport = :9093' | grep -q . && echo serving || echo waiting`;
  for (;;) {
    const r = await cliTimed(['--json', '-c', config, 'exec', node, '--', probe], dir, { allowFailure: true });
    if (r.code === 0 && r.stdout.includes('serving')) return (Date.now() - since) / 1000;
    if (Date.now() - since > 10 * 60_000) throw new Error(`${node}'s broker is not serving ${Math.round((Date.now() - since) / 1000)} s after the fault`);
    await sleep(1000);
  }
}

/** Produces RECORDS synthetic events into a new topic at RATE/s, runs the fault 5 s in, and counts the topic afterwards. */
async function produceThrough(dir: string, config: string, scenario: string, fault: () => Promise<number>, replicationFactor = 1, after = config): Promise<Omit<Outcome, 'note'>> {
  const topic = `bench-fault-${scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${Date.now()}`;
  const c = ['-c', config];
  await cliTimed(['topics', 'create', topic, '--replication-factor', String(replicationFactor), ...c], dir);
  const started = Date.now();
  const producing = cliTimed(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', String(RECORDS), '--rate', String(RATE), '--topic', topic, '--source-name', topic, ...c], dir);
  await sleep(5000);
  const recoverySeconds = await fault();
  const done = JSON.parse((await producing).stdout) as { sent: number };
  const seconds = (Date.now() - started) / 1000;
  // The topic is read from the cluster as it is after the scenario (`after`: its config once a broker was removed).
  const counted = JSON.parse((await cliTimed(['consume', topic, '--verify', '--json', '--spec', SPEC, '-c', after], dir)).stdout) as { messages: number; distinctIds: number; duplicates: number };
  for (const t of [topic, `${topic}.dlq`]) await cliTimed(['topics', 'delete', t, '-c', after], dir, { allowFailure: true });
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

/** Stops the running ingest and starts it again (it resumes from its checkpoint), so it reads the Hadoop client config as it is now. */
async function restartIngest(dir: string, config: string): Promise<void> {
  const jobs = JSON.parse((await cliTimed(['jobs', '--json', '-c', config], dir)).stdout) as { id: string; name: string }[];
  for (const j of jobs.filter((x) => x.name === 'millrace-ingest-flights')) await cliTimed(['jobs', 'kill', j.id, '-c', config], dir);
  await ensureIngest(dir, config);
}

/** The lake's rows of one source, counted by Spark (lake_stats.py). */
async function lakeCount(dir: string, config: string, source: string): Promise<{ events: number; distinct_ids: number; duplicate_ids: number }> {
  const r = await cliTimed(['submit', '-c', config, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('lake_stats.py'), '--', '--id-prefix', `${source}#`], dir);
  const line = r.stdout.split('\n').find((l) => l.startsWith('MILLRACE_RESULT '));
  return line ? (JSON.parse(line.slice('MILLRACE_RESULT '.length)) as { events: number; distinct_ids: number; duplicate_ids: number }) : { events: 0, distinct_ids: 0, duplicate_ids: 0 };
}

/**
 * Ingest runs; `n` flights are produced at 2,000/s; the fault runs 15 s in; the lake is counted
 * (for up to 15 minutes) until every acknowledged event landed. `after`: the config once the fault is over.
 */
async function ingestThrough(dir: string, config: string, scenario: string, fault: () => Promise<number>, after = config, n = 100_000): Promise<Omit<Outcome, 'note'>> {
  const source = `bench-${scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${Date.now()}`;
  await ensureIngest(dir, config);
  const started = Date.now();
  const producing = cliTimed(['produce', '--json', '-c', config, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--limit', String(n), '--rate', '2000', '--source-name', source], dir);
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
async function namenodeRestartDuringIngest(dir: string, config: string): Promise<Omit<Outcome, 'note'>> {
  return ingestThrough(dir, config, 'NameNode restart during ingest', async () => {
    const t = Date.now();
    await onNode(dir, config, 'hdfs-1', 'systemctl restart millrace-hdfs-namenode.service');
    // Serving again: the NameNode answers and has left safemode.
    return until(async () => (await cliTimed(['hdfs', '-c', config, '--', '-test', '-d', '/lake'], dir, { allowFailure: true })).code === 0, t, 'the NameNode serving /lake');
  });
}

/** dfsadmin on hdfs-1, as hdfs. */
const DFSADMIN = "runuser -u hdfs -- java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp '/etc/millrace/hadoop:/opt/millrace/hadoop/current:/opt/millrace/hadoop/current/lib/*' org.apache.hadoop.hdfs.tools.DFSAdmin";

/** Live DataNodes and under-replicated blocks, from `dfsadmin -report` on hdfs-1. */
async function hdfsReport(dir: string, config: string): Promise<{ live: number; underReplicated: number }> {
  const out = await onNode(dir, config, 'hdfs-1', `${DFSADMIN} -report`);
  return { live: Number(/Live datanodes \((\d+)\)/.exec(out)?.[1] ?? -1), underReplicated: Number(/Under replicated blocks: (\d+)/.exec(out)?.[1] ?? -1) };
}

/**
 * hdfs-2, a DataNode of its own, added by `up` while ingest writes; ingest restarted so that it
 * writes 2 replicas; hdfs-2's DataNode killed with SIGKILL while ingest writes (systemd restarts
 * it; the NameNode brings the replicas back); hdfs-2 decommissioned and removed by `up` while
 * ingest writes. `now`: the config the cluster runs; it runs it again at the end.
 */
async function dataNodeScenarios(dir: string, now: string): Promise<Outcome[]> {
  const text = fs.readFileSync(now, 'utf8');
  const hdfs1 = `  - { name: hdfs-1, roles: [namenode, datanode, kms], address: 127.0.0.${FIRST + 2} }\n`;
  if (!text.includes(hdfs1)) throw new Error('localClusterYaml changed: the faults benchmark cannot find hdfs-1 in it');
  const withHdfs2 = writeYaml(path.join(dir, 'faults-hdfs-2.yaml'), text.replace(hdfs1, `${hdfs1}  - { name: hdfs-2, roles: [datanode], address: ${HDFS_2} }\n`));
  const outcomes: Outcome[] = [];
  const added = await ingestThrough(
    dir,
    now,
    'DataNode added (1 → 2) during ingest',
    upTo(dir, withHdfs2),
    withHdfs2,
  );
  outcomes.push({ ...added, note: `the \`up\` that added hdfs-2 (it restarts the Hadoop daemons: dfs.replication 1 → 2); live DataNodes after: ${(await hdfsReport(dir, withHdfs2)).live}` });

  // A running job keeps the Hadoop client config it started with (1 replica): restarted, it writes 2.
  await restartIngest(dir, withHdfs2);
  let restoredAfter = -1;
  const killed = await ingestThrough(dir, withHdfs2, 'DataNode SIGKILL during ingest (2 DataNodes, replication 2)', async () => {
    const t = Date.now();
    await onNode(dir, withHdfs2, 'hdfs-2', 'systemctl kill -s KILL millrace-hdfs-datanode.service');
    await sleep(3000);
    return until(async () => (await hdfsReport(dir, withHdfs2)).live === 2, t, "hdfs-2's DataNode live again");
  });
  const t = Date.now();
  restoredAfter = await until(async () => (await hdfsReport(dir, withHdfs2)).underReplicated === 0, t, 'no under-replicated blocks').catch(() => -1);
  outcomes.push({ ...killed, note: `systemd restarts it (Restart=on-failure); recovery: live again; replication ${restoredAfter >= 0 ? `restored (no under-replicated block) ${restoredAfter.toFixed(0)} s after the count` : 'NOT restored within 10 minutes'}` });

  const removed = await ingestThrough(
    dir,
    withHdfs2,
    'DataNode decommissioned (2 → 1) during ingest',
    upTo(dir, now),
    now,
  );
  outcomes.push({ ...removed, note: `the \`up\` that decommissioned and removed hdfs-2; live DataNodes after: ${(await hdfsReport(dir, now)).live}` });
  return outcomes;
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
    acknowledged: 0,
    found: 0,
    duplicates: 0,
    recoverySeconds,
    seconds: (Date.now() - started) / 1000,
    note: `killed after 20 s; the re-run ${again.code === 0 ? 'exited 0' : `exited ${again.code}`}, ${converged ? 'converged (the override is in place, a third run changes nothing)' : 'DID NOT CONVERGE'}`,
  };
}
