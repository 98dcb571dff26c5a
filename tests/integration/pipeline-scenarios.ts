/**
 * The pipeline's scenarios end to end on the real cluster, as one function a test file calls with
 * the config the cluster runs: 72-pipeline-kerberos, on the kerberized cluster (issue 13: the
 * whole pipeline suite passes there). Every `up` a scenario makes (the demo's, a changed Spark or
 * Kafka setting) starts from that config, so the cluster stays as the file found it.
 *
 * `millrace demo` streams the real flights data and deliberately invalid records through Kafka,
 * Spark and the lake, trains, and scores live; then the KMS and the NameNode are restarted under
 * the demo's running ingest, the ingest job is killed mid-stream and restarted, a Spark setting
 * restarts the worker and the master, the broker is killed, and a broker setting restarts the
 * brokers. Every count is checked by reading the data back (a Spark count of the lake, the
 * topics), not by trusting the demo's own summary. The lake is counted once, at the end, for every
 * batch the run produced (lake_stats.py --by-source): each count is a Spark job of a minute or
 * more that also takes a core from the running ingest. Every id is `<source>#<position>` with a
 * source of the run's own, so a second run on the same lake counts its own rows.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { operatorUsesClientListener, readInventory } from '../../lib/inventory';
import { portNumber } from '../../lib/roles';
import { nodesDir } from '../../targets/local';
import { FlowException, FlowObserver, FlowReport, formatFlowReport } from './flow-observer';
import { BROKER_SIGKILL, cli, CLUSTER, faultMidIngest, FLIGHTS_SPEC as SPEC, ingestCaughtUp, JOB, killJobsNamed, lakeStats, node, REPO, rowsWrittenByIngest, runningIngest, TEST_DIR, SPARK_FS_SHELL, writeConfig } from './harness';

const INVALID = 100;
const SCORED = 2000;

/**
 * Every message value the topic held when this started, each once: `consume --to-end --json` reads
 * to the end offsets, and a message a rebalance delivers twice (same partition and offset) counts once.
 */
