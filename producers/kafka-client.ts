/**
 * The kafkajs implementation of KafkaClient (producers/kafka-types.ts). This is the only module
 * that imports kafkajs. kafka.client: librdkafka swaps its producing for librdkafka's
 * (producers/kafka-client-librdkafka.ts, @confluentinc/kafka-javascript's KafkaJS-compatible API).
 */
import type { AclEntry, AclOperationTypes, AclResourceTypes, IHeaders, Kafka, LogEntry, Message, PartitionMetadata, Producer } from 'kafkajs';
import { lazy } from '../lib/lazy';
import { logger } from '../lib/logger';
import { sleep, waitFor } from '../lib/retry';
import { CoordinatorAnswer, judgeCoordinatorAnswers, rideThroughCoordinator } from './group-coordinator';
import { InFlightWindow } from './in-flight';
import { byPartition, PartitionLanes } from './partition-lanes';
import { DEFAULT_RETRY_TIMEOUT_MS } from './kafka-types';
import { LIBRDKAFKA_BUILD_HINT, LIBRDKAFKA_PACKAGE, librdkafkaLoadError, withLibrdkafkaProducer } from './kafka-client-librdkafka';
import type { AclBinding, AclOperation, AclResourceType, BatchResult, KafkaClient, KafkaConnection, OutgoingMessage, ReceivedMessage, TailOptions } from './kafka-types';

/** kafkajs, loaded when the first client is made (commands that never talk to Kafka start without it). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajs = lazy(() => require('kafkajs') as typeof import('kafkajs'));

export type * from './kafka-types';
export { ACL_OPERATIONS } from './kafka-types';

const SEND_CHUNK = 500;
/** Pauses between re-sends of a batch after a transient failure: doubling from 0.5 s to 5 s. */
const RETRY_PAUSE_MS = 500;
const RETRY_PAUSE_MAX_MS = 5000;

/**
 * Whether a failed send is worth repeating: a connection refused or cut, a request timed out, a
 * leader moving (kafkajs marks such errors retriable, also inside its "retries exceeded"). A
 * refusal (authorization) or a bad request is not.
 */
