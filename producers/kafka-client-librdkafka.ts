/**
 * The librdkafka backend of KafkaClient (producers/kafka-types.ts), from
 * @confluentinc/kafka-javascript: kafka.client: librdkafka in the config. It produces; topics,
 * ACLs, offsets and consumers stay on the kafkajs client it is given, whose behaviour the rest of
 * millrace is built on (its coordinator and refusal handling, producers/group-coordinator.ts).
 * - `produce` (small sends) goes through the package's KafkaJS-compatible API;
 * - the batch producer, the hot path of `millrace produce`, through its native producer: one
 *   call per message, reports for failed messages only, batches acknowledged by flushing, no
 *   promise per message (the compatible `send` makes one, and its cost, with the garbage it
 *   leaves, held the producer to about 0.5 of Kafka's ProducerPerformance on this project's machine).
 *
 * This is the only module that loads @confluentinc/kafka-javascript. Its native part is built on
 * this machine by scripts/setup.sh (npm's install script for it is denied in package.json: it
 * downloads a prebuilt binary from GitHub or, failing that, librdkafka's own dependencies).
 */
import { MillraceError } from '../lib/errors';
import { logger } from '../lib/logger';
import { FlushConfirmer } from './flush-confirmer';
import { InFlightWindow } from './in-flight';
import { DEFAULT_RETRY_TIMEOUT_MS } from './kafka-types';
import type { BatchProducer, BatchProducerOptions, BatchResult, KafkaClient, KafkaConnection, OutgoingMessage } from './kafka-types';

/** The slice of the package's KafkaJS-compatible API millrace uses. */
interface RdProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: { key?: string; value: string; headers?: Record<string, string>; timestamp?: string }[] }): Promise<{ topicName: string; partition: number; baseOffset?: string }[]>;
}
interface RdKafka {
  producer(config: Record<string, unknown>): RdProducer;
}
/** The slice of the package's native producer millrace uses. */
interface RdNativeError {
  message: string;
  code: number;
  isFatal?: boolean;
}
interface RdDeliveryReport {
  topic: string;
  partition: number;
  offset: number;
}
interface RdNativeProducer {
  connect(options: null, cb: (err: RdNativeError | null) => void): void;
  setPollInBackground(on: boolean): void;
  produce(topic: string, partition: null, value: Buffer, key: string | null, timestamp: number, opaque: unknown, headers: Record<string, string>[] | undefined): void;
  flush(timeoutMs: number, cb: (err: RdNativeError | null) => void): void;
  disconnect(timeoutMs: number, cb: (err: RdNativeError | null) => void): void;
  on(event: 'delivery-report', listener: (err: RdNativeError | null, report: RdDeliveryReport) => void): void;
  on(event: 'event.error', listener: (err: RdNativeError) => void): void;
}
interface RdModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => RdKafka };
  Producer: new (config: Record<string, unknown>) => RdNativeProducer;
  CODES: { ERRORS: { ERR__QUEUE_FULL: number; ERR__TIMED_OUT: number } };
  librdkafkaVersion: string;
}

export const LIBRDKAFKA_PACKAGE = '@confluentinc/kafka-javascript';
/** What to do where the package does not load (librdkafka(), kafka.client: auto's warning, `doctor`). */
export const LIBRDKAFKA_BUILD_HINT = 'run scripts/setup.sh, which builds its native part (it needs g++, make and libssl-dev), or set kafka.client: kafkajs in the config';

let loaded: RdModule | undefined;
let loadError: string | undefined;
/** Loads the package once; the first line of why it did not load, or undefined when it did. */
export function librdkafkaLoadError(): string | undefined {
  if (loaded || loadError !== undefined) return loadError;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(LIBRDKAFKA_PACKAGE) as RdModule;
  } catch (error) {
    loadError = String((error as Error).message).split('\n')[0];
  }
  return loadError;
}

/** The package, or an error that says how to get it. */
export function librdkafka(): RdModule {
  const missing = librdkafkaLoadError();
  if (loaded) return loaded;
  throw new MillraceError(`kafka.client is librdkafka, but ${LIBRDKAFKA_PACKAGE} cannot be loaded on this machine: ${missing}`, { hint: LIBRDKAFKA_BUILD_HINT });
}

/**
 * librdkafka's settings for the connection and an idempotent acks=all producer. Exported for the
 * unit test: what reaches librdkafka is what this returns.
 */
export function librdkafkaConfig(conn: KafkaConnection, log?: RdLogger): Record<string, unknown> {
  return {
    kafkaJS: { brokers: conn.brokers, clientId: conn.clientId, ssl: conn.tls !== undefined, connectionTimeout: conn.connectionTimeoutMs ?? 10_000, ...(log ? { logger: log } : {}) },
    ...tlsConfig(conn),
  };
}

/** librdkafka's TLS settings: the PEMs in memory (no key file on disk), the brokers' names checked. */
function tlsConfig(conn: KafkaConnection): Record<string, unknown> {
  if (!conn.tls) return {};
  return {
    'ssl.ca.pem': conn.tls.caPem,
    ...(conn.tls.certPem ? { 'ssl.certificate.pem': conn.tls.certPem } : {}),
    ...(conn.tls.keyPem ? { 'ssl.key.pem': conn.tls.keyPem } : {}),
    // The brokers' certificates name their addresses; librdkafka checks them as kafkajs does.
    'ssl.endpoint.identification.algorithm': 'https',
  };
}

