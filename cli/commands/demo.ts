/**
 * `millrace demo`: from nothing to live predictions, for any pipeline spec and source (the flights
 * data by default). Brings the cluster up, creates the topics, starts streaming ingest, streams the
 * source (plus deliberately invalid records made from the spec), trains on what landed, starts
 * scoring, sends a fresh batch through it, and prints what happened.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { assetPath } from '../../lib/assets';
import { MillraceError, TimeoutError, UsageError } from '../../lib/errors';
import { loadPipelineSpec, PipelineSpec } from '../../lib/pipeline-spec';
import { sleep } from '../../lib/retry';
import { createKafkaClient } from '../../producers/kafka-client';
import type { ReceivedMessage } from '../../producers/kafka-types';
import { HEADER_PRODUCED_AT } from '../../producers/validate';
import { parseProgressLines, parseResultLine, progressLinesCommand, Steps } from '../demo/steps';
import { formatDemo, invalidRecords, percentiles, slowestSeconds } from '../demo/summary';
import { nodesWithRole } from '../../lib/config';
import { configFor, globals, output } from '../context';
import { kafkaConnectionFor } from '../kafka-connection';

interface DemoOptions {
  spec: string;
  rate: string;
  events: string;
  invalid: string;
  scoreEvents: string;
  scoreRate: string;
  source: string;
}

/**
 * How often real-time scoring checkpoints its progress: not a latency (records go through as they
 * come) but a pause of about 2 s on this project's machine while the next long batch starts, so
 * rarely (Spark's default), at the price of up to 5 minutes of predictions sent again after a
 * failure (the Kafka sink is at-least-once).
 */
export const SCORE_CHECKPOINT_SECONDS = 300;

/** How long the measured scoring waits for the warm-up's predictions before it starts anyway. */
const WARMUP_WAIT_MS = 120_000;

/**
 * Events sent through a newly started scoring job before the batch whose latency is measured: the
 * executor's first seconds (class loading, the JIT) took 2-4 s an event here.
 */
export const SCORE_WARMUP_EVENTS = 10_000;

