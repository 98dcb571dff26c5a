/**
 * The small Kafka interface millrace's producers, consumers and checks use. kafkajs is behind it
 * (and only here), so a librdkafka-based client (@confluentinc/kafka-javascript, which offers a
 * KafkaJS-compatible API) can be added as a second implementation.
 */
import { Kafka, logLevel } from 'kafkajs';

export interface TlsSettings {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  /** Omit for a plaintext connection (used only to prove the brokers refuse one). */
  tls?: TlsSettings;
  connectionTimeoutMs?: number;
  retries?: number;
}

export interface OutgoingMessage {
  key?: string;
  value: string;
  headers?: Record<string, string>;
}

export interface ReceivedMessage {
  topic: string;
  partition: number;
  offset: string;
  key?: string;
  value: string;
}

export interface KafkaClient {
  describeCluster(): Promise<{ brokers: { nodeId: number; host: string; port: number }[]; controller: number | null; clusterId: string }>;
  createTopic(topic: string, partitions: number, replicationFactor: number): Promise<boolean>;
  deleteTopic(topic: string): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Idempotent producer with acks=all; resolves when every message is acknowledged. */
  produce(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Reads from the beginning until `count` messages arrived or the timeout passed. */
  consume(topic: string, groupId: string, count: number, timeoutMs: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

export function createKafkaClient(conn: KafkaConnection): KafkaClient {
  const kafka = new Kafka({
    clientId: conn.clientId,
    brokers: conn.brokers,
    ssl: conn.tls ? { ca: [conn.tls.caPem], cert: conn.tls.certPem, key: conn.tls.keyPem, rejectUnauthorized: true } : false,
    connectionTimeout: conn.connectionTimeoutMs ?? 10_000,
    retry: { retries: conn.retries ?? 5 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  const withAdmin = async (): Promise<typeof admin> => {
    adminConnected ??= admin.connect();
    await adminConnected;
    return admin;
  };
  // The idempotent producer needs retries of its own to keep its ordering guarantee.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, retry: { retries: Math.max(1, conn.retries ?? 5) } });
  let producerConnected: Promise<void> | undefined;

  return {
    async describeCluster() {
      return (await withAdmin()).describeCluster();
    },
    async createTopic(topic, partitions, replicationFactor) {
      return (await withAdmin()).createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true });
    },
    async deleteTopic(topic) {
      await (await withAdmin()).deleteTopics({ topics: [topic] });
    },
    async listTopics() {
      return (await withAdmin()).listTopics();
    },
    async produce(topic, messages) {
      producerConnected ??= producer.connect();
      await producerConnected;
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
      }
    },
    async consume(topic, groupId, count, timeoutMs) {
      const consumer = kafka.consumer({ groupId });
      const received: ReceivedMessage[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          void consumer.run({
            eachMessage: async ({ topic: t, partition, message }) => {
              received.push({ topic: t, partition, offset: message.offset, key: message.key?.toString(), value: message.value?.toString() ?? '' });
              if (received.length >= count) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return received;
    },
    async close() {
      await Promise.allSettled([adminConnected && admin.disconnect(), producerConnected && producer.disconnect()]);
    },
  };
}