export function isTransient(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    if (isAuthorizationError(e)) return false;
    if ((e as { retriable?: unknown }).retriable === true) return true;
    if (TRANSIENT_ERRORS.has(e.name)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
const TRANSIENT_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound', 'KafkaJSMetadataNotLoaded', 'KafkaJSLockTimeout']);

const TOPIC_LEADER_WAIT_MS = 60_000;
/** What a broker answers about a topic whose creation is still settling (KRaft publishes it to the metadata cache a little later). */
const SETTLING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Waits until every partition of a just-created topic has a leader. Answers that say it is still
 * settling are waited through; anything else (a refusal, say) fails at once.
 */
export async function waitForTopicLeaders(
  fetch: () => Promise<{ topics: { name: string; partitions: { partitionId: number; leader: number }[] }[] }>,
  topic: string,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  let fatal: unknown;
  await waitFor(
    async () => {
      try {
        const t = (await fetch()).topics.find((x) => x.name === topic);
        return t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
      } catch (error) {
        if (SETTLING.has(String((error as { type?: unknown }).type))) throw error; // waited through
        fatal = error;
        return true;
      }
    },
    { timeout: timeoutMs, interval: intervalMs, what: `the partitions of topic ${topic} to have leaders`, hint: 'check the brokers with `millrace status`' },
  );
  if (fatal) throw fatal;
}

/**
 * A kafkajs instance for the connection. Quiet unless --debug: kafkajs logs every group join and
 * retry, which would tear through the progress line; with --debug, its records go to the pino
 * root like everything else. `observe` sees its error records (and with --debug, all of them).
 */
function kafkaFor(conn: KafkaConnection, observe?: (entry: LogEntry) => void): Kafka {
  const debug = logger().isLevelEnabled('debug');
  return new (kafkajs().Kafka)({
    clientId: conn.clientId,
    brokers: conn.brokers,
    ssl: conn.tls ? { ca: [conn.tls.caPem], cert: conn.tls.certPem, key: conn.tls.keyPem, rejectUnauthorized: true } : false,
    connectionTimeout: conn.connectionTimeoutMs ?? 10_000,
    retry: { retries: conn.retries ?? 5 },
    logLevel: debug ? kafkajs().logLevel.DEBUG : observe ? kafkajs().logLevel.ERROR : kafkajs().logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      observe?.(entry);
      if (!debug) return;
      const { message, ...fields } = entry.log;
      logger().child({ component: 'kafkajs', namespace: entry.namespace }).debug(fields, message);
    },
  });
}

/**
 * A broker's error answer to FindCoordinator. kafkajs's coordinator lookup swallows it (a
 * refusal and a coordinator still being created both end as "Failed to find group
 * coordinator"), but its connection logs every failed response at ERROR with the broker's error.
 */
export function coordinatorAnswer(entry: LogEntry): CoordinatorAnswer | undefined {
  const { message, error, broker } = entry.log as { message?: unknown; error?: unknown; broker?: unknown };
  if (typeof message !== 'string' || !message.startsWith('Response GroupCoordinator(') || typeof error !== 'string') return undefined;
  return { broker: typeof broker === 'string' ? broker : 'a broker', error };
}

/** What kafka.client: auto comes to on this machine: librdkafka where it loads, else kafkajs, with a warning that says how to build it. */
export function autoProducerLibrary(): { library: 'kafkajs' | 'librdkafka'; warning?: string } {
  const missing = librdkafkaLoadError();
  if (!missing) return { library: 'librdkafka' };
  return {
    library: 'kafkajs',
    warning: `kafka.client is auto and ${LIBRDKAFKA_PACKAGE} cannot be loaded on this machine (${missing}): producing with kafkajs, at about a third of librdkafka's throughput; ${LIBRDKAFKA_BUILD_HINT}`,
  };
}

/**
 * The client for the connection: kafkajs, with librdkafka's producer when conn.client says so.
 * auto chooses when the client first produces (commands that never produce do not load the
 * native module).
 */
export function createKafkaClient(conn: KafkaConnection): KafkaClient {
  const base = createKafkajsClient(conn);
  if (conn.client === 'librdkafka') return withLibrdkafkaProducer(base, conn);
  if (conn.client !== 'auto') return base;
  let chosen: KafkaClient | undefined;
  const producing = (): KafkaClient => {
    if (chosen) return chosen;
    const { library, warning } = autoProducerLibrary();
    if (warning) logger().warn(warning);
    return (chosen = library === 'librdkafka' ? withLibrdkafkaProducer(base, conn) : base);
  };
  return {
    ...base,
    produce: (topic, messages) => producing().produce(topic, messages),
    batchProducer: (options) => producing().batchProducer(options),
    close: () => (chosen ?? base).close(),
  };
}

function createKafkajsClient(conn: KafkaConnection): KafkaClient {
  const kafka = kafkaFor(conn);
  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  const withAdmin = async (): Promise<typeof admin> => {
    adminConnected ??= admin.connect();
    await adminConnected;
    return admin;
  };
  const newProducer = (): Producer =>
    kafka.producer({
      idempotent: true,
      // Kafka's ceiling for an idempotent producer that keeps per-partition order.
      maxInFlightRequests: 5,
      // The idempotent producer needs retries of its own to keep its ordering guarantee.
      retry: { retries: Math.max(1, conn.retries ?? 5) },
      // Java's murmur2 partitioner, so Spark (Java client) and millrace put a key on the same partition.
      createPartitioner: kafkajs().Partitioners.DefaultPartitioner,
    });
  const producer = newProducer();
  let producerConnected: Promise<void> | undefined;
  const closers: (() => Promise<void>)[] = [];

  /** One consumer from connect to stop; a crash before it joined its group is judged by the brokers' FindCoordinator answers. */
  const tailOnce = async ({ topic, groupId, fromBeginning, commit = false, partition: only, startOffset, signal, onMessage }: TailOptions): Promise<void> => {
    if (signal.aborted) return;
    const answers: CoordinatorAnswer[] = [];
    const consumer = kafkaFor(conn, (entry) => {
      const answer = coordinatorAnswer(entry);
      if (answer) answers.push(answer);
    }).consumer({ groupId });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning });
      const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
      // kafkajs restarts a consumer after most crashes, a refused authorization included, which
      // would retry a permanent refusal until the caller gives up: that one is final.
      const crashed = new Promise<never>((_, reject) =>
        consumer.on(consumer.events.CRASH, (e) => {
          const error = e.payload.error;
          const judged = !joined && error.name === 'KafkaJSGroupCoordinatorNotFound' ? judgeCoordinatorAnswers(groupId, answers) : undefined;
          if (judged) reject(judged);
          else if (!e.payload.restart || isAuthorizationError(error)) reject(error);
        }),
      );
      await consumer.run({
        autoCommit: commit,
        eachMessage: async ({ topic: t, partition, message }) => {
          // kafkajs may still hand over the rest of a fetched batch after the stop signal.
          if (signal.aborted) return;
          if (only !== undefined && partition !== only) return;
          await onMessage({
            topic: t,
            partition,
            offset: message.offset,
            key: message.key?.toString(),
            value: message.value?.toString() ?? '',
            timestamp: message.timestamp,
            headers: headersToStrings(message.headers),
          });
        },
      });
      if (only !== undefined) {
        // kafkajs has no manual assignment: the throwaway group gets every partition, reads the
        // one asked for from the offset asked for (a seek applies once it is assigned), and the
        // others stay paused.
        if (startOffset !== undefined) consumer.seek({ topic, partition: only, offset: startOffset });
        const others = (await (await withAdmin()).fetchTopicOffsets(topic)).map((p) => p.partition).filter((p) => p !== only);
        if (others.length) consumer.pause([{ topic, partitions: others }]);
      }
      await Promise.race([stopped, crashed]);
    } finally {
      await consumer.disconnect();
    }
  };

  // Before its group exists a consumer rides through the coordinator's creation (see group-coordinator.ts).
  const tail = (options: TailOptions): Promise<void> =>
    rideThroughCoordinator(() => tailOnce(options), {
      groupId: options.groupId,
      brokers: conn.brokers,
      waitMs: conn.groupCoordinatorWaitMs,
      onWait: (r) => logger().info({ group: r.groupId, broker: r.answer.broker }, `waiting for a coordinator for consumer group ${r.groupId}: ${r.answer.error}`),
    });

  return {
    async describeCluster() {
      return (await withAdmin()).describeCluster();
    },
    async createTopic(topic, partitions, replicationFactor, config = {}) {
      const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
      const a = await withAdmin();
      // kafkajs's own wait (waitForLeaders) gives up on the first "does not host this
      // topic-partition", which KRaft answers while a new topic's metadata settles: wait here.
      const made = await a.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries }], waitForLeaders: false });
      await waitForTopicLeaders(() => a.fetchTopicMetadata({ topics: [topic] }), topic, conn.topicLeaderWaitMs ?? TOPIC_LEADER_WAIT_MS);
      return made;
    },
    async deleteTopic(topic) {
      await (await withAdmin()).deleteTopics({ topics: [topic] });
    },
    async listTopics() {
      return (await withAdmin()).listTopics();
    },
    async describeTopics(topics) {
      const a = await withAdmin();
      const meta = await a.fetchTopicMetadata({ topics });
      const configs = await a.describeConfigs({ resources: topics.map((name) => ({ type: kafkajs().ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
      return meta.topics.map((t) => {
        const entries = configs.resources.find((r) => r.resourceName === t.name)?.configEntries ?? [];
        const set = entries.filter((e) => e.configSource === kafkajs().ConfigSource.TOPIC_CONFIG && !e.isSensitive);
        return {
          name: t.name,
          partitions: t.partitions
            .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr }))
            .sort((x, y) => x.partition - y.partition),
          config: Object.fromEntries(set.map((e) => [e.configName, e.configValue])),
        };
      });
    },
    async produce(topic, messages) {
      producerConnected ??= producer.connect();
      await producerConnected;
      for (let i = 0; i < messages.length; i += SEND_CHUNK) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + SEND_CHUNK).map(kafkajsMessage) });
      }
    },
    async batchProducer(options = {}) {
      const p = newProducer();
      await p.connect();
      const window = new InFlightWindow<BatchResult>(options.maxInFlight ?? 4);
      const retryTimeoutMs = options.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS;
      // Each batch goes out split by partition, one send per partition at a time (partition-lanes.ts says why).
      const lanes = new PartitionLanes();
      const partitioner = kafkajs().Partitioners.DefaultPartitioner();
      const partitionsOf = new Map<string, Promise<PartitionMetadata[]>>();
      const partitionMetadata = (topic: string): Promise<PartitionMetadata[]> => {
        let known = partitionsOf.get(topic);
        if (!known) {
          known = withAdmin()
            .then((a) => a.fetchTopicMetadata({ topics: [topic] }))
            .then((m) => m.topics[0]?.partitions ?? []);
          partitionsOf.set(topic, known);
          known.catch(() => partitionsOf.delete(topic));
        }
        return known;
      };
      // The first failure for good. The parts still waiting for their partition's lane then fail at
      // once: they would meet the same brokers, and each would wait out kafkajs's retries in turn
      // (with --retry-timeout 0 and the broker gone, 20 s a batch).
      let broken: Error | undefined;
      const notSent = (topic: string, count: number, cause: Error): BatchResult => ({ ok: false, topic, count, error: new Error(`not sent: an earlier batch failed (${cause.message})`, { cause }) });
      const sendOne = async (topic: string, messages: (Message & { partition: number })[]): Promise<BatchResult> => {
        const deadline = Date.now() + retryTimeoutMs;
        for (let attempt = 1; ; attempt++) {
          if (broken) return notSent(topic, messages.length, broken);
          try {
            const meta = await p.send({ topic, acks: -1, messages });
            const partitions = meta.map((m) => ({ partition: m.partition, baseOffset: m.baseOffset ?? '-1' }));
            return { ok: true, topic, count: messages.length, partitions };
          } catch (e) {
            const error = e instanceof Error ? e : new Error(String(e));
            // kafkajs has retried for a few seconds already; a broker that is restarting takes longer.
            const pause = Math.min(RETRY_PAUSE_MAX_MS, RETRY_PAUSE_MS * 2 ** Math.min(attempt - 1, 6));
            if (!isTransient(error) || Date.now() + pause > deadline) {
              broken ??= error;
              return { ok: false, topic, count: messages.length, error };
            }
            options.onRetry?.({ topic, attempt, error });
            await sleep(pause);
          }
        }
      };
      const sendBatch = async (topic: string, messages: OutgoingMessage[]): Promise<BatchResult> => {
        let partitions: PartitionMetadata[];
        try {
          partitions = await partitionMetadata(topic);
          if (!partitions.length) throw new Error(`the brokers know no partitions of topic ${topic}`);
        } catch (e) {
          return { ok: false, topic, count: messages.length, error: e instanceof Error ? e : new Error(String(e)) };
        }
        // Each message in kafkajs's form once: the partitioner reads it, and it is sent with its partition set.
        const parts = byPartition(messages.map(kafkajsMessage), (message) => partitioner({ topic, partitionMetadata: partitions, message }));
        const results = await Promise.all(
          [...parts].map(([partition, part]) => {
            const placed = part as (Message & { partition: number })[];
            for (const m of placed) m.partition = partition;
            return lanes.run(`${topic}\0${partition}`, () => sendOne(topic, placed));
          }),
        );
        const failed = results.find((r) => !r.ok);
        if (failed) return { ...failed, count: messages.length };
        return { ok: true, topic, count: messages.length, partitions: results.flatMap((r) => (r.ok ? (r.partitions ?? []) : [])) };
      };
      let closed: Promise<void> | undefined;
      const closer = (): Promise<void> => (closed ??= window.drain().then(() => disconnectWithin('producer', () => p.disconnect())));
      closers.push(closer);
      return {
        library: 'kafkajs',
        send: (topic, messages) => window.add(() => sendBatch(topic, messages)),
        flush: () => window.drain(),
        close: closer,
      };
    },
    async consume(topic, groupId, count, timeoutMs) {
      const received: ReceivedMessage[] = [];
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), timeoutMs);
      try {
        await tail({
          topic,
          groupId,
          fromBeginning: true,
          commit: true,
          signal: stop.signal,
          onMessage: (m) => {
            received.push(m);
            if (received.length >= count) stop.abort();
          },
        });
      } finally {
        clearTimeout(timer);
      }
      return received;
    },
    tail,
    async consumerLag(groupId, topic) {
      const a = await withAdmin();
      const [committed, ends] = await Promise.all([a.fetchOffsets({ groupId, topics: [topic] }), a.fetchTopicOffsets(topic)]);
      const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
      return ends
        .map((e) => {
          const c = byPartition.get(e.partition);
          const has = c !== undefined && BigInt(c) >= 0n;
          const from = has ? BigInt(c) : BigInt(e.low);
          const lag = BigInt(e.high) - from;
          return { partition: e.partition, committed: has ? c : null, low: e.low, high: e.high, lag: String(lag < 0n ? 0n : lag) };
        })
        .sort((x, y) => x.partition - y.partition);
    },
    async topicOffsets(topic) {
      const ends = await (await withAdmin()).fetchTopicOffsets(topic);
      return ends.map((e) => ({ partition: e.partition, low: e.low, high: e.high })).sort((x, y) => x.partition - y.partition);
    },
    async alterTopicConfig(topic, change) {
      const a = await withAdmin();
      // kafkajs has no IncrementalAlterConfigs, and AlterConfigs replaces a topic's whole
      // topic-level config: read it, change it, write all of it back.
      const current = await a.describeConfigs({ resources: [{ type: kafkajs().ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
      const entries = current.resources[0]?.configEntries ?? [];
      const merged = new Map(entries.filter((e) => e.configSource === kafkajs().ConfigSource.TOPIC_CONFIG && !e.isSensitive).map((e) => [e.configName, e.configValue]));
      for (const k of change.delete) merged.delete(k);
      for (const [k, v] of Object.entries(change.set)) merged.set(k, v);
      await a.alterConfigs({
        validateOnly: false,
        resources: [{ type: kafkajs().ConfigResourceTypes.TOPIC, name: topic, configEntries: [...merged].map(([name, value]) => ({ name, value })) }],
      });
    },
    async refusedTopicConfigs(config) {
      const a = await withAdmin();
      const refused: string[] = [];
      for (const [name, value] of Object.entries(config)) {
        // validateOnly creates nothing, so there are no leaders to wait for.
        const topic = `millrace-config-check-${Math.random().toString(36).slice(2, 10)}`;
        await a
          .createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name, value }] }] })
          .catch(() => refused.push(name));
      }
      return refused;
    },
    async createAcls(acls) {
      await (await withAdmin()).createAcls({ acl: acls.map(toKafkaJsAcl) });
    },
    async deleteAcls(acls) {
      if (acls.length === 0) return 0;
      const res = await (await withAdmin()).deleteAcls({ filters: acls.map(toKafkaJsAcl) });
      return res.filterResponses.reduce((n, r) => n + r.matchingAcls.length, 0);
    },
    async describeAcls(filter) {
      const res = await (await withAdmin()).describeAcls({
        resourceType: filter.resourceType ? RESOURCE()[filter.resourceType] : kafkajs().AclResourceTypes.ANY,
        resourceName: filter.resourceName,
        resourcePatternType: filter.patternType ? PATTERN()[filter.patternType] : kafkajs().ResourcePatternTypes.ANY,
        principal: filter.principal,
        operation: kafkajs().AclOperationTypes.ANY,
        permissionType: kafkajs().AclPermissionTypes.ANY,
      });
      return res.resources.flatMap((r) => r.acls.map((a) => fromKafkaJsAcl({ ...r, ...a })));
    },
    async close() {
      await Promise.allSettled([
        adminConnected && disconnectWithin('admin client', () => admin.disconnect()),
        producerConnected && disconnectWithin('producer', () => producer.disconnect()),
        ...closers.map((c) => c()),
      ]);
    },
  };
}