/**
 * librdkafka's message.timeout.ms for the batch producer's retryTimeoutMs. librdkafka reads 0 as
 * "forever", where --retry-timeout 0 means "no re-sends of millrace's own": kafkajs then fails a
 * batch after its own retries, about 10 s. So librdkafka gets at least as long, and both backends
 * give up on an unreachable broker after about the same time.
 */
export const MIN_MESSAGE_TIMEOUT_MS = 10_000;
export function messageTimeoutMs(retryTimeoutMs: number): number {
  return Math.max(MIN_MESSAGE_TIMEOUT_MS, retryTimeoutMs);
}

/**
 * The native producer's settings, librdkafka's own names: the same connection, and the same
 * producer as librdkafkaProducerConfig. Exported for the unit test.
 */
export function librdkafkaNativeConfig(conn: KafkaConnection, retryTimeoutMs: number): Record<string, unknown> {
  return {
    'metadata.broker.list': conn.brokers.join(','),
    'client.id': conn.clientId,
    'security.protocol': conn.tls ? 'ssl' : 'plaintext',
    // librdkafka's floor for this setting is 1 s.
    'socket.connection.setup.timeout.ms': Math.max(1000, conn.connectionTimeoutMs ?? 10_000),
    ...tlsConfig(conn),
    'enable.idempotence': true,
    acks: -1,
    'max.in.flight.requests.per.connection': 5,
    partitioner: 'murmur2_random',
    'message.timeout.ms': messageTimeoutMs(retryTimeoutMs),
    'linger.ms': 5,
    // Reports for failed messages only: a written message costs no report (~5 µs of the Node
    // thread each); a flush acknowledges batches instead (producers/flush-confirmer.ts).
    dr_cb: true,
    'delivery.report.only.error': true,
  };
}

/** The logger the package's KafkaJS layer writes to (it would print to the console otherwise). */
interface RdLogger {
  setLogLevel(level: number): void;
  namespace(): RdLogger;
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  error(message: string): void;
}

/**
 * The client's errors, kept: a fatal one (a refused InitProducerId, say: no ACL lets the principal
 * write) ends every queued message with only "Local: Purged in queue", and this says why.
 */
export class RdErrors implements RdLogger {
  last: string | undefined;
  /** The brokers, named where librdkafka's own error names none ("all broker connections are down"). */
  constructor(private readonly brokers: string[] = []) {}
  setLogLevel(): void {}
  namespace(): RdLogger {
    return this;
  }
  info(message: string): void {
    logger().debug({ component: 'librdkafka' }, message);
  }
  warn(message: string): void {
    logger().debug({ component: 'librdkafka' }, message);
  }
  debug(): void {}
  error(message: string): void {
    logger().debug({ component: 'librdkafka' }, message);
    const m = message.replace(/^Error: /, '');
    // While every broker is down, each reconnect that fails says only "broker transport failure".
    if (/^broker transport failure$/i.test(m) && this.last?.startsWith('all broker connections are down')) return;
    this.last = this.brokers.length && /^all broker connections are down$/i.test(m) ? `${m}: ${this.brokers.join(', ')}` : m;
  }
  /** A send's error, with the client's last error when the send's own says nothing of the cause. */
  explain(error: Error): Error {
    if (!this.last || error.message.includes(this.last) || !/Purged|Fatal|timed out/i.test(error.message)) return error;
    return new Error(`${this.last} (${error.message})`, { cause: error });
  }
}

/** The producer's own settings: idempotent, acks=all, Java's murmur2 partitioner, retried within retryTimeoutMs. */
export function librdkafkaProducerConfig(retryTimeoutMs: number): Record<string, unknown> {
  return {
    kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 5 },
    // Spark (the Java client) and kafkajs put a key on the same partition.
    partitioner: 'murmur2_random',
    // librdkafka retries a transient failure itself (a broker restarting, a leader moving) until
    // the message times out: the batch producer's retryTimeoutMs (messageTimeoutMs says why at least 10 s).
    'message.timeout.ms': messageTimeoutMs(retryTimeoutMs),
    'linger.ms': 5,
  };
}

