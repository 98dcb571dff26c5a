/**
 * Pipeline benchmark on a local cluster of its own, every figure beside a reference from the same
 * run:
 * - producer throughput: `millrace produce` (Parquet → validation → Kafka) with each client
 *   backend (kafka.client: kafkajs, then librdkafka) against Kafka's own ProducerPerformance with
 *   the same payloads, broker, TLS client certificate, acks=all and idempotence;
 * - sustained ingest: the whole flights file (3M events) produced at full speed, until all of it
 *   is in the lake, against the producer's own rate;
 * - produce → lake and produce → prediction latency, p50 and p99, at a steady 2,000 events/s;
 * - training time on 1M and 3M rows.
 * Needs Java on this machine (for ProducerPerformance, from the cached Kafka bundle).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchRow, benchEnv, benchWorkdir, cliTimed, REPO, writeYaml, localClusterYaml } from './common';

const CLUSTER_YAML = localClusterYaml('benchpipe', 44);
const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
const JOB = (f: string): string => path.join(REPO, 'spark-jobs', f);
const PRODUCE_N = 300_000;
const TOTAL = 3_000_000;

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

async function waitForLake(dir: string, config: string, prefix: string, want: number): Promise<number> {
  for (;;) {
    const s = result((await cliTimed(['submit', '-c', config, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('lake_stats.py'), '--', '--id-prefix', prefix], dir)).stdout);
    if ((s.events as number) >= want) return Date.now();
    await new Promise((r) => setTimeout(r, 5000));
  }
}

export async function benchPipeline({ producerOnly = false } = {}): Promise<BenchRow[]> {
  const dir = benchWorkdir('pipeline');
  const config = writeYaml(path.join(dir, 'bench.yaml'), CLUSTER_YAML);
  const c = ['-c', config];
  // The same cluster, its producers on librdkafka (kafka.client).
  const rdConfig = writeYaml(path.join(dir, 'bench-librdkafka.yaml'), `${CLUSTER_YAML}kafka:\n  client: librdkafka\n`);
  await cliTimed(['up', ...c], dir);
  for (const t of [['flights'], ['flights.predictions', '--no-dlq'], ['bench-reference', '--no-dlq']]) await cliTimed(['topics', 'create', ...t, ...c], dir);

  // Producer throughput, kafkajs first (it also provides the payloads for the reference).
  const kj = JSON.parse((await cliTimed(['produce', '--json', ...c, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--limit', String(PRODUCE_N), '--rate', 'max', '--source-name', 'bench-throughput'], dir)).stdout) as { rate: number };
  const sample = (await cliTimed(['consume', 'flights', '--from-beginning', '--count', '2000', '--raw', ...c], dir)).stdout.trim().split('\n');
  const ref = await producerPerformance(dir, sample, PRODUCE_N);
  const rd = JSON.parse((await cliTimed(['produce', '--json', '-c', rdConfig, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--limit', String(PRODUCE_N), '--rate', 'max', '--source-name', 'bench-throughput-librdkafka'], dir)).stdout) as { rate: number };
  const producerRows: BenchRow[] = [
    { metric: 'millrace produce (Parquet → validate → kafkajs)', value: kj.rate, unit: 'events/s', note: `${PRODUCE_N.toLocaleString()} flights, mTLS, acks=all, idempotent` },
    { metric: 'Kafka ProducerPerformance (same payloads)', value: ref.rate, unit: 'events/s', note: 'same broker, principal, acks, idempotence' },
    { metric: 'millrace produce / ProducerPerformance', value: kj.rate / ref.rate, unit: 'ratio', note: 'same run' },
    { metric: 'millrace produce (Parquet → validate → librdkafka)', value: rd.rate, unit: 'events/s', note: 'kafka.client: librdkafka, same flights, broker and principal' },
    { metric: 'millrace produce librdkafka / ProducerPerformance', value: rd.rate / ref.rate, unit: 'ratio', note: 'same run' },
    { metric: 'librdkafka / kafkajs', value: rd.rate / kj.rate, unit: 'ratio', note: 'same run' },
  ];
  if (producerOnly) {
    await cliTimed(['down', '--yes', ...c], dir);
    return producerRows;
  }

  // Sustained ingest: the whole file at full speed, timed until all of it is in the lake.
  await cliTimed(['submit', '--detach', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '--', '--trigger-seconds', '2'], dir);
  await new Promise((r) => setTimeout(r, 15_000));
  const t0 = Date.now();
  const all = JSON.parse((await cliTimed(['produce', '--json', ...c, '--spec', SPEC, '--source', 'vega:flights-3m.parquet', '--rate', 'max', '--source-name', 'bench-ingest'], dir)).stdout) as { sent: number; rate: number };
  const landed = await waitForLake(dir, config, 'bench-ingest#', TOTAL);
  const ingestRate = all.sent / ((landed - t0) / 1000);

  // Training time on 1M and 3M rows.
  const train = async (rows: number): Promise<number> =>
    result((await cliTimed(['submit', ...c, '--spec', SPEC, '--conf', 'spark.cores.max=2', '--conf', 'spark.executor.memory=3g', JOB('train.py'), '--', '--max-rows', String(rows)], dir)).stdout).training_seconds as number;
  const t1m = await train(1_000_000);
  const t3m = await train(TOTAL);

  // Latency at a steady rate, measured by the demo (lake: file time; prediction: Kafka timestamp).
  const demo = JSON.parse((await cliTimed(['demo', '--json', ...c, '--spec', SPEC, '--events', '30000', '--rate', '2000', '--score-events', '2000'], dir)).stdout) as {
    latency_ms: { produce_to_lake: { p50: number; p99: number }; produce_to_prediction: { p50: number; p99: number } };
  };
  await cliTimed(['down', '--yes', ...c], dir);

  const L = demo.latency_ms;
  return [
    ...producerRows,
    { metric: 'sustained ingest (3M events, produce start → all in the lake)', value: ingestRate, unit: 'events/s', note: `producer alone: ${Math.round(all.rate)} events/s` },
    { metric: 'ingest / producer rate', value: ingestRate / all.rate, unit: 'ratio', note: 'ingest holds 1 executor core' },
    { metric: 'produce → lake p50', value: L.produce_to_lake.p50, unit: 'ms', note: 'at 2,000 events/s, 2 s trigger' },
    { metric: 'produce → lake p99', value: L.produce_to_lake.p99, unit: 'ms', note: '' },
    { metric: 'produce → prediction p50', value: L.produce_to_prediction.p50, unit: 'ms', note: 'at 200 events/s, 1 s trigger' },
    { metric: 'produce → prediction p99', value: L.produce_to_prediction.p99, unit: 'ms', note: '' },
    { metric: 'training, 1M rows', value: t1m, unit: 's', note: 'linear regression, 2 cores' },
    { metric: 'training, 3M rows', value: t3m, unit: 's', note: '' },
    { metric: 'training 3M / 1M', value: t3m / t1m, unit: 'ratio', note: 'same run' },
  ];
}