interface SparkApp {
  id: string;
  name: string;
  /** The driver's working directory on the spark-master's node, for an application millrace started. */
  workDir?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('from nothing to live predictions: cluster, topics, ingest, a source of events (the flights data by default), training, scoring, and a summary')
    .option('--spec <pipeline.yaml>', 'pipeline spec', assetPath('examples/pipelines/flights.yaml'))
    .option('--source <source>', 'what to stream (see `millrace produce --source`); needed with a --spec other than flights', 'vega:flights-3m.parquet')
    .option('--events <n>', 'how many events to stream into the lake', '200000')
    .option('--rate <n|max>', 'events per second to stream them at', 'max')
    .option('--invalid <n>', 'deliberately invalid records to send along (they go to the DLQ)', '100')
    .option('--score-events <n>', 'events sent through scoring once the model is live', '5000')
    .option('--score-rate <n>', 'events per second to send them at, while ingest runs', '1000')
    .addHelpText('after', '\nAny spec with a model section works, e.g.\n  millrace demo --spec examples/pipelines/birdstrikes.yaml --source vega:birdstrikes.csv --events 10000\nThe cluster, ingest and scoring keep running afterwards; `millrace down` stops everything.\n--json prints the summary as one JSON object.')
    .action(async function (this: Command, opts: DemoOptions) {
      const config = configFor(this);
      const json = !!globals(this).json;
      const configFile = path.resolve(globals(this).config);
      const spec = loadPipelineSpec(path.resolve(opts.spec));
      const label = spec.model?.label;
      if (label === undefined) throw new UsageError(`${opts.spec} has no model section: the demo trains a model and scores with it`, { hint: 'add model: { label: <a field>, features: [...] } to the spec (see examples/pipelines/flights.yaml)' });
      if (spec.name !== 'flights' && this.getOptionValueSource('source') === 'default')
        throw new UsageError(`the default --source is the flights data, and the spec ${opts.spec} is for "${spec.name}"`, { hint: 'name its data with --source, e.g. --source data.csv (see `millrace produce --help`)' });
      const n = positive('--events', opts.events);
      const invalid = Number(opts.invalid);
      const scoreN = positive('--score-events', opts.scoreEvents);
      positive('--score-rate', opts.scoreRate);
      const started = Date.now();
      const say = (line: string): void => void process.stderr.write(`\n== demo [${Math.round((Date.now() - started) / 1000)}s]: ${line}\n`);
      const steps = new Steps(configFile, say, json ? undefined : process.stderr);
      const run = `demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;

      await steps.run(`bring the ${config.target} cluster up`, ['up', '--yes']);
      await steps.run(`create topics ${spec.topic} (+ .dlq) and ${spec.predictionsTopic}`, ['topics', 'create', spec.topic]);
      await steps.run('', ['topics', 'create', spec.predictionsTopic, '--no-dlq']);
      const master = nodesWithRole(config, 'spark-master')[0]?.name ?? 'spark-master';
      const ingest = await ensureStreaming(steps, spec, opts.spec, master, 'ingest', ['--trigger-seconds', '2']);

      // The ingest's progress lines so far: the rows it reads after them are this run's (and any other producer's).
      const linesBeforeProduce = ingest ? (await eventsProgress(steps, ingest).catch(() => [])).length : 0;
      const produced = await steps.json<{ sent: number; dlq: number }>(`stream ${n.toLocaleString()} events from ${opts.source}`, [
        'produce', '--spec', opts.spec, '--source', opts.source, '--limit', String(n), '--rate', opts.rate, '--source-name', run,
      ]);
      let dlq = produced.dlq;
      if (invalid > 0) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-demo-'));
        try {
          const file = path.join(dir, 'invalid.jsonl');
          fs.writeFileSync(file, invalidRecords(spec, invalid).join('\n') + '\n');
          const bad = await steps.json<{ dlq: number }>(`send ${invalid} invalid records`, ['produce', '--spec', opts.spec, '--source', file, '--source-name', `${run}-invalid`]);
          dlq += bad.dlq;
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }

      const landed = await waitForLake(steps, opts.spec, `${run}#`, produced.sent, ingest, linesBeforeProduce);
      const trained = parseResultLine(
        (await steps.run('train on what landed', ['submit', '--spec', opts.spec, '--conf', 'spark.cores.max=2', '--conf', 'spark.executor.memory=2g', assetPath('spark-jobs/train.py')])).stdout,
      );
      if (!trained) throw new MillraceError('train printed no result line', { hint: 'run `millrace submit spark-jobs/train.py --spec ...` to see its output' });

      // Real-time scoring: one long-running task per partition of the topic, and one core for the
      // lake's copy of the predictions (micro-batches).
      const partitions = (await steps.json<{ partitions: unknown[] }>('', ['topics', 'describe', spec.topic])).partitions.length;
      const score = await ensureStreaming(steps, spec, opts.spec, master, 'score', ['--trigger-seconds', '2', '--real-time', String(SCORE_CHECKPOINT_SECONDS)], partitions + 1);
      const warmup = score?.started ? { source: `${run}-warmup`, count: SCORE_WARMUP_EVENTS } : undefined;
      const predictions = await scoreBatch(steps, warmup, config, spec, opts, `${run}-score`, scoreN, n);
      const summary = {
        cluster: config.name,
        spec: { name: spec.name, id: spec.id, label },
        run,
        events_in: produced.sent,
        dlq,
        rows_in_lake: landed.events,
        duplicates_in_lake: landed.duplicate_ids,
        model: {
          version: trained.version,
          metric: 'rmse',
          rmse: trained.rmse,
          baseline_rmse: trained.baseline_rmse,
          mae: trained.mae,
          baseline_mae: trained.baseline_mae,
          rows_train: trained.rows_train,
          rows_test: trained.rows_test,
          beats_baseline: trained.beats_baseline,
        },
        predictions: { sent: predictions.sent, received: predictions.received.length, duplicates: predictions.duplicates, rate: Number(opts.scoreRate), ...(warmup ? { warmup: warmup.count } : {}), sample: predictions.received.slice(0, 5).map((m) => JSON.parse(m.value) as unknown) },
        latency_ms: {
          produce_to_lake: landed.produce_to_lake_ms,
          produce_to_prediction: percentiles(predictions.latencies.map((l) => l.latency)),
          prediction_over_1s: predictions.latencies.filter((l) => l.latency > 1000).length,
          prediction_slowest_seconds: slowestSeconds(predictions.latencies),
        },
        seconds: Math.round((Date.now() - started) / 1000),
        next: 'the cluster, ingest and scoring keep running: `millrace jobs`, `millrace status`; stop everything with `millrace down`',
      };
      output(this, formatDemo(summary), summary);
    });
}

