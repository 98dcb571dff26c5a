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
 * and removed while producing.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { BenchRow, benchEnv, benchWorkdir, cliTimed, localClusterYaml, REPO, Timed, writeYaml } from './common';

const NAME = 'benchfault';
const FIRST = 47;
const KAFKA_2 = '127.0.0.50';
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

    if (wanted('`up` killed mid-change, run again')) outcomes.push(await upKilledMidway(dir, config, changed));

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
        async () => {
          const t = Date.now();
          await cliTimed(['up', '-c', step.to], dir);
          return (Date.now() - t) / 1000;
        },
        step.replicationFactor,
        step.to,
      );
      outcomes.push({ ...outcome, note: `${step.note}; recovery: the whole \`up\`` });
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

/** Ingest runs; 100,000 flights are produced; the NameNode restarts in the middle; the lake is counted once all landed. */
async function namenodeRestartDuringIngest(dir: string, config: string): Promise<Omit<Outcome, 'note'>> {
  const c = ['-c', config];
  const n = 100_000;
  const source = `bench-nn-${Date.now()}`;
  await cliTimed(['topics', 'create', 'flights', ...c], dir, { allowFailure: true });
  await cliTimed(['submit', '--detach', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '--', '--trigger-seconds', '2'], dir);
  await sleep(30_000);
  const started = Date.now();
  const producing = cliTimed(['produce', '--json', ...c, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--limit', String(n), '--rate', '2000', '--source-name', source], dir);
  await sleep(15_000);
  const t = Date.now();
  await onNode(dir, config, 'hdfs-1', 'systemctl restart millrace-hdfs-namenode.service');
  // Serving again: the NameNode answers and has left safemode.
  let recoverySeconds = 0;
  for (;;) {
    const r = await cliTimed(['hdfs', ...c, '--', '-test', '-d', '/lake'], dir, { allowFailure: true });
    if (r.code === 0) {
      recoverySeconds = (Date.now() - t) / 1000;
      break;
    }
    if (Date.now() - t > 10 * 60_000) throw new Error('the NameNode did not serve /lake within 10 minutes of its restart');
    await sleep(2000);
  }
  const done = JSON.parse((await producing).stdout) as { sent: number };
  let stats = { events: 0, distinct_ids: 0, duplicate_ids: 0 };
  for (const deadline = Date.now() + 15 * 60_000; Date.now() < deadline; await sleep(10_000)) {
    const r = await cliTimed(['submit', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('lake_stats.py'), '--', '--id-prefix', `${source}#`], dir);
    const line = r.stdout.split('\n').find((l) => l.startsWith('MILLRACE_RESULT '));
    if (line) stats = JSON.parse(line.slice('MILLRACE_RESULT '.length)) as typeof stats;
    if (stats.events >= done.sent) break;
  }
  return { scenario: 'NameNode restart during ingest', acknowledged: done.sent, found: stats.events, duplicates: stats.duplicate_ids, recoverySeconds, seconds: (Date.now() - started) / 1000 };
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
