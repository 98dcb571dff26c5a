/**
 * Pipeline benchmark on a local cluster of its own, every figure beside a reference from the same
 * run:
 * - producer throughput: `millrace produce` (Parquet → validation → Kafka) with each client
 *   backend (kafka.client: kafkajs, then librdkafka) against Kafka's own ProducerPerformance with
 *   the same payloads, broker, TLS client certificate, acks=all and idempotence;
 * - sustained ingest: the whole flights file (3M events) produced at full speed, until all of it
 *   is in the lake, against the producer's own rate;
 * - the highest steady rate streaming ingest keeps up with, its backlog bounded (a search over rates,
 *   bench/ingest-search.ts), against the producer's;
 * - produce → lake latency at a steady 2,000 events/s, and produce → prediction at 1,000 events/s
 *   while ingest runs (scoring in Spark's real-time mode), p50 and p99;
 * - training time on 1M and 3M rows.
 * Needs Java on this machine (for ProducerPerformance, from the cached Kafka bundle).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runningStreamingJob } from '../cli/commands/demo';
import { parseProgressLines, progressLinesCommand } from '../cli/demo/steps';
import { BenchRow, benchEnv, benchWorkdir, cliTimed, REPO, writeYaml, localClusterYaml } from './common';
import { byName, median } from './bracketed';
import { highestBounded, judge, nextRate, type Probe, type Verdict } from './ingest-search';

const CLUSTER_YAML = localClusterYaml('benchpipe', 44);
const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
const JOB = (f: string): string => path.join(REPO, 'spark-jobs', f);
const PRODUCE_N = 1_000_000;
/** Rounds of the producer figures: each client once a round, between two reference runs. */
const PRODUCER_ROUNDS = 3;
const TOTAL = 3_000_000;
/** Live scoring's steady rate, and how long it is held: past one of real-time mode's 5-minute checkpoints. */
const SCORE_RATE = 1000;
const SCORE_SECONDS = 330;