function positive(flag: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new MillraceError(`${flag} ${text}: expected a whole number of at least 1`);
  return v;
}

/** A streaming job this demo started: its driver's node and log. */
interface StreamingJob {
  node: string;
  log: string;
  /** Started by this demo (not found running). */
  started?: boolean;
}

/**
 * The running application of a streaming job, with its driver's log on the master's node; undefined
 * when none runs, or when it runs without a driver millrace started (no log to read).
 */
export function runningStreamingJob(apps: readonly SparkApp[], appName: string, masterNode: string): { running: boolean; job?: StreamingJob } {
  const app = apps.find((a) => a.name === appName);
  if (!app) return { running: false };
  return { running: true, ...(app.workDir ? { job: { node: masterNode, log: `${app.workDir}/driver.log` } } : {}) };
}

/**
 * Starts a streaming job unless an application of it is already running (the demo is re-runnable).
 * Returns the job, started here or found running, whose driver log the demo can read (undefined
 * for one running without such a log: the demo then counts the lake until the rows are there).
 */
async function ensureStreaming(steps: Steps, spec: PipelineSpec, specFile: string, masterNode: string, job: 'ingest' | 'score', args: string[], cores = 1): Promise<StreamingJob | undefined> {
  const apps = await steps.json<SparkApp[]>(`look for a running ${job} job`, ['jobs']);
  const found = runningStreamingJob(apps, `millrace-${job}-${spec.name}`, masterNode);
  if (found.running) return found.job;
  const started = await steps.json<{ node: string; log: string }>(`start streaming ${job}`, ['submit', '--detach', '--spec', specFile, '--conf', `spark.cores.max=${cores}`, assetPath(`spark-jobs/${job}.py`), '--', ...args]);
  // A query fixes its starting offsets on its first trigger, when it prints "ready": events sent
  // before that would be skipped by a job that starts from the latest offsets.
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const [r] = await steps.json<{ stdout: string }[]>('', ['exec', started.node, '--', `grep -c '"event": "ready"' ${started.log} || true`]);
    if (Number(r?.stdout.trim()) >= 2) return { ...started, started: true };
    if (Date.now() > deadline) throw new TimeoutError(`the ${job} job's queries did not start within 5 minutes`, { hint: `look at its driver log: millrace exec ${started.node} -- tail -50 ${started.log}` });
    await sleep(2000);
  }
}

interface LakeStats {
  events: number;
  distinct_ids: number;
  duplicate_ids: number;
  produce_to_lake_ms: { p50: number | null; p99: number | null; max: number | null } | null;
}

interface EventsProgress {
  input_rows?: number;
  /** Rows the batch wrote to the lake (an observed metric of the write itself). */
  output_rows?: number | null;
  offsets_behind_latest?: number | null;
}

/** The ingest driver's progress lines for its events query (spark-jobs/millrace_pipeline/streaming.py), oldest first. */
async function eventsProgress(steps: Steps, job: StreamingJob): Promise<EventsProgress[]> {
  const [r] = await steps.json<{ stdout: string }[]>('', ['exec', job.node, '--', progressLinesCommand(job.log, 'events')]);
  return parseProgressLines<EventsProgress>(r?.stdout ?? '');
}

/**
 * How long rows may stop growing before the wait counts the lake anyway. One batch of a backlog
 * writes no progress line until it ends: 1.3M rows sent at once made batches of more than a minute
 * (CI, 2026-12-06), and a wait of one minute then counted 545,454 rows, a Spark job of a minute
 * that took a core from the ingest, and counted again.
 */
const STALLED_MS = 150_000;

