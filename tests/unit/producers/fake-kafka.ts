/**
 * An in-memory KafkaClient for the producer and consumer pipelines' unit tests. It stands in for
 * the brokers only; the kafkajs client itself is proved by the integration suite.
 */
import { CoordinatorAnswer, judgeCoordinatorAnswers, rideThroughCoordinator } from '../../../producers/group-coordinator';
import { InFlightWindow } from '../../../producers/in-flight';
import type { BatchResult, KafkaClient, OutgoingMessage, ReceivedMessage } from '../../../producers/kafka-types';

export interface FakeOptions {
  partitions?: number;
  /** Fails every batch sent to this topic, as an authorization failure would. */
  failTopic?: string;
  /** Resolves acknowledgements only after this many ms. */
  ackDelayMs?: number;
  /**
   * The group coordinator answers "not available" to this many join attempts first, as while the
   * brokers create __consumer_offsets (Infinity: it never comes).
   */
  coordinatorNotReadyFor?: number;
  /** Groups the principal may not use: FindCoordinator is refused (GROUP_AUTHORIZATION_FAILED). */
  refusedGroups?: RegExp;
  /** The consumer's bounded wait for the coordinator (the connection's groupCoordinatorWaitMs). */
  coordinatorWaitMs?: number;
}

export interface FakeKafka extends KafkaClient {
  messages(topic: string): ReceivedMessage[];
  batches: { topic: string; count: number }[];
  maxInFlightSeen: number;
  /** Every FindCoordinator a consumer sent, by group. */
  joinAttempts: string[];
}

/** The topic configs the fake knows; any other name is refused as the broker refuses it. */
const KNOWN_CONFIGS = ['retention.ms', 'cleanup.policy', 'min.insync.replicas', 'segment.bytes', 'max.message.bytes'];
function checkConfigNames(names: string[]): void {
  const unknown = names.find((n) => !KNOWN_CONFIGS.includes(n));
  // The broker's InvalidConfigurationException, as kafkajs reports it.
  if (unknown) throw Object.assign(new Error(`Unknown topic config name: ${unknown}`), { name: 'KafkaJSProtocolError', type: 'INVALID_CONFIG' });
}

/** Stable partition for a key, like a real partitioner (not murmur2, which the tests don't need). */
function partitionFor(key: string | undefined, n: number, i: number): number {
  if (key === undefined) return i % n;
  let h = 0;
  for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % n;
}

