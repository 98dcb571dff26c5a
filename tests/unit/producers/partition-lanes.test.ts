/** One send at a time per partition (kafkajs's idempotent producer needs it); partitions side by side. */
import { Partitioners } from 'kafkajs';
import { byPartition, PartitionLanes } from '../../../producers/partition-lanes';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('partition lanes', () => {
  it('runs the sends of one lane one after another, failed ones included, and other lanes alongside', async () => {
    const lanes = new PartitionLanes();
    const log: string[] = [];
    const send = (lane: string, name: string, ms: number, fail = false) =>
      lanes.run(lane, async () => {
        log.push(`${name} start`);
        await tick(ms);
        log.push(`${name} end`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([send('t/0', 'a', 30, true), send('t/0', 'b', 5), send('t/1', 'c', 5)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a failed', 'b', 'c']);
    // b waited for a (even though a failed); c did not wait for either.
    expect(log.indexOf('b start')).toBeGreaterThan(log.indexOf('a end'));
    expect(log.indexOf('c end')).toBeLessThan(log.indexOf('a end'));
  });

  it('splits a batch by the partition Java\'s partitioner gives each key, keeping the order within each partition', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }));
    const messages = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 12}`, value: String(i) }));
    const parts = byPartition(messages, (message) => partitioner({ topic: 't', partitionMetadata, message }));
    expect([...parts.keys()].sort()).toEqual([0, 1, 2]);
    expect([...parts.values()].reduce((n, p) => n + p.length, 0)).toBe(60);
    for (const [partition, part] of parts) {
      // Every record of a key is in one partition, the one the partitioner picks for it, in the order sent.
      for (const m of part) expect(partitioner({ topic: 't', partitionMetadata, message: m })).toBe(partition);
      expect(part.map((m) => Number(m.value))).toEqual([...part.map((m) => Number(m.value))].sort((a, b) => a - b));
    }
  });
});