/**
 * kafkajs's disconnect first waits for every request still queued on each connection, and its own
 * source warns that this "may stuck forever": a request that never went out is only failed when the
 * broker drops the idle connection (connections.max.idle.ms, 10 minutes by default). Every record
 * is settled (acknowledged or failed) before a client closes, so what is left is bounded: after
 * `ms` the connection is left to the process's exit, with a warning.
 */
export async function disconnectWithin(what: string, disconnect: () => Promise<void>, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'gave up'>((resolve) => {
    timer = setTimeout(() => resolve('gave up'), ms);
    timer.unref();
  });
  const disconnecting = disconnect().then(() => 'done' as const);
  // Once the wait is over, a late failure has nowhere to go (unhandled, it would end the process).
  disconnecting.catch(() => undefined);
  const outcome = await Promise.race([disconnecting, gaveUp]);
  clearTimeout(timer);
  if (outcome === 'gave up') logger().warn({ client: what }, `the Kafka ${what} did not disconnect within ${ms / 1000} s (a request still queued on a connection); leaving it to the process's exit`);
}

const RESOURCE = lazy((): Record<AclResourceType, AclResourceTypes> => ({
  topic: kafkajs().AclResourceTypes.TOPIC,
  group: kafkajs().AclResourceTypes.GROUP,
  cluster: kafkajs().AclResourceTypes.CLUSTER,
  'transactional-id': kafkajs().AclResourceTypes.TRANSACTIONAL_ID,
  'delegation-token': kafkajs().AclResourceTypes.DELEGATION_TOKEN,
}));
const PATTERN = lazy(() => ({ literal: kafkajs().ResourcePatternTypes.LITERAL, prefixed: kafkajs().ResourcePatternTypes.PREFIXED }));
const OPERATION = lazy((): Record<AclOperation, AclOperationTypes> => ({
  all: kafkajs().AclOperationTypes.ALL,
  read: kafkajs().AclOperationTypes.READ,
  write: kafkajs().AclOperationTypes.WRITE,
  create: kafkajs().AclOperationTypes.CREATE,
  delete: kafkajs().AclOperationTypes.DELETE,
  alter: kafkajs().AclOperationTypes.ALTER,
  describe: kafkajs().AclOperationTypes.DESCRIBE,
  'describe-configs': kafkajs().AclOperationTypes.DESCRIBE_CONFIGS,
  'alter-configs': kafkajs().AclOperationTypes.ALTER_CONFIGS,
  'idempotent-write': kafkajs().AclOperationTypes.IDEMPOTENT_WRITE,
}));