const result = (stdout: string): Record<string, unknown> => {
  const line = stdout.split('\n').find((l) => l.startsWith('MILLRACE_RESULT '));
  if (!line) throw new Error(`no result line in:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('MILLRACE_RESULT '.length)) as Record<string, unknown>;
};

/** Kafka's ProducerPerformance from the cached bundle, against the same broker as the same principal. */
async function producerPerformance(dir: string, payloads: string[], records: number): Promise<{ rate: number; line: string }> {
  const env = benchEnv(dir);
  const cache = path.join(env.MILLRACE_CACHE!, 'artifacts', 'maven');
  const tar = fs.readdirSync(cache).find((f) => /^kafka-.*\.tar$/.test(f));
  if (!tar) throw new Error(`no Kafka bundle in ${cache}: run scripts/setup.sh`);
  const libs = path.join(dir, 'kafka-libs');
  if (!fs.existsSync(libs)) {
    fs.mkdirSync(libs);
    execFileSync('tar', ['-xf', path.join(cache, tar), '-C', libs, './libs']);
  }
  const state = path.join(env.MILLRACE_HOME!, 'clusters', 'benchpipe', 'pki');
  const pem = path.join(dir, 'pipeline.pem');
  fs.writeFileSync(pem, fs.readFileSync(path.join(state, 'clients', 'pipeline.key'), 'utf8') + fs.readFileSync(path.join(state, 'clients', 'pipeline.crt'), 'utf8'), { mode: 0o600 });
  const props = path.join(dir, 'producer.properties');
  fs.writeFileSync(
    props,
    [
      'bootstrap.servers=127.0.0.44:9093',
      'security.protocol=SSL',
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${pem}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${path.join(state, 'ca.crt')}`,
      'acks=all',
      'enable.idempotence=true',
      'linger.ms=50',
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const payloadFile = path.join(dir, 'payloads.jsonl');
  fs.writeFileSync(payloadFile, payloads.join('\n') + '\n');
  const out = execFileSync(
    'java',
    ['-cp', `${libs}/libs/*`, 'org.apache.kafka.tools.ProducerPerformance', '--topic', 'bench-reference', '--num-records', String(records), '--throughput', '-1', '--payload-file', payloadFile, '--producer.config', props],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const line = out.trim().split('\n').filter((l) => / records sent, /.test(l)).slice(-1)[0] ?? '';
  const rate = Number(/records sent, ([\d.]+) records\/sec/.exec(line)?.[1]);
  if (!rate) throw new Error(`cannot read ProducerPerformance's result:\n${out.slice(-1500)}`);
  return { rate, line };
}

/** Ingest's micro-batch interval in the search, and its cores. */
const INGEST_TRIGGER_SECONDS = 2;
/** How long each rate of the search is held. */
const PROBE_SECONDS = 60;
const FLIGHTS_ROWS = 2_900_000;

interface IngestJob {
  node: string;
  log: string;
}

/** The rows each micro-batch of the ingest's events query read, oldest first. */
async function eventsProgress(dir: string, c: string[], job: IngestJob): Promise<{ rows: number }[]> {
  const [r] = JSON.parse((await cliTimed(['exec', '--json', ...c, job.node, '--', progressLinesCommand(job.log, 'events')], dir)).stdout) as { stdout: string }[];
  return parseProgressLines<{ input_rows?: number }>(r?.stdout ?? '').map((p) => ({ rows: p.input_rows ?? 0 }));
}

/**
 * One rate of the search: flights produced at `rate` for PROBE_SECONDS while ingest runs, with the
 * rows each of the ingest's micro-batches read in that time; then the ingest is given time to drain what
 * it is behind, so the next probe starts level.
 */
async function probeIngest(dir: string, c: string[], job: IngestJob, rate: number, skip: number): Promise<Probe & { drained: boolean }> {
  const before = (await eventsProgress(dir, c, job)).length;
  const limit = rate * PROBE_SECONDS;
  const sent = JSON.parse(
    (await cliTimed(['produce', '--json', ...c, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--skip', String(skip % FLIGHTS_ROWS), '--limit', String(limit), '--rate', String(rate), '--source-name', `bench-rate-${rate}`], dir)).stdout,
  ) as { rate: number };
  const during = (await eventsProgress(dir, c, job)).slice(before);
  const backlog = during.map((p) => p.rows);
  // Drained: no micro-batch for 10 s (an idle trigger reports no progress line), after one that
  // read at most a trigger's worth at this rate, or no batch for 30 s. Quiet alone is not enough:
  // one batch over a large backlog can take longer than 10 s, and the next probe would inherit the
  // rest (a 12,000 events/s probe after one at 16,000 was judged on it, 2026-12-05).
  let drained = false;
  let seen = -1;
  let quietSince = Date.now();
  for (const deadline = Date.now() + 5 * 60_000; Date.now() < deadline && !drained; ) {
    await new Promise((r) => setTimeout(r, 10_000));
    const after = (await eventsProgress(dir, c, job)).slice(before + during.length);
    if (after.length !== seen) [seen, quietSince] = [after.length, Date.now()];
    const quietFor = Date.now() - quietSince;
    const small = after.some((p) => p.rows <= rate * INGEST_TRIGGER_SECONDS);
    drained = (quietFor >= 10_000 && small) || quietFor >= 30_000;
  }
  return { rate, achieved: sent.rate, backlog, drained };
}

/** Searches the highest steady rate the ingest keeps up with (bench/ingest-search.ts). */
async function searchIngestRate(dir: string, c: string[], job: IngestJob): Promise<{ best: { rate: number; achieved: number }; probes: (Probe & Verdict & { drained: boolean })[] }> {
  const probes: (Probe & Verdict & { drained: boolean })[] = [];
  let skip = 0;
  for (let rate = nextRate([], 2000, 2); rate !== undefined; ) {
    const probe = await probeIngest(dir, c, job, rate, skip);
    skip += rate * PROBE_SECONDS;
    const verdict = judge(probe, INGEST_TRIGGER_SECONDS);
    probes.push({ ...probe, ...verdict });
    process.stderr.write(`ingest at ${rate} events/s (producer reached ${Math.round(probe.achieved)}): ${verdict.bounded ? 'kept up' : 'fell behind'}, ${verdict.reason}${probe.drained ? '' : '; not drained within 5 minutes'}\n`);
    rate = nextRate(
      probes.map((p) => ({ rate: p.rate, bounded: p.bounded, producerLimited: p.achieved < 0.95 * p.rate })),
      2000,
      2,
    );
  }
  return { best: highestBounded(probes), probes };
}

async function waitForLake(dir: string, config: string, prefix: string, want: number): Promise<number> {
  for (;;) {
    const s = result((await cliTimed(['submit', '-c', config, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('lake_stats.py'), '--', '--id-prefix', prefix], dir)).stdout);
    if ((s.events as number) >= want) return Date.now();
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/**
 * producerOnly: the producer figures alone. live: the producer, the ingest search and the latency
 * figures, without the 3M-event drain and the training times.
 */
export async function benchPipeline({ producerOnly = false, live = false } = {}): Promise<BenchRow[]> {
  const dir = benchWorkdir('pipeline');
  const config = writeYaml(path.join(dir, 'bench.yaml'), CLUSTER_YAML);
  const c = ['-c', config];
  // The same cluster, its producers on each library by name (kafka.client); the rest of the
  // bench runs with the default, auto (librdkafka where its native part loads).
  const kjConfig = writeYaml(path.join(dir, 'bench-kafkajs.yaml'), `${CLUSTER_YAML}kafka:\n  client: kafkajs\n`);
  const rdConfig = writeYaml(path.join(dir, 'bench-librdkafka.yaml'), `${CLUSTER_YAML}kafka:\n  client: librdkafka\n`);
  await cliTimed(['up', ...c], dir);
  // The producer figures go to a topic of their own, so sustained ingest starts on an empty one.
  for (const t of [['flights'], ['flights.predictions', '--no-dlq'], ['bench-throughput'], ['bench-reference', '--no-dlq']]) await cliTimed(['topics', 'create', ...t, ...c], dir);

  // Producer throughput. A warm-up first (it also provides the payloads for the reference): a
  // broker fresh from its start, and its JIT, took ProducerPerformance from ~86,000 to ~135,000
  // events/s between its first and later runs here. Then rounds of each client, every run between
  // two reference runs, its ratio against their mean (bench/bracketed.ts): the reference drifts
  // within a run on this machine, and one reference run beside one client run was not enough.
  const produce = async (cfg: string, name: string, limit: number): Promise<{ rate: number; client: string }> =>
    JSON.parse((await cliTimed(['produce', '--json', '-c', cfg, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--limit', String(limit), '--rate', 'max', '--topic', 'bench-throughput', '--source-name', name], dir)).stdout) as { rate: number; client: string };
  const byDefault = (await produce(config, 'bench-warmup', 100_000)).client;
  const sample = (await cliTimed(['consume', 'bench-throughput', '--from-beginning', '--count', '2000', '--raw', ...c], dir)).stdout.trim().split('\n');
  await producerPerformance(dir, sample, 100_000);
  const clients = { kafkajs: kjConfig, librdkafka: rdConfig };
  const order = Array.from({ length: PRODUCER_ROUNDS }, () => Object.keys(clients) as (keyof typeof clients)[]).flat();
  const refs = [(await producerPerformance(dir, sample, PRODUCE_N)).rate];
  const runs: number[] = [];
  for (const [i, client] of order.entries()) {
    runs.push((await produce(clients[client], `bench-throughput-${client}-${i}`, PRODUCE_N)).rate);
    refs.push((await producerPerformance(dir, sample, PRODUCE_N)).rate);
  }
  const by = byName(order, refs, runs);
  const kj = by.get('kafkajs')!;
  const rd = by.get('librdkafka')!;
  const list = (xs: number[], digits = 2): string => xs.map((x) => (digits ? x.toFixed(digits) : Math.round(x).toLocaleString('en-US'))).join(', ');
  const producerRows: BenchRow[] = [
    {
      metric: `Kafka ProducerPerformance (same payloads), ${refs.length} runs`,
      value: median(refs),
      unit: 'events/s',
      note: `median; same broker, principal, acks, idempotence; each run: ${list(refs, 0)}`,
    },
    { metric: 'millrace produce (Parquet → validate → kafkajs)', value: median(kj.rates), unit: 'events/s', note: `median of ${PRODUCER_ROUNDS}: ${list(kj.rates, 0)}; ${PRODUCE_N.toLocaleString('en-US')} flights each, mTLS, acks=all, idempotent` },
    { metric: 'millrace produce kafkajs / ProducerPerformance', value: kj.median, unit: 'ratio', note: `median of ${PRODUCER_ROUNDS} rounds, each against the reference runs just before and after it: ${list(kj.ratios)}` },
    { metric: 'millrace produce (Parquet → validate → librdkafka)', value: median(rd.rates), unit: 'events/s', note: `median of ${PRODUCER_ROUNDS}: ${list(rd.rates, 0)}; kafka.client: librdkafka (its native producer)` },
    { metric: 'millrace produce librdkafka / ProducerPerformance', value: rd.median, unit: 'ratio', note: `median of ${PRODUCER_ROUNDS} rounds, likewise: ${list(rd.ratios)}` },
    { metric: 'librdkafka / kafkajs', value: median(rd.rates) / median(kj.rates), unit: 'ratio', note: `medians, same run; the default (kafka.client: auto) chose ${byDefault} on this machine` },
  ];
  const defaultRate = median((byDefault === 'librdkafka' ? rd : kj).rates);
  if (producerOnly) {
    await cliTimed(['down', '--yes', ...c], dir);
    return producerRows;
  }

  // The highest steady rate the ingest keeps up with (its backlog bounded), then a backlog drain: the
  // whole file at full speed, timed until all of it is in the lake.
  const ingestJob = JSON.parse(
    (await cliTimed(['submit', '--detach', '--json', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '--', '--trigger-seconds', String(INGEST_TRIGGER_SECONDS)], dir)).stdout,
  ) as IngestJob;
  await new Promise((r) => setTimeout(r, 15_000));
  const search = await searchIngestRate(dir, c, ingestJob);
  fs.writeFileSync(path.join(dir, 'ingest-search.json'), JSON.stringify(search, null, 2));
  let drainRows: BenchRow[] = [];
  if (!live) {
    const t0 = Date.now();
    const all = JSON.parse((await cliTimed(['produce', '--json', ...c, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--rate', 'max', '--source-name', 'bench-ingest'], dir)).stdout) as { sent: number; rate: number };
    const landed = await waitForLake(dir, config, 'bench-ingest#', TOTAL);
    const ingestRate = all.sent / ((landed - t0) / 1000);

    // Training time on 1M and 3M rows.
    const train = async (rows: number): Promise<number> =>
      result((await cliTimed(['submit', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=2', '--conf', 'spark.executor.memory=3g', JOB('train.py'), '--', '--max-rows', String(rows)], dir)).stdout).training_seconds as number;
    const t1m = await train(1_000_000);
    const t3m = await train(TOTAL);
    drainRows = [
      { metric: 'sustained ingest (3M events, produce start → all in the lake)', value: ingestRate, unit: 'events/s', note: `producer alone: ${Math.round(all.rate)} events/s` },
      { metric: 'ingest / producer rate', value: ingestRate / all.rate, unit: 'ratio', note: 'ingest holds 1 executor core' },
      { metric: 'training, 1M rows', value: t1m, unit: 's', note: 'linear regression, 2 cores' },
      { metric: 'training, 3M rows', value: t3m, unit: 's', note: '' },
      { metric: 'training 3M / 1M', value: t3m / t1m, unit: 'ratio', note: 'same run' },
    ];
  }

  // Latency at a steady rate, measured by the demo (lake: file time; prediction: Kafka timestamp).
  // Scoring runs in real-time mode, checkpointed every 5 minutes; the scored batch lasts longer
  // than that, so its figures include a checkpoint's pause.
  const demo = JSON.parse(
    (await cliTimed(['demo', '--json', ...c, '--spec', SPEC, '--events', '30000', '--rate', '2000', '--score-events', String(SCORE_RATE * SCORE_SECONDS), '--score-rate', String(SCORE_RATE)], dir)).stdout,
  ) as {
    latency_ms: {
      produce_to_lake: { p50: number; p99: number };
      produce_to_prediction: { p50: number; p99: number; max: number };
      prediction_over_1s: number;
      prediction_slowest_seconds: { second: number; events: number; p99: number; max: number }[];
    };
    predictions: { received: number; duplicates: number };
  };
  for (const log of await keepDriverLogs(dir, c)) process.stderr.write(`kept ${log}\n`);
  await cliTimed(['down', '--yes', ...c], dir);

  const L = demo.latency_ms;
  return [
    ...producerRows,
    {
      metric: 'ingest: highest steady rate it keeps up with',
      value: search.best.rate,
      unit: 'events/s',
      note: `${PROBE_SECONDS} s a rate, 1 core, ${INGEST_TRIGGER_SECONDS} s trigger, backlog bounded; tried ${search.probes.map((p) => `${p.rate}${p.bounded ? '✓' : '✗'}`).join(' ')}`,
    },
    { metric: `ingest bounded rate / producer (${byDefault}, the default here, full speed)`, value: search.best.rate / defaultRate, unit: 'ratio', note: `same run; against kafkajs's: ${(search.best.rate / median(kj.rates)).toFixed(2)}` },
    { metric: 'produce → lake p50', value: L.produce_to_lake.p50, unit: 'ms', note: 'at 2,000 events/s, 2 s trigger' },
    { metric: 'produce → lake p99', value: L.produce_to_lake.p99, unit: 'ms', note: '' },
    { metric: 'produce → prediction p50', value: L.produce_to_prediction.p50, unit: 'ms', note: `at ${SCORE_RATE} events/s for ${SCORE_SECONDS} s while ingest runs; real-time mode` },
    { metric: 'produce → prediction p99', value: L.produce_to_prediction.p99, unit: 'ms', note: 'target ≤ 1,000 ms' },
    { metric: 'produce → prediction max', value: L.produce_to_prediction.max, unit: 'ms', note: 'a checkpoint of the real-time query falls in the run' },
    { metric: 'predictions scored again', value: demo.predictions.duplicates, unit: 'events', note: `ids scored more than once, of ${demo.predictions.received.toLocaleString()} distinct (the Kafka sink is at-least-once); latency is timed by each id's first` },
    {
      metric: 'produce → prediction over 1 s',
      value: L.prediction_over_1s,
      unit: 'events',
      note: `slowest seconds of the run (second: events, p99/max ms): ${L.prediction_slowest_seconds.map((s) => `${s.second}: ${s.events}, ${s.p99}/${s.max}`).join('; ')}`,
    },
    ...drainRows,
  ];
}

/**
 * Copies the driver log of each streaming job millrace started into the bench's directory before
 * `down` takes the nodes away: a late figure is then explained from the run that made it.
 */
async function keepDriverLogs(dir: string, c: string[]): Promise<string[]> {
  const apps = JSON.parse((await cliTimed(['jobs', '--json', ...c], dir)).stdout) as Parameters<typeof runningStreamingJob>[0];
  const kept: string[] = [];
  for (const app of apps) {
    const { job } = runningStreamingJob(apps, app.name, 'spark-1');
    if (!job) continue;
    const [r] = JSON.parse((await cliTimed(['exec', '--json', ...c, job.node, '--', `cat ${job.log}`], dir, { allowFailure: true })).stdout || '[]') as { stdout: string }[];
    if (!r) continue;
    const file = path.join(dir, `${app.name}.driver.log`);
    fs.writeFileSync(file, r.stdout);
    kept.push(file);
  }
  return kept;
}