/**
 * Waits for the ingest to have caught up with what was sent: a progress line after the first
 * `seen` that shows nothing behind the latest offsets (or an empty batch), and, when `want` rows
 * were sent, at least that many rows written to the lake in the lines after `from` (the lines before the
 * producer started). A caught-up line alone can come while a backlog is still being read. Gives
 * up waiting after `ms`, or once caught up with no new rows for STALLED_MS (some of what was sent
 * went elsewhere, e.g. to the DLQ); returns how many lines there are now. Reading the driver's
 * log is an SSH command: counting the lake is a Spark job that takes a core from the very ingest
 * it waits for, so it runs once the rows can be there.
 */
async function waitCaughtUp(steps: Steps, job: StreamingJob, seen: number, ms: number, sent?: { from: number; want: number }): Promise<number> {
  const deadline = Date.now() + ms;
  let rowsBefore = -1;
  let rowsSince = Date.now();
  for (;;) {
    const lines = await eventsProgress(steps, job).catch(() => undefined);
    if (!lines) return seen;
    const caughtUp = lines.slice(seen).some((p) => p.offsets_behind_latest === 0 || p.input_rows === 0);
    // Rows written, not rows read: Spark's input count of a batch that writes its input more than
    // once (events and quarantine) need not be the rows that reached the lake.
    const rows = sent ? outputRowsSince(lines, sent.from) : Number.POSITIVE_INFINITY;
    if (rows !== rowsBefore) [rowsBefore, rowsSince] = [rows, Date.now()];
    if ((caughtUp && (!sent || rows >= sent.want || Date.now() - rowsSince > STALLED_MS)) || Date.now() > deadline) return lines.length;
    await sleep(3000);
  }
}

/** Rows the progress lines say the ingest wrote, in the lines after the first `from`. */
function outputRowsSince(lines: readonly EventsProgress[], from: number): number {
  return lines.slice(from).reduce((n, p) => n + (p.output_rows ?? 0), 0);
}