/** A KafkaClient that produces through librdkafka and does everything else through `base` (kafkajs). */
export function withLibrdkafkaProducer(base: KafkaClient, conn: KafkaConnection): KafkaClient {
  const rd = librdkafka();
  const errors = new RdErrors(conn.brokers);
  const kafka = new rd.KafkaJS.Kafka(librdkafkaConfig(conn, errors));
  const open: RdProducer[] = [];
  const closers: (() => Promise<void>)[] = [];
  const connected = async (retryTimeoutMs: number): Promise<RdProducer> => {
    const p = kafka.producer(librdkafkaProducerConfig(retryTimeoutMs));
    await p.connect();
    open.push(p);
    return p;
  };
  let shared: Promise<RdProducer> | undefined;
  logger().debug({ librdkafka: rd.librdkafkaVersion }, 'Kafka producer: librdkafka');

  const toBatchResult = async (topic: string, send: Promise<{ partition: number; baseOffset?: string }[]>, count: number): Promise<BatchResult> => {
    try {
      const meta = await send;
      return { ok: true, topic, count, partitions: meta.map((m) => ({ partition: m.partition, baseOffset: m.baseOffset ?? '-1' })) };
    } catch (e) {
      // The client's error event may come a moment after the message's own failure.
      await new Promise((r) => setTimeout(r, 200));
      return { ok: false, topic, count, error: errors.explain(e instanceof Error ? e : new Error(String(e))) };
    }
  };
  const plain = (messages: OutgoingMessage[]) => messages.map((m) => ({ ...(m.key !== undefined ? { key: m.key } : {}), value: m.value, ...(m.headers ? { headers: m.headers } : {}), ...(m.timestamp !== undefined ? { timestamp: String(m.timestamp) } : {}) }));

  return {
    ...base,
    async produce(topic, messages) {
      shared ??= connected(DEFAULT_RETRY_TIMEOUT_MS);
      const r = await toBatchResult(topic, (await shared).send({ topic, messages: plain(messages) }), messages.length);
      if (!r.ok) throw r.error;
    },
    async batchProducer(options = {}) {
      const p = await nativeBatchProducer(rd, conn, options);
      closers.push(() => p.close());
      return p;
    },
    async close() {
      await Promise.allSettled([base.close(), ...open.map((p) => p.disconnect()), ...closers.map((c) => c())]);
    },
  };
}

/**
 * Messages the librdkafka batch producer keeps in flight at least, past --max-in-flight batches when
 * they are small. Its batches are acknowledged by flushing, in epochs, and a small epoch spends its
 * time waiting for its flush: 1M flights went at 56,000-62,000 events/s with 4 batches of 500 in
 * flight and at 90,000-109,000 with 8,000 or more (2026-12-07, this machine). Once the Parquet
 * reader and the batches made less garbage, the flushes showed again: 211,000-222,000 with 8,000,
 * 228,000-247,000 with 32,000, and no more with 64,000 (the same day, 1M flights, three runs each).
 */
export const EPOCH_MESSAGES = 32_000;

/**
 * The batch producer on librdkafka's native producer. librdkafka batches, retries and keeps each
 * partition's order itself (idempotence). It reports failed messages only, and batches are
 * acknowledged by flushing, in epochs (producers/flush-confirmer.ts); a batch is the unit of
 * backpressure and of the result.
 */
async function nativeBatchProducer(rd: RdModule, conn: KafkaConnection, options: BatchProducerOptions): Promise<BatchProducer> {
  const errors = new RdErrors(conn.brokers);
  const retryTimeoutMs = options.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS;
  const p = new rd.Producer(librdkafkaNativeConfig(conn, retryTimeoutMs));
  p.on('event.error', (e) => errors.error(e.message));
  await new Promise<void>((resolve, reject) => p.connect(null, (err) => (err ? reject(errors.explain(new Error(err.message))) : resolve())));
  p.setPollInBackground(true);
  const { ERR__QUEUE_FULL, ERR__TIMED_OUT } = rd.CODES.ERRORS;
  const confirmer = new FlushConfirmer(
    {
      // No opaque (undefined, not null): the package keeps a handle for one until its report, and a written message has none.
      produce: (topic, m) => p.produce(topic, null, Buffer.from(m.value), m.key ?? null, m.timestamp ?? 0, undefined, m.headers ? nativeHeaders(m.headers) : undefined),
      queueIsFull: (e) => (e as RdNativeError).code === ERR__QUEUE_FULL,
      flush: (timeoutMs) => new Promise<void>((resolve, reject) => p.flush(timeoutMs, (err) => (err ? reject(Object.assign(new Error(err.message), { code: err.code })) : resolve()))),
      flushTimedOut: (e) => (e as RdNativeError).code === ERR__TIMED_OUT,
      explain: (e) => errors.explain(e),
    },
    { messageTimeoutMs: messageTimeoutMs(retryTimeoutMs) },
  );
  p.on('delivery-report', (err, report) => {
    if (err) confirmer.failed(report.topic, new Error(err.message));
  });

  // At least EPOCH_MESSAGES in flight, whatever the batch size: each epoch waits for its flush.
  const window = new InFlightWindow<BatchResult>(options.maxInFlight ?? 4, EPOCH_MESSAGES);
  let closed: Promise<void> | undefined;
  return {
    library: 'librdkafka',
    send: (topic, messages) => window.add(() => confirmer.send(topic, messages), messages.length),
    flush: () => window.drain(),
    close: () =>
      (closed ??= window.drain().then(
        () => new Promise<void>((resolve) => p.disconnect(5000, () => resolve())),
      )),
  };
}

/** librdkafka's header form, one single-key object per header, built without entries arrays (once per message). */
function nativeHeaders(headers: Record<string, string>): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const k in headers) out.push({ [k]: headers[k]! });
  return out;
}
