/**
 * The librdkafka backend of KafkaClient (producers/kafka-types.ts), through
 * @confluentinc/kafka-javascript's KafkaJS-compatible API: kafka.client: librdkafka in the config.
 * It produces (`produce` and the batch producer, the hot path of `millrace produce`); topics,
 * ACLs, offsets and consumers stay on the kafkajs client it is given, whose behaviour the rest of
 * millrace is built on (its coordinator and refusal handling, producers/group-coordinator.ts).
 *
 * This is the only module that loads @confluentinc/kafka-javascript. Its native part is built on
 * this machine by scripts/setup.sh (npm's install script for it is denied in package.json: it
 * downloads a prebuilt binary from GitHub or, failing that, librdkafka's own dependencies).
 */
import { MillraceError } from '../lib/errors';
import { logger } from '../lib/logger';
import { InFlightWindow } from './in-flight';
import { DEFAULT_RETRY_TIMEOUT_MS } from './kafka-types';
import type { BatchResult, KafkaClient, KafkaConnection, OutgoingMessage } from './kafka-types';

/** The slice of the package's KafkaJS-compatible API millrace uses. */
interface RdProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: { key?: string; value: string; headers?: Record<string, string> }[] }): Promise<{ topicName: string; partition: number; baseOffset?: string }[]>;
}
interface RdKafka {
  producer(config: Record<string, unknown>): RdProducer;
}
interface RdModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => RdKafka };
  librdkafkaVersion: string;
}

export const LIBRDKAFKA_PACKAGE = '@confluentinc/kafka-javascript';

let loaded: RdModule | undefined;
/** The package, or an error that says how to get it. */
export function librdkafka(): RdModule {
  if (loaded) return loaded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(LIBRDKAFKA_PACKAGE) as RdModule;
    return loaded;
  } catch (error) {
    throw new MillraceError(`kafka.client is librdkafka, but ${LIBRDKAFKA_PACKAGE} cannot be loaded on this machine: ${String((error as Error).message).split('\n')[0]}`, {
      hint: 'run scripts/setup.sh, which builds its native part (it needs g++, make and libssl-dev), or set kafka.client: kafkajs in the config',
    });
  }
}

/**
 * librdkafka's settings for the connection and an idempotent acks=all producer. Exported for the
 * unit test: what reaches librdkafka is what this returns.
 */
export function librdkafkaConfig(conn: KafkaConnection, log?: RdLogger): Record<string, unknown> {
  return {
    kafkaJS: { brokers: conn.brokers, clientId: conn.clientId, ssl: conn.tls !== undefined, connectionTimeout: conn.connectionTimeoutMs ?? 10_000, ...(log ? { logger: log } : {}) },
    ...(conn.tls
      ? {
          'ssl.ca.pem': conn.tls.caPem,
          ...(conn.tls.certPem ? { 'ssl.certificate.pem': conn.tls.certPem } : {}),
          ...(conn.tls.keyPem ? { 'ssl.key.pem': conn.tls.keyPem } : {}),
          // The brokers' certificates name their addresses; librdkafka checks them as kafkajs does.
          'ssl.endpoint.identification.algorithm': 'https',
        }
      : {}),
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
    this.last = message.replace(/^Error: /, '');
    logger().debug({ component: 'librdkafka' }, message);
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
    // the message times out: the batch producer's retryTimeoutMs.
    'message.timeout.ms': retryTimeoutMs,
    'linger.ms': 5,
  };
}

/** A KafkaClient that produces through librdkafka and does everything else through `base` (kafkajs). */
export function withLibrdkafkaProducer(base: KafkaClient, conn: KafkaConnection): KafkaClient {
  const rd = librdkafka();
  const errors = new RdErrors();
  const kafka = new rd.KafkaJS.Kafka(librdkafkaConfig(conn, errors));
  const open: RdProducer[] = [];
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
  const plain = (messages: OutgoingMessage[]) => messages.map((m) => ({ ...(m.key !== undefined ? { key: m.key } : {}), value: m.value, ...(m.headers ? { headers: m.headers } : {}) }));

  return {
    ...base,
    async produce(topic, messages) {
      shared ??= connected(DEFAULT_RETRY_TIMEOUT_MS);
      const r = await toBatchResult(topic, (await shared).send({ topic, messages: plain(messages) }), messages.length);
      if (!r.ok) throw r.error;
    },
    async batchProducer(options = {}) {
      const p = await connected(options.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS);
      // librdkafka keeps per-partition order itself (idempotence), so batches go out whole.
      const window = new InFlightWindow<BatchResult>(options.maxInFlight ?? 4);
      return {
        send: (topic, messages) => window.add(() => toBatchResult(topic, p.send({ topic, messages: plain(messages) }), messages.length)),
        flush: () => window.drain(),
        close: () => window.drain().then(() => p.disconnect()),
      };
    },
    async close() {
      await Promise.allSettled([base.close(), ...open.map((p) => p.disconnect())]);
    },
  };
}