async function waitForLake(steps: Steps, specFile: string, prefix: string, want: number, ingest: StreamingJob | undefined, linesBeforeProduce: number): Promise<LakeStats> {
  const deadline = Date.now() + 20 * 60_000;
  // Progress lines from before this point may predate the last events sent.
  let seen = ingest ? (await eventsProgress(steps, ingest).catch(() => [])).length : 0;
  let first = true;
  // The ingest's own progress lines tell when it has written the run's rows: on a large run, that
  // is most of the wait, and the step before it (a small produce) is long done.
  if (ingest) steps.note(`wait for the ingest job to write the ${want.toLocaleString()} events (its progress lines)`);
  for (;;) {
    if (ingest) seen = await waitCaughtUp(steps, ingest, seen, first ? 15 * 60_000 : 120_000, first ? { from: linesBeforeProduce, want } : undefined);
    first = false;
    const out = (await steps.run(`count this run's rows in the lake (want ${want.toLocaleString()})`, ['submit', '--spec', specFile, '--conf', 'spark.cores.max=1', assetPath('spark-jobs/lake_stats.py'), '--', '--id-prefix', prefix])).stdout;
    const stats = parseResultLine(out) as LakeStats | undefined;
    if (stats && stats.events >= want) return stats;
    steps.note(`${(stats?.events ?? 0).toLocaleString()} of ${want.toLocaleString()} in the lake so far${ingest ? ` (the ingest's progress lines since the produce: ${outputRowsSince(await eventsProgress(steps, ingest).catch(() => []), linesBeforeProduce).toLocaleString()} rows written)` : ''}; waiting for ingest`);
    if (Date.now() > deadline) throw new TimeoutError(`only ${stats?.events ?? 0} of ${want} events reached the lake in 20 minutes`, { hint: 'look at the ingest job: `millrace jobs`, and its driver log' });
    if (!ingest) await sleep(5000);
  }
}

/**
 * Sends a fresh batch, the source's records after the `after` the demo streamed (from its start
 * again when the source has no more), and collects their predictions from the predictions topic,
 * with their latency. What the producer sent (records it dead-lettered have no prediction) is what
 * is waited for.
 */
async function scoreBatch(
  steps: Steps,
  warmup: { source: string; count: number } | undefined,
  config: Parameters<typeof kafkaConnectionFor>[0],
  spec: PipelineSpec,
  opts: DemoOptions,
  source: string,
  count: number,
  after: number,
): Promise<{ sent: number; received: ReceivedMessage[]; duplicates: number; latencies: { producedAt: number; latency: number }[] }> {
  const client = createKafkaClient(await kafkaConnectionFor(config, 'pipeline'));
  const received: ReceivedMessage[] = [];
  const latencies: { producedAt: number; latency: number }[] = [];
  const stop = new AbortController();
  const prefix = `${source}#`;
  const seen = new Set<string>();
  let duplicates = 0;
  let want = count;
  // The warm-up's predictions, counted until all of them are in: the measured batch is sent only
  // then. A job still working off its warm-up (its first real-time batch, cold code) put a pause of
  // 13 s in front of the measured events in the bench of 2026-12-06.
  const warmPrefix = warmup ? `${warmup.source}#` : undefined;
  let warmWant = Number.POSITIVE_INFINITY;
  let warmGot = 0;
  let warmedUp = (): void => {};
  const warm = new Promise<void>((resolve) => (warmedUp = resolve));
  const tail = client.tail({
    topic: spec.predictionsTopic,
    groupId: `pipeline-demo-${Date.now()}`,
    // From the beginning, filtered by this batch's ids: nothing is missed while the group forms.
    fromBeginning: true,
    signal: stop.signal,
    onMessage: (m) => {
      const v = JSON.parse(m.value) as Record<string, unknown>;
      const id = String(v[spec.id] ?? '');
      if (warmPrefix && id.startsWith(warmPrefix)) {
        if (++warmGot >= warmWant) warmedUp();
        return;
      }
      if (!id.startsWith(prefix)) return;
      // At-least-once output: a replayed event's later predictions are counted, not timed.
      if (seen.has(id)) return void duplicates++;
      seen.add(id);
      received.push(m);
      const producedAt = Number(m.headers?.[HEADER_PRODUCED_AT]);
      if (m.timestamp && producedAt) latencies.push({ producedAt, latency: Number(m.timestamp) - producedAt });
      if (received.length >= want) stop.abort();
    },
  });
  try {
    const send = (skip: number, name: string, n: number, title: string): Promise<{ sent: number }> =>
      steps.json<{ sent: number }>(title, ['produce', '--spec', opts.spec, '--source', opts.source, '--skip', String(skip), '--limit', String(n), '--rate', opts.scoreRate, '--source-name', name]);
    // A scoring job started just now warms up first; its predictions are not measured (other ids).
    // The records after the demo's, or the source's first ones again when it has no more: found
    // out once (by a send that produced nothing), so the next batch starts there without another try.
    let fromStart = false;
    const sendFresh = async (name: string, n: number, title = `send ${n.toLocaleString()} events through live scoring at ${opts.scoreRate}/s`): Promise<number> => {
      if (!fromStart) {
        const { sent } = await send(after, name, n, title);
        if (sent > 0) return sent;
        fromStart = true;
        steps.note(`the source has no records after the first ${after.toLocaleString()}: scoring from its start`);
      }
      return (await send(0, name, n, `${title}, from the source's start`)).sent;
    };
    if (warmup) {
      warmWant = await sendFresh(warmup.source, warmup.count, `warm the new scoring job up with ${warmup.count.toLocaleString()} events (not measured)`);
      if (warmGot >= warmWant) warmedUp();
      const sentAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const caughtUp = await Promise.race([warm.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), WARMUP_WAIT_MS)))]);
      clearTimeout(timer);
      const after = ((Date.now() - sentAt) / 1000).toFixed(0);
      steps.note(
        caughtUp
          ? `the scoring job caught up with its warm-up: ${warmGot.toLocaleString()} predictions, the last ${after} s after the warm-up was sent`
          : `the scoring job had scored ${warmGot.toLocaleString()} of the ${warmWant.toLocaleString()} warm-up events ${after} s after they were sent: measuring anyway`,
      );
    }
    const sent = await sendFresh(source, count);
    want = sent;
    if (received.length >= want) stop.abort();
    const timer = setTimeout(() => stop.abort(), 180_000);
    await tail;
    clearTimeout(timer);
    return { sent, received, duplicates, latencies };
  } finally {
    stop.abort();
    await client.close();
  }
}