async function readToEnd<T>(config: string, topic: string): Promise<T[]> {
  const r = await cli(['consume', topic, '--to-end', '--json', '-c', config], { timeoutMs: 5 * 60_000 });
  if (r.code !== 0) throw new Error(`consume ${topic} --to-end failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  const byOffset = new Map<string, T>();
  for (const l of r.stdout.trim().split('\n').filter(Boolean)) {
    const m = JSON.parse(l) as { partition: number; offset: string; value: T };
    byOffset.set(`${m.partition}@${m.offset}`, m.value);
  }
  return [...byOffset.values()];
}

interface Demo {
  /** The source name of this run's ids: <run>#<position>. */
  run: string;
  events_in: number;
  dlq: number;
  rows_in_lake: number;
  duplicates_in_lake: number;
  model: { version: string; rmse: number; baseline_rmse: number; mae: number; baseline_mae: number; rows_train: number; beats_baseline: boolean };
  predictions: { sent: number; received: number; duplicates: number; sample: Record<string, unknown>[] };
  latency_ms: { produce_to_lake: { p50: number; p99: number }; produce_to_prediction: { p50: number; p99: number } };
}

/**
 * Where no Kafka node has a public address (this cluster), millrace's own clients on the
 * operator's machine use the broker listener, 9093 (lib/inventory.ts operatorUsesClientListener; README "Kafka
 * from outside the cluster network"); the table's operator entry is for 9095, which exists only
 * with a public address. Stated here, derived from the same function the CLI uses, and reported apart.
 */
function operatorExceptions(): FlowException[] {
  const client = portNumber('kafka', 'kafka-client');
  return operatorUsesClientListener(readInventory(CLUSTER).nodes)
    ? [{ from: 'operator', to: 'kafka', port: client, reason: 'no Kafka node has a public address, so the CLI on the operator machine uses 9093 (operatorUsesClientListener)' }]
    : [];
}

export interface PipelineRun {
  /** The config the cluster runs (and stays on): every command of the run uses it. */
  config: string;
  /** How many flight events the demo streams. */
  events: number;
  /** The fewest rows the demo's model must train on: train.py takes 80% of every row the lake holds, of any run. */
  minTrainRows: number;
  /**
   * A kerberized cluster's ticket lifetime: the KMS then restarts under an ingest job older than
   * that, whose executors have re-read their ticket since they started, and no executor may meet a
   * delegation token the restarted KMS forgot (issue 13).
   */
  ticketLifetimeSeconds?: number;
}

/** Seconds since Spark's master accepted the application, on the node's own clock (an app id is app-<yyyyMMddHHmmss>-<n>, in the master's time zone). */
async function applicationAgeSeconds(spark: Awaited<ReturnType<typeof node>>, appId: string): Promise<number> {
  const stamp = /^app-(\d{14})-/.exec(appId)?.[1];
  if (!stamp) throw new Error(`not a Spark application id: ${appId}`);
  const now = (await spark.execOrThrow('date +%Y%m%d%H%M%S')).trim();
  const ms = (t: string): number => Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(8, 10), +t.slice(10, 12), +t.slice(12, 14));
  return (ms(now) - ms(stamp)) / 1000;
}

/** Declares the pipeline's scenarios (describe blocks, in order) for the test file that calls it. */
export function pipelineScenarios({ config, events, minTrainRows, ticketLifetimeSeconds }: PipelineRun): void {
  const name = path.basename(config, path.extname(config));
  let demo: Demo;

  /** Every batch this file produced and had acknowledged in full, by source name: the lake must hold each row once. */
  const batches: { what: string; source: string; rows: number }[] = [];

  // Issue 12's evidence for the flow table: every TCP connection between nodes (and from the
  // operator, this machine) during the whole file, checked against lib/flows.ts at the end.
  const FLOW_REPORT = path.join(TEST_DIR, `${name}.flow-observation.json`);
  let observer: FlowObserver | undefined;
  let flows: (FlowReport & { errors: string[] }) | undefined;

  async function stopObserving(): Promise<FlowReport & { errors: string[] }> {
    if (!flows) {
      flows = await observer!.stop(operatorExceptions());
      observer = undefined;
      fs.writeFileSync(FLOW_REPORT, JSON.stringify(flows, null, 2));
      console.log(`${formatFlowReport(flows)}
  (written to ${FLOW_REPORT})`);
    }
    return flows;
  }

  beforeAll(() => {
    const nodes = readInventory(CLUSTER).nodes.map((n) => ({
      name: n.name,
      roles: n.roles,
      address: n.privateAddress,
      rootfs: path.join(nodesDir(CLUSTER), n.name, 'rootfs'),
      ...(n.id ? { machine: n.id } : {}),
    }));
    observer = new FlowObserver(nodes, 1000);
    observer.start();
  });

  afterAll(async () => {
    if (observer) await stopObserving();
  });

  describe('the pipeline, through `millrace demo`', () => {
    beforeAll(async () => {
      const r = await cli(['demo', '--json', '-c', config, '--spec', SPEC, '--events', String(events), '--invalid', String(INVALID), '--score-events', String(SCORED)], { timeoutMs: 40 * 60_000 });
      if (r.code !== 0) throw new Error(`millrace demo failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
      demo = JSON.parse(r.stdout) as Demo;
      // Where the demo's time went, in CI's log: its step lines carry the seconds since it started.
      console.log(`demo steps (${r.seconds.toFixed(0)} s):\n${r.stderr.split('\n').filter((l) => l.startsWith('== demo')).join('\n')}`);
      // About 13 minutes here; the default 15 would fail a slower run of a passing demo.
    }, 30 * 60_000);

    // The demo leaves its real-time score job running: a core per partition, and a lake query
    // every 2 s. Nothing after this block scores, and on 2 cores its polling would slow every
    // scenario below and the counts at the end.
    afterAll(() => killJobsNamed('millrace-score-flights', config), 5 * 60_000);

    it(`streams ${events.toLocaleString()} flight events, every one acknowledged (the lake's count of them is at the end of this file)`, () => {
      expect(demo.events_in).toBe(events);
      batches.push({ what: 'the demo', source: demo.run, rows: events });
    });

    it(`sends the ${INVALID} invalid records to the DLQ, each with its reason`, async () => {
      expect(demo.dlq).toBe(INVALID);
      const records = await readToEnd<{ reason: string; payload: unknown; source: string }>(config, 'flights.dlq');
      const mine = records.filter((d) => d.source === `${demo.run}-invalid`);
      expect(mine).toHaveLength(INVALID);
      for (const d of mine) expect(d.reason).toMatch(/\S/);
      expect(new Set(mine.map((d) => d.reason.split(':')[0])).size).toBeGreaterThanOrEqual(3);
    });

    it(`trains on at least ${minTrainRows.toLocaleString()} rows, beats the mean-predictor baseline by 10% or more, and keeps model and metrics in HDFS under a version`, async () => {
      expect(demo.model.rows_train).toBeGreaterThanOrEqual(minTrainRows);
      expect(demo.model.beats_baseline).toBe(true);
      // Issue 16: the flights spec's model (gbt, with the recent delays at both airports) is at least
      // 10% under the mean's RMSE on the held-out rows.
      console.log(`demo model: rmse ${demo.model.rmse}, baseline ${demo.model.baseline_rmse}: ${(100 * (1 - demo.model.rmse / demo.model.baseline_rmse)).toFixed(1)}% under it`);
      expect(demo.model.rmse).toBeLessThanOrEqual(0.9 * demo.model.baseline_rmse);
      const spark = await node('spark-1');
      try {
        const v = demo.model.version;
        expect(v).toMatch(/^v\d{8}T\d{6}Z$/);
        await spark.execOrThrow(`${SPARK_FS_SHELL} -test -e /lake/flights/models/${v}/metrics.json && ${SPARK_FS_SHELL} -test -d /lake/flights/models/${v}/model`);
        expect((await spark.execOrThrow(`${SPARK_FS_SHELL} -cat /lake/flights/models/latest`)).trim()).toBe(v);
      } finally {
        await spark.close();
      }
    });

    it(`scores exactly one prediction per event of a produced batch of ${SCORED}`, async () => {
      expect(demo.predictions.received).toBe(SCORED);
      expect(demo.predictions.duplicates).toBe(0);
      // Every prediction the topic holds, tallied by the CLI: no id twice, anywhere.
      const verify = await cli(['consume', 'flights.predictions', '--verify', '--json', '--spec', SPEC, '-c', config]);
      expect(`exit ${verify.code} ${verify.stderr.slice(-2000)}`).toBe('exit 0 ');
      const report = JSON.parse(verify.stdout) as { messages: number; distinctIds: number; duplicates: number; invalidJson: number; missingId: number };
      expect(report).toEqual(expect.objectContaining({ duplicates: 0, invalidJson: 0, missingId: 0, distinctIds: report.messages }));
      // And this batch's ids, read back one by one: each of the ${SCORED} events scored exactly once.
      const batch = (await readToEnd<{ event_id?: unknown }>(config, 'flights.predictions')).map((p) => String(p.event_id)).filter((id) => id.startsWith(`${demo.run}-score#`));
      expect(batch).toHaveLength(SCORED);
      expect(new Set(batch).size).toBe(SCORED);
      expect(demo.latency_ms.produce_to_prediction.p50).toBeGreaterThan(0);
    });
  });

  // First after the demo: its ingest job has run for minutes by then (on a kerberized cluster, past
  // many tickets), where the restarted job of the scenario after it would be a minute old.
  describe('the KMS and the NameNode restarted during ingest (issues 13 and 14)', () => {
    it(`the running ingest job rides through it: it writes every row, and it is the same job afterwards (each row once: the count at the end)${ticketLifetimeSeconds ? '; older than a ticket, it meets no delegation token the restarted KMS forgot' : ''}`, async () => {
      // 40 s of producing (20,000 at 500/s): ingest must still be writing new files when the KMS
      // goes down, or the driver has nothing to ask it (a faster batch landed whole before the fault).
      // In CI's run of a0a7909 the KMS went down 4 s after ingest's first write of the batch, for 15 s.
      const batch = 20_000;
      const source = `itest-nn-${Date.now().toString(36)}`;
      const ingest = await runningIngest(config);
      expect(ingest?.workDir).toBeDefined();
      const log = `${ingest!.workDir}/driver.log`;
      const spark = await node('spark-1');
      const hdfs = await node('hdfs-1');
      try {
        // Every file ingest makes in the lake needs the KMS twice: the NameNode asks it for the
        // file's encrypted key (from a cache it refills ahead), the writer to decrypt that key. Mid-
        // stream, the KMS goes down, then the NameNode restarts while the KMS starts again, as an
        // `up` that changes the Hadoop config restarts both.
        // The driver writes the query's offset and commit files, its executor the lake's files, and
        // either may wait on the NameNode, whose own KMS call is what fails when its cache is empty:
        // the outage is felt by whichever called the KMS then. An executor logs to its stdout, not its
        // stderr: reading only stderr (and driver.log) missed every executor's failed call, and the
        // test failed whenever the driver began no file while the KMS was down (CI at stop 33; a
        // rehearsal on 2026-12-04 with the KMS down 90 s). The NameNode's journal is counted too.
        const since = (await hdfs.execOrThrow('date +%s')).trim();
        const ingestRetryLines = async (): Promise<number> =>
          Number((await spark.exec(`cat ${log} /var/lib/millrace/spark/work/${ingest!.id}/*/stdout /var/lib/millrace/spark/work/${ingest!.id}/*/stderr 2>/dev/null | grep -c 'KMS provider at' || true`)).stdout.trim());
        const nameNodeRetryLines = async (): Promise<number> =>
          Number((await hdfs.exec(`journalctl -u millrace-hdfs-namenode.service --since @${since} --no-pager | grep -c 'KMS provider at' || true`)).stdout.trim());
        const ingestBefore = await ingestRetryLines();
        // Issue 13: the KMS forgets the delegation tokens it issued when it restarts, and executors
        // that held one failed their next file. Their lines, in the driver's and executors' logs.
        const forgottenTokenLines = async (): Promise<number> =>
          Number((await spark.exec(`cat ${log} /var/lib/millrace/spark/work/${ingest!.id}/*/std* 2>/dev/null | grep -c "can't be found in cache" || true`)).stdout.trim());
        const ageAtFault = ticketLifetimeSeconds ? await applicationAgeSeconds(spark, ingest!.id) : 0;
        const felt = async (): Promise<{ ingest: number; namenode: number }> => ({ ingest: (await ingestRetryLines()) - ingestBefore, namenode: await nameNodeRetryLines() });
        let downSeconds = 0;
        let rowsWhileDown = 0;
        const { faultAfterSeconds, written } = await faultMidIngest(spark, log, { source, batch, skip: 2_000_000, rate: 500 }, async () => {
          await hdfs.execOrThrow('systemctl stop millrace-hadoop-kms.service');
          const down = Date.now();
          const rowsAtStop = await rowsWrittenByIngest(spark, log);
          try {
            // Down at least 15 s, and until a KMS call has failed (at most 90 s): the client's
            // retries (40, backing off to 10 s) outlast that.
            for (;;) {
              const f = await felt();
              if (Date.now() - down >= 90_000 || (Date.now() - down >= 15_000 && f.ingest + f.namenode > 0)) break;
              await new Promise((r) => setTimeout(r, 1000));
            }
          } finally {
            downSeconds = (Date.now() - down) / 1000;
            rowsWhileDown = (await rowsWrittenByIngest(spark, log).catch(() => rowsAtStop)) - rowsAtStop;
            await hdfs.execOrThrow('systemctl restart millrace-hdfs-namenode.service; nn=$?; systemctl start millrace-hadoop-kms.service && exit $nn');
          }
        });
        const f = await felt();
        const what = `the KMS down ${downSeconds.toFixed(0)} s from ${faultAfterSeconds.toFixed(0)} s after ingest's first write of ${source}; failed KMS calls logged by ingest (driver and executor) ${f.ingest}, by the NameNode ${f.namenode}; ingest wrote ${rowsWhileDown} rows while it was down and ${written} in all`;
        if (f.ingest + f.namenode <= 0) throw new Error(`the outage was not felt: ${what}`);
        console.log(`${what}; then the NameNode restarted${ticketLifetimeSeconds ? `; the job was ${ageAtFault.toFixed(0)} s old (tickets of ${ticketLifetimeSeconds} s), ${await forgottenTokenLines()} lines of a forgotten delegation token` : ''}`);
        expect(written).toBeGreaterThanOrEqual(batch);
        if (ticketLifetimeSeconds) {
          expect(ageAtFault).toBeGreaterThan(ticketLifetimeSeconds);
          expect(await forgottenTokenLines()).toBe(0);
        }
      } finally {
        await spark.close();
        await hdfs.close();
      }
      // The same application: it did not die and was not restarted by anyone.
      const after = await runningIngest(config);
      expect(after).toEqual(expect.objectContaining({ id: ingest!.id, state: 'RUNNING' }));
      batches.push({ what: 'KMS down, NameNode restarted', source, rows: batch });
    });
  });

  describe('ingest restarted mid-stream', () => {
    it('the restarted job resumes from its checkpoint and writes the rest of the stream (each row once: the count at the end)', async () => {
      const batch = 60_000;
      const source = `itest-restart-${Date.now().toString(36)}`;
      let produced = false;
      const producing = cli(['produce', '--json', '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--skip', '2500000', '--limit', String(batch), '--rate', '1000', '--source-name', source, '-c', config]).finally(() => (produced = true));
      // Mid-stream: as soon as ingest has written a batch with rows of this run, while the producer
      // is still sending. The driver's progress lines say so within seconds (a lake count would not).
      const jobs = JSON.parse((await cli(['jobs', '--json', '-c', config])).stdout) as { id: string; name: string; workDir?: string }[];
      const ingest = jobs.find((j) => j.name === 'millrace-ingest-flights');
      expect(ingest?.workDir).toBeDefined();
      const spark = await node('spark-1');
      const writtenBatches = async (): Promise<number> =>
        Number((await spark.exec(`grep '"batch":' ${ingest!.workDir}/driver.log | grep '"query": "events"' | grep -vc '"output_rows": 0,' || true`)).stdout.trim());
      const already = await writtenBatches();
      const start = Date.now();
      while ((await writtenBatches()) === already && Date.now() - start < 120_000) await new Promise((r) => setTimeout(r, 1000));
      // It really is mid-stream: ingest has written rows of this run (nothing else produces now),
      // and the producer has not sent them all.
      expect(await writtenBatches()).toBeGreaterThan(already);
      expect(produced).toBe(false);
      const killed = await cli(['jobs', 'kill', ingest!.id, '-c', config]);
      expect(killed.code).toBe(0);
      await spark.close();
      // Restarted while the producer still sends: it resumes from its checkpoint, past the rows the
      // killed run committed, and goes on with the stream.
      const restarted = await cli(['submit', '--detach', '--json', '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '-c', config, '--', '--trigger-seconds', '2']);
      expect(restarted.code).toBe(0);
      const done = await producing;
      expect(done.code).toBe(0);
      expect((JSON.parse(done.stdout) as { sent: number }).sent).toBe(batch);
      const { log } = JSON.parse(restarted.stdout) as { log: string };
      // Waiting is read from the restarted job's own progress lines (cheap, an SSH command): it has
      // caught up once it has written rows and then none for 12 s (its trigger is 2 s). The verdict
      // is Spark's count of the lake, one job for this run's rows and the whole lake's duplicates.
      const host = await node('spark-1');
      try {
        await ingestCaughtUp(host, log);
      } finally {
        await host.close();
      }
      batches.push({ what: 'ingest killed and resubmitted', source, rows: batch });
    });
  });

  describe('a Spark daemon setting changed by `up` during ingest (issue 14)', () => {
    it("`up` decommissions and restarts spark-1's worker, then restarts the master, which recovers the running ingest from disk; the job gets an executor again and writes every row (each row once: the count at the end)", async () => {
      const batch = 20_000;
      const source = `itest-spark-change-${Date.now().toString(36)}`;
      const ingest = await runningIngest(config);
      expect(ingest?.workDir).toBeDefined();
      // A key the daemons read (not an application's spark.millrace.*): the master and the worker restart.
      const changed = writeConfig(path.join(TEST_DIR, `${name}.spark-change.yaml`), `${fs.readFileSync(config, 'utf8')}spark:\n  overrides:\n    spark.deploy.retainedApplications: 201\n`);
      const spark = await node('spark-1');
      const executors = async (): Promise<string> => (await spark.exec(`pgrep -f -- 'CoarseGrainedExecutorBackend.*--app-id ${ingest!.id}( |$)' || true`)).stdout.trim();
      let changedAfter = 0;
      let written = 0;
      let restarted: string[] = [];
      let executorBack = 0;
      try {
        ({ faultAfterSeconds: changedAfter, written } = await faultMidIngest(spark, `${ingest!.workDir}/driver.log`, { source, batch, skip: 2_200_000 }, async () => {
          const up = await cli(['up', '--json', '-c', changed]);
          if (up.code !== 0) throw new Error(`the up with the Spark change failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
          restarted = (JSON.parse(up.stdout) as { nodes: { node: string; restarted: string[] }[] }).nodes.find((n) => n.node === 'spark-1')?.restarted ?? [];
          // The application is listed RUNNING either way: what it needs is an executor process.
          const t = Date.now();
          while (!(await executors())) {
            if (Date.now() - t > 90_000) throw new Error(`ingest ${ingest!.id} has had no executor on spark-1 for 90 s after the up that restarted ${restarted.join(', ')} there (the master lists it ${(await runningIngest(config))?.state})`);
            await new Promise((r) => setTimeout(r, 2000));
          }
          executorBack = (Date.now() - t) / 1000;
        }));
        // The worker was decommissioned before its restart (the master took its executors from the
        // applications, and launched none on it), and the master came back through its recovery
        // (spark.deploy.recoveryMode), not as a new one.
        const masterLog = (pattern: string): Promise<string> => spark.execOrThrow(`journalctl -u millrace-spark-master.service --since "-10min" --no-pager | grep -c "${pattern}" || true`);
        expect(await masterLog('Decommissioning worker')).not.toMatch(/^0\s*$/);
        expect(await masterLog('Recovery complete')).not.toMatch(/^0\s*$/);
      } finally {
        await spark.close();
      }
      expect([...restarted].sort()).toEqual(['spark-master', 'spark-worker']);
      expect(await runningIngest(config)).toEqual(expect.objectContaining({ id: ingest!.id, state: 'RUNNING' }));
      expect(written).toBeGreaterThanOrEqual(batch);
      batches.push({ what: 'Spark daemons restarted', source, rows: batch });
      console.log(`a Spark daemon setting changed ${changedAfter.toFixed(0)} s after ingest first wrote this run's rows; \`up\` restarted on spark-1: ${restarted.join(' then ')}; an executor of the same application ${executorBack ? `${executorBack.toFixed(0)} s after the up` : 'at once'}; the same job wrote ${written} rows of ${batch}`);
    });
  });

  describe('the broker killed with SIGKILL during produce and ingest (issue 14)', () => {
    it('systemd restarts it; the producer re-sends idempotently, and the running ingest job rides through: the same job writes every row (each row once: the count at the end)', async () => {
      // This cluster has one broker now (58 took kafka-2 away): while it is down, neither the
      // producer nor Spark's Kafka source has another to turn to.
      const batch = 20_000;
      const source = `itest-broker-kill-${Date.now().toString(36)}`;
      const ingest = await runningIngest(config);
      expect(ingest?.workDir).toBeDefined();
      const log = `${ingest!.workDir}/driver.log`;
      const spark = await node('spark-1');
      const kafka = await node('kafka-1');
      try {
        const restarts = async (): Promise<number> => Number(/NRestarts=(\d+)/.exec(await kafka.execOrThrow('systemctl show -p NRestarts millrace-kafka.service'))?.[1]);
        const before = await restarts();
        // No clean shutdown: the JVM dies at once, and systemd (Restart=on-failure) starts it again 5 s later.
        const { faultAfterSeconds, written } = await faultMidIngest(spark, log, { source, batch, skip: 2_400_000 }, async () => {
          await kafka.execOrThrow(BROKER_SIGKILL);
        });
        expect(await restarts()).toBe(before + 1);
        console.log(`broker SIGKILL ${faultAfterSeconds.toFixed(0)} s after ingest's first write of ${source}; ingest wrote ${written} rows in all`);
        expect(written).toBeGreaterThanOrEqual(batch);
      } finally {
        await spark.close();
        await kafka.close();
      }
      // The same application: it did not die and was not restarted by anyone.
      const after = await runningIngest(config);
      expect(after).toEqual(expect.objectContaining({ id: ingest!.id, state: 'RUNNING' }));
      batches.push({ what: 'broker SIGKILL', source, rows: batch });
    });
  });

  describe('a broker config change by `up` during produce and ingest: the rolling restart of every broker (issue 14)', () => {
    it('`up` restarts the broker (the only one now) and waits for it to catch up; the producer finishes and the same ingest job writes every row (each row once: the count at the end)', async () => {
      const batch = 20_000;
      const source = `itest-broker-roll-${Date.now().toString(36)}`;
      const ingest = await runningIngest(config);
      expect(ingest?.workDir).toBeDefined();
      // Kept: the Spark setting of the test before, so that only the brokers restart. The next file's
      // base-config `up` puts both back.
      const changed = writeConfig(path.join(TEST_DIR, `${name}.kafka-change.yaml`), `${fs.readFileSync(config, 'utf8')}spark:\n  overrides:\n    spark.deploy.retainedApplications: 201\nkafka:\n  overrides:\n    log.retention.hours: 73\n`);
      const spark = await node('spark-1');
      let restarted: Record<string, string[]> = {};
      try {
        const { faultAfterSeconds, written } = await faultMidIngest(spark, `${ingest!.workDir}/driver.log`, { source, batch, skip: 2_600_000 }, async () => {
          const up = await cli(['up', '--json', '-c', changed]);
          if (up.code !== 0) throw new Error(`the up with the broker change failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
          restarted = Object.fromEntries((JSON.parse(up.stdout) as { nodes: { node: string; restarted: string[] }[] }).nodes.map((n) => [n.node, n.restarted]));
        });
        console.log(`a broker setting changed by up ${faultAfterSeconds.toFixed(0)} s after ingest's first write of ${source}; restarted: ${JSON.stringify(restarted)}; ingest wrote ${written} rows in all`);
        expect(written).toBeGreaterThanOrEqual(batch);
      } finally {
        await spark.close();
      }
      expect(restarted).toEqual({ 'kafka-1': ['kafka'], 'spark-1': [], 'hdfs-1': [] });
      expect(await runningIngest(config)).toEqual(expect.objectContaining({ id: ingest!.id, state: 'RUNNING' }));
      batches.push({ what: 'brokers restarted by a config change', source, rows: batch });
    });
  });

  describe("every batch of this file in the lake, counted by Spark in one job", () => {
    let counts: Awaited<ReturnType<typeof lakeStats>>;
    const short = (): string[] => batches.filter((b) => (counts.sources?.[b.source]?.events ?? 0) < b.rows).map((b) => b.source);
    /** `consume --verify` of the whole topic, which nothing produces to any more: it reads Kafka while Spark counts the lake. */
    let verifying: ReturnType<typeof cli>;

    beforeAll(async () => {
      verifying = cli(['consume', 'flights', '--verify', '--json', '--spec', SPEC, '-c', config], { timeoutMs: 10 * 60_000 });
      // Its test reports a failure; until then it must not count as unhandled.
      verifying.catch(() => undefined);
      counts = await lakeStats(`${demo.run}#`, { lakeTotals: true, bySource: true });
      // Should ingest's progress lines have run ahead of the commit, the lake gets a little longer.
      for (let i = 0; i < 2 && short().length > 0; i++) {
        await new Promise((r) => setTimeout(r, 15_000));
        counts = await lakeStats(`${demo.run}#`, { lakeTotals: true, bySource: true });
      }
      console.log(`lake counted once by Spark: ${batches.map((b) => `${b.what} ${(counts.sources?.[b.source]?.events ?? 0).toLocaleString()} of ${b.rows.toLocaleString()} (${counts.sources?.[b.source]?.duplicate_ids ?? '?'} duplicated)`).join('; ')}; whole lake ${counts.lake?.events.toLocaleString()} rows, ${counts.lake?.duplicate_ids} ids twice`);
    }, 15 * 60_000);

    it(`the demo's ${events.toLocaleString()} flight events, each exactly once`, () => {
      expect(counts).toEqual(expect.objectContaining({ events, distinct_ids: events, duplicate_ids: 0 }));
    });

    it('each fault scenario\'s batch, every row exactly once: ingest killed and resubmitted, KMS and NameNode, Spark daemons restarted by a config change, the broker killed, the brokers restarted by a config change', () => {
      const got = Object.fromEntries(batches.map((b) => [b.what, counts.sources?.[b.source]]));
      const want = Object.fromEntries(batches.map((b) => [b.what, { events: b.rows, distinct_ids: b.rows, duplicate_ids: 0 }]));
      expect(batches.map((b) => b.what)).toEqual(['the demo', 'KMS down, NameNode restarted', 'ingest killed and resubmitted', 'Spark daemons restarted', 'broker SIGKILL', 'brokers restarted by a config change']);
      expect(got).toEqual(want);
    });

    it('no id twice anywhere in the lake, which holds at least every batch above', () => {
      expect(counts.lake?.duplicate_ids).toBe(0);
      expect(counts.lake?.events).toBeGreaterThanOrEqual(batches.reduce((n, b) => n + b.rows, 0));
    });
    // Issue 15: `millrace sql` answers what `consume --verify` knows of the topic. Every event the
    // topic holds went through ingest into the lake, once; the lake holds nothing else.
    it('`millrace sql` counts the lake: as many rows and distinct ids as `consume --verify` counts messages and ids in the topic, and as lake_stats counts', async () => {
      const verify = await verifying;
      expect({ code: verify.code, stderr: verify.code === 0 ? '' : verify.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
      const topic = JSON.parse(verify.stdout) as { messages: number; distinctIds: number; duplicates: number; invalidJson: number };
      // The two queries at once: each is a Spark application of its own, and most of each is its start.
      const [sql, bad] = await Promise.all([
        cli(['sql', '--json', '--spec', SPEC, '-c', config, 'SELECT count(*) AS events, count(DISTINCT event_id) AS ids FROM events;'], { timeoutMs: 8 * 60_000 }),
        cli(['sql', '--spec', SPEC, '-c', config, 'SELECT * FROM quality'], { timeoutMs: 8 * 60_000 }),
      ]);
      expect({ code: sql.code, stderr: sql.code === 0 ? '' : sql.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
      const r = JSON.parse(sql.stdout) as { columns: { name: string; type: string }[]; rows: [number, number][]; tables: Record<string, string> };
      console.log(`consume --verify: ${topic.messages.toLocaleString()} messages, ${topic.distinctIds.toLocaleString()} ids (${verify.seconds.toFixed(0)} s); millrace sql: ${JSON.stringify(r.rows)} (${sql.seconds.toFixed(0)} s), tables ${Object.keys(r.tables).join(', ')}`);
      expect(r.columns).toEqual([
        { name: 'events', type: 'bigint' },
        { name: 'ids', type: 'bigint' },
      ]);
      expect(topic).toMatchObject({ duplicates: 0, invalidJson: 0 });
      expect(topic.messages).toBeGreaterThanOrEqual(batches.reduce((n, b) => n + b.rows, 0));
      expect(r.rows).toEqual([[topic.messages, topic.distinctIds]]);
      expect(r.rows[0]![0]).toBe(counts.lake?.events);
      // A table with no data is not there, and a bad query exits 2 with Spark's reason and the tables there are.
      expect({ code: bad.code, stderr: bad.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(/quality.*cannot be found[\s\S]*the lake's tables for flights: events/) });
    }, 20 * 60_000);
  });

  describe('the flow table, against the connections observed during this file (issue 12)', () => {
    it('every connection between nodes, and from the operator, is one the flow table allows', async () => {
      const r = await stopObserving();
      expect(r.errors).toEqual([]);
      // The observation is real: it saw the pipeline's own flows (Spark to Kafka, to HDFS, to the KMS).
      expect(r.samples).toBeGreaterThan(60);
      const seen = (from: string, to: string, port: number): boolean => r.observed.some((o) => o.from === from && o.to === to && o.port === port);
      expect({ sparkToKafka: seen('spark-1', 'kafka-1', 9093), sparkToNameNode: seen('spark-1', 'hdfs-1', 8020), sparkToKms: seen('spark-1', 'hdfs-1', 9600), operatorSsh: seen('operator', 'spark-1', 22) }).toEqual({
        sparkToKafka: true,
        sparkToNameNode: true,
        sparkToKms: true,
        operatorSsh: true,
      });
      expect(r.disallowed.map((o) => `${o.from} → ${o.to}:${o.port} (${o.portName}) ×${o.connections} by ${o.processes.join(', ') || 'no known process'}`)).toEqual([]);
    });
  });
}