export function fakeKafka(options: FakeOptions = {}): FakeKafka {
  const partitions = options.partitions ?? 3;
  const topics = new Map<string, ReceivedMessage[]>();
  const committed = new Map<string, Map<number, string>>();
  const configs = new Map<string, Record<string, string>>();
  const batches: { topic: string; count: number }[] = [];
  let inFlight = 0;
  const append = (topic: string, messages: OutgoingMessage[]): void => {
    const log = topics.get(topic) ?? [];
    topics.set(topic, log);
    for (const m of messages) {
      const partition = partitionFor(m.key, partitions, log.length);
      const offset = String(log.filter((x) => x.partition === partition).length);
      log.push({ topic, partition, offset, key: m.key, value: m.value, timestamp: String(m.timestamp ?? 1700000000000), headers: m.headers }); // CreateTime: the producer's timestamp, else a fixed one
    }
  };
  const BROKER = '127.0.0.11:9093';
  let notReady = options.coordinatorNotReadyFor ?? 0;
  /** A consumer's way into its group, through the same ride-through as the real client's. */
  const joined = <T>(groupId: string, consume: () => Promise<T>): Promise<T> =>
    rideThroughCoordinator(
      async () => {
        fake.joinAttempts.push(groupId);
        const answers: CoordinatorAnswer[] = [];
        if (options.refusedGroups?.test(groupId)) answers.push({ broker: BROKER, error: 'Not authorized to access group: Group authorization failed' });
        else if (notReady-- > 0) answers.push({ broker: BROKER, error: 'The group coordinator is not available' });
        const failure = judgeCoordinatorAnswers(groupId, answers);
        if (failure) throw failure;
        return consume();
      },
      { groupId, brokers: [BROKER], waitMs: options.coordinatorWaitMs, intervalMs: 5 },
    );
  const fake: FakeKafka = {
    batches,
    maxInFlightSeen: 0,
    joinAttempts: [],
    messages: (topic) => topics.get(topic) ?? [],
    async describeCluster() {
      return { brokers: [{ nodeId: 1, host: '127.0.0.11', port: 9093 }], controller: 1, clusterId: 'fake' };
    },
    async createTopic(topic, _partitions, _rf, config = {}) {
      if (topics.has(topic)) return false;
      checkConfigNames(Object.keys(config));
      topics.set(topic, []);
      configs.set(topic, { ...config });
      return true;
    },
    async alterTopicConfig(topic, change) {
      if (!topics.has(topic)) throw new Error(`This server does not host this topic-partition: ${topic}`);
      checkConfigNames([...Object.keys(change.set), ...change.delete]);
      const c = configs.get(topic) ?? {};
      for (const k of change.delete) delete c[k];
      Object.assign(c, change.set);
      configs.set(topic, c);
    },
    async deleteTopic(topic) {
      topics.delete(topic);
    },
    async listTopics() {
      return [...topics.keys()];
    },
    async describeTopics(names) {
      return names.map((name) => ({ name, partitions: [...Array(partitions).keys()].map((p) => ({ partition: p, leader: 1, replicas: [1], isr: [1] })), config: { ...configs.get(name) } }));
    },
    async produce(topic, messages) {
      append(topic, messages);
    },
    async batchProducer(o = {}) {
      const window = new InFlightWindow<BatchResult>(o.maxInFlight ?? 4);
      const sendOne = async (topic: string, messages: OutgoingMessage[]): Promise<BatchResult> => {
        inFlight++;
        fake.maxInFlightSeen = Math.max(fake.maxInFlightSeen, inFlight);
        try {
          await new Promise((r) => setTimeout(r, options.ackDelayMs ?? 0));
          batches.push({ topic, count: messages.length });
          if (topic === options.failTopic) return { ok: false, topic, count: messages.length, error: new Error(`Not authorized to access topics: [${topic}]`) };
          append(topic, messages);
          return { ok: true, topic, count: messages.length, partitions: [] };
        } finally {
          inFlight--;
        }
      };
      return { library: 'kafkajs', send: (topic, messages) => window.add(() => sendOne(topic, messages)), flush: () => window.drain(), close: () => window.drain() };
    },
    async consume(topic, groupId, count) {
      return joined(groupId, async () => fake.messages(topic).slice(0, count));
    },
    async tail({ topic, groupId, signal, onMessage, commit, partition, startOffset }) {
      await joined(groupId, async () => {
        for (const m of fake.messages(topic)) {
          if (signal.aborted) break;
          if (partition !== undefined && (m.partition !== partition || BigInt(m.offset) < BigInt(startOffset ?? '0'))) continue;
          await onMessage(m);
          if (commit) {
            const g = committed.get(groupId) ?? new Map<number, string>();
            committed.set(groupId, g);
            g.set(m.partition, String(BigInt(m.offset) + 1n));
          }
        }
        if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      });
    },
    async consumerLag(groupId, topic) {
      return (await fake.topicOffsets(topic)).map((e) => {
        const c = committed.get(groupId)?.get(e.partition) ?? null;
        return { partition: e.partition, committed: c, low: e.low, high: e.high, lag: String(BigInt(e.high) - BigInt(c ?? e.low)) };
      });
    },
    async topicOffsets(topic) {
      return [...Array(partitions).keys()].map((p) => ({ partition: p, low: '0', high: String(fake.messages(topic).filter((m) => m.partition === p).length) }));
    },
    async refusedTopicConfigs(config) {
      return Object.keys(config).filter((k) => !KNOWN_CONFIGS.includes(k));
    },
    async createAcls() {},
    async deleteAcls() {
      return 0;
    },
    async describeAcls() {
      return [];
    },
    async close() {},
  };
  return fake;
}
