/**
 * The Kafka interface millrace's producers, consumers and checks program against. Nothing here
 * names a client library: kafkajs implements it (producers/kafka-client.ts), and a librdkafka
 * client (@confluentinc/kafka-javascript's KafkaJS-compatible API) can implement it too.
 */

export interface TlsSettings {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

export interface KafkaConnection {
  brokers: string[];
  /**
   * The producers' library (kafka.client in the config; its default there is auto): auto is
   * librdkafka where its native part loads and kafkajs elsewhere. Unset here: kafkajs. Everything
   * but producing is kafkajs.
   */
  client?: 'auto' | 'kafkajs' | 'librdkafka';
  clientId: string;
  /** Omit for a plaintext connection (used only to prove the brokers refuse one). */
  tls?: TlsSettings;
  connectionTimeoutMs?: number;
  /** How often a failed request is retried. */
  retries?: number;
  /**
   * How long a consumer waits for its group's coordinator while the brokers create it (the first
   * group on a cluster); independent of `retries`. Default GROUP_COORDINATOR_WAIT_MS.
   */
  groupCoordinatorWaitMs?: number;
  /** How long creating a topic waits for its partitions' leaders (a new topic's metadata settles first). Default 60 s. */
  topicLeaderWaitMs?: number;
}

export interface OutgoingMessage {
  key?: string;
  value: string;
  headers?: Record<string, string>;
  /** The record's timestamp (epoch ms, Kafka's CreateTime); the client's clock at send when absent. */
  timestamp?: number;
}

export interface ReceivedMessage {
  topic: string;
  partition: number;
  offset: string;
  key?: string;
  value: string;
  /** Broker or create time, epoch ms as a string (as Kafka reports it). */
  timestamp?: string;
  headers?: Record<string, string>;
}

/** The outcome of one batch; failures are reported here rather than thrown. */
export type BatchResult =
  /** partitions: each partition's base offset, where the backend learns it (kafkajs; librdkafka's batch producer hears of failures only). */
  | { ok: true; topic: string; count: number; partitions?: { partition: number; baseOffset: string }[] }
  | { ok: false; topic: string; count: number; error: Error };

export interface BatchProducerOptions {
  /**
   * Batches sent but not yet acknowledged before `send` waits. librdkafka's batch producer lets
   * small batches past it up to EPOCH_MESSAGES (32,000) messages: it acknowledges by flushing.
   */
  maxInFlight?: number;
  /**
   * How long a batch is sent again after a transient failure (a broker restarting, a leader
   * moving) before it counts as failed, in ms. The producer is idempotent, so a batch the broker
   * had written before the failure is not written twice. Default DEFAULT_RETRY_TIMEOUT_MS.
   */
  retryTimeoutMs?: number;
  /** Called before each re-send of a batch. */
  onRetry?: (retry: { topic: string; attempt: number; error: Error }) => void;
}

/** Five minutes: a broker restart, or a node reboot, is over well within it. */
export const DEFAULT_RETRY_TIMEOUT_MS = 5 * 60_000;

/** An idempotent producer with acks=all that keeps at most `maxInFlight` batches unacknowledged. */
export interface BatchProducer {
  /** The library that sends the batches. */
  readonly library: 'kafkajs' | 'librdkafka';
  /**
   * Resolves once the batch is on its way (after waiting for room in the window) with the
   * promise of its result. That promise never rejects. The wrapper object keeps the caller from
   * awaiting the acknowledgement by accident.
   */
  send(topic: string, messages: OutgoingMessage[]): Promise<{ result: Promise<BatchResult> }>;
  /** Resolves when every batch sent so far is acknowledged or has failed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

export interface TopicDescription {
  name: string;
  partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
  /** Settings that differ from the broker defaults. */
  config: Record<string, string>;
}

export interface PartitionLag {
  partition: number;
  /** The group's committed offset, or null when it has committed none on this partition. */
  committed: string | null;
  low: string;
  high: string;
  lag: string;
}

export type AclResourceType = 'topic' | 'group' | 'cluster' | 'transactional-id' | 'delegation-token';
export type AclPatternType = 'literal' | 'prefixed';
export const ACL_OPERATIONS = ['all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'describe-configs', 'alter-configs', 'idempotent-write'] as const;
export type AclOperation = (typeof ACL_OPERATIONS)[number];

export interface AclBinding {
  resourceType: AclResourceType;
  resourceName: string;
  patternType: AclPatternType;
  /** e.g. `User:pipeline` (the CN of a client certificate, mapped by the brokers' principal rules). */
  principal: string;
  /** `*` for any host. */
  host: string;
  operation: AclOperation;
  permission: 'allow' | 'deny';
}

export interface AclFilter {
  resourceType?: AclResourceType;
  resourceName?: string;
  /** Default: any pattern type. */
  patternType?: AclPatternType;
  principal?: string;
}

export interface TailOptions {
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  /** Commit offsets as messages are handled; off for throwaway tail groups. */
  commit?: boolean;
  /** Read only this partition (the group's other partitions are paused and their messages dropped). */
  partition?: number;
  /** With `partition`: the offset to start at (a number as a string, within the partition's low..high). */
  startOffset?: string;
  /** Stops the consumer; `tail` resolves once it has left the group. */
  signal: AbortSignal;
  /** Awaited before the next message, so a slow handler slows the consumer rather than buffering. */
  onMessage(message: ReceivedMessage): void | Promise<void>;
}

export interface ClusterDescription {
  brokers: { nodeId: number; host: string; port: number }[];
  controller: number | null;
  clusterId: string;
}

export interface KafkaClient {
  describeCluster(): Promise<ClusterDescription>;
  /** False when the topic already existed. */
  createTopic(topic: string, partitions: number, replicationFactor: number, config?: Record<string, string>): Promise<boolean>;
  deleteTopic(topic: string): Promise<void>;
  listTopics(): Promise<string[]>;
  describeTopics(topics: string[]): Promise<TopicDescription[]>;
  /** Idempotent producer with acks=all; resolves when every message is acknowledged. */
  produce(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** A producer for a stream of batches; see BatchProducer. */
  batchProducer(options?: BatchProducerOptions): Promise<BatchProducer>;
  /** Reads from the beginning until `count` messages arrived or the timeout passed. */
  consume(topic: string, groupId: string, count: number, timeoutMs: number): Promise<ReceivedMessage[]>;
  /** Streams messages to `onMessage` until `signal` aborts. */
  tail(options: TailOptions): Promise<void>;
  /** Each partition's committed offset for the group against the topic's end offset. */
  consumerLag(groupId: string, topic: string): Promise<PartitionLag[]>;
  /** Each partition's low and high watermarks. */
  topicOffsets(topic: string): Promise<{ partition: number; low: string; high: string }[]>;
  /**
   * Sets and removes topic-level configs, keeping the others as they are. Kafka refuses an unknown
   * name or a bad value (the error names it).
   */
  alterTopicConfig(topic: string, change: { set: Record<string, string>; delete: string[] }): Promise<void>;
  /** Which of these topic configs the brokers refuse, each checked alone (a validate-only topic creation). */
  refusedTopicConfigs(config: Record<string, string>): Promise<string[]>;
  createAcls(acls: AclBinding[]): Promise<void>;
  describeAcls(filter: AclFilter): Promise<AclBinding[]>;
  /** Deletes exactly these bindings (where they exist); returns how many the brokers removed. */
  deleteAcls(acls: AclBinding[]): Promise<number>;
  close(): Promise<void>;
}
