/** The moves that empty a leaving broker, and the removals refused because too few brokers would stay. */
import { drainPlan, parseTopicDescribe, UnsafeRemovalError } from '../../../provisioning/kafka-drain';

// `kafka-topics --describe` as Kafka 4.1 prints it: a topic line, then one line per partition.
const DESCRIBE = `Topic: orders\tTopicId: 3x2sWkq0RqGcVw2m7HnB6A\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: min.insync.replicas=1
\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: 
\tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2\tIsr: 2\tElr: \tLastKnownElr: 
\tTopic: orders\tPartition: 2\tLeader: none\tReplicas: 2\tIsr: \tElr: \tLastKnownElr: 
Topic: __consumer_offsets\tTopicId: p0Bq\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: compression.type=producer
\tTopic: __consumer_offsets\tPartition: 0\tLeader: 1\tReplicas: 1,3\tIsr: 1,3\tElr: \tLastKnownElr: 
\tTopic: __consumer_offsets\tPartition: 1\tLeader: 3\tReplicas: 3,2\tIsr: 3,2\tElr: \tLastKnownElr: 
`;

describe('draining brokers', () => {
  const partitions = parseTopicDescribe(DESCRIBE);

  it('reads every partition and its replicas from kafka-topics --describe', () => {
    expect(partitions).toEqual([
      { topic: 'orders', partition: 0, replicas: [1] },
      { topic: 'orders', partition: 1, replicas: [2] },
      { topic: 'orders', partition: 2, replicas: [2] },
      { topic: '__consumer_offsets', partition: 0, replicas: [1, 3] },
      { topic: '__consumer_offsets', partition: 1, replicas: [3, 2] },
    ]);
  });

  it('moves each replica on the leaving broker to the least-loaded staying broker the partition lacks, and leaves the rest', () => {
    // Brokers 1 and 3 start with 2 replicas each: a tie goes to the lower id, then the loads alternate.
    expect(drainPlan(partitions, [2], [1, 3])).toEqual([
      { topic: 'orders', partition: 1, replicas: [1] },
      { topic: 'orders', partition: 2, replicas: [3] },
      // 3 is already a replica of this partition, so 1 takes the moved one.
      { topic: '__consumer_offsets', partition: 1, replicas: [3, 1] },
    ]);
    expect(drainPlan(partitions, [4], [1, 2, 3])).toEqual([]);
  });

  it('refuses a removal that leaves a partition more replicas than brokers, naming it', () => {
    expect(() => drainPlan(partitions, [2, 3], [1])).toThrow(UnsafeRemovalError);
    expect(() => drainPlan(partitions, [2, 3], [1])).toThrow(/removing brokers 2, 3 would leave 1 broker for partitions with more replicas: __consumer_offsets-0 \(2 replicas\), __consumer_offsets-1 \(2 replicas\); nothing was changed/);
  });
});