function reverse<K extends string, V>(map: Record<K, V>, value: V): K | undefined {
  return (Object.keys(map) as K[]).find((k) => map[k] === value);
}

/** kafkajs's numeric enums for an ACL; exported for the mapping's unit test. */
export function toKafkaJsAcl(a: AclBinding): AclEntry {
  return {
    resourceType: RESOURCE()[a.resourceType],
    resourceName: a.resourceName,
    resourcePatternType: PATTERN()[a.patternType],
    principal: a.principal,
    host: a.host,
    operation: OPERATION()[a.operation],
    permissionType: a.permission === 'deny' ? kafkajs().AclPermissionTypes.DENY : kafkajs().AclPermissionTypes.ALLOW,
  };
}

export function fromKafkaJsAcl(a: AclEntry): AclBinding {
  return {
    resourceType: reverse(RESOURCE(), a.resourceType) ?? 'topic',
    resourceName: a.resourceName,
    patternType: a.resourcePatternType === kafkajs().ResourcePatternTypes.PREFIXED ? 'prefixed' : 'literal',
    principal: a.principal,
    host: a.host,
    operation: reverse(OPERATION(), a.operation) ?? 'all',
    permission: a.permissionType === kafkajs().AclPermissionTypes.DENY ? 'deny' : 'allow',
  };
}

/** kafkajs's form of a message: its timestamp is a string of epoch ms. */
function kafkajsMessage(m: OutgoingMessage): Message {
  return m.timestamp === undefined ? { key: m.key, value: m.value, headers: m.headers } : { key: m.key, value: m.value, headers: m.headers, timestamp: String(m.timestamp) };
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}

function isAuthorizationError(error: unknown): boolean {
  const e = error as { type?: string; message?: string } | undefined;
  return /AUTHORIZATION_FAILED/.test(e?.type ?? '') || /not authorized/i.test(e?.message ?? '');
}
