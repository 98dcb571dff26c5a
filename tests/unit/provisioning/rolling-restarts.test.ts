/** A service restarts on one node at a time across the cluster; different services do not wait for each other, except the Spark master and workers. */
import { RollingRestarts } from '../../../provisioning/provision';

describe('rolling restarts', () => {
  it('runs the restarts of one service one after another, and other services alongside', async () => {
    const restarts = new RollingRestarts();
    const events: string[] = [];
    let running = 0;
    let most = 0;
    const restart = (service: string, node: string, ms: number) =>
      restarts.one(service, node, async () => {
        running += service === 'kafka' ? 1 : 0;
        most = Math.max(most, running);
        events.push(`${service}@${node} down`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`${service}@${node} up`);
        running -= service === 'kafka' ? 1 : 0;
        return node;
      });
    const done = await Promise.all([restart('kafka', 'kafka-1', 40), restart('kafka', 'kafka-2', 5), restart('kafka', 'kafka-3', 5), restart('hdfs-datanode', 'hdfs-1', 10)]);
    expect(done).toEqual(['kafka-1', 'kafka-2', 'kafka-3', 'hdfs-1']);
    expect(most).toBe(1);
    expect(events.filter((e) => e.startsWith('kafka'))).toEqual(['kafka@kafka-1 down', 'kafka@kafka-1 up', 'kafka@kafka-2 down', 'kafka@kafka-2 up', 'kafka@kafka-3 down', 'kafka@kafka-3 up']);
    // The DataNode restarted while kafka-1 was still down.
    expect(events.indexOf('hdfs-datanode@hdfs-1 up')).toBeLessThan(events.indexOf('kafka@kafka-1 up'));
  });

  it("restarts the Spark master and workers one at a time between them: a worker restarted during the master's recovery never registers", async () => {
    const restarts = new RollingRestarts();
    const events: string[] = [];
    const restart = (service: string, node: string, ms: number) =>
      restarts.one(service, node, async () => {
        events.push(`${service}@${node} down`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`${service}@${node} up`);
      });
    await Promise.all([restart('spark-master', 'spark-1', 30), restart('spark-worker', 'hdfs-1', 5), restart('spark-worker', 'spark-1', 5)]);
    expect(events).toEqual(['spark-master@spark-1 down', 'spark-master@spark-1 up', 'spark-worker@hdfs-1 down', 'spark-worker@hdfs-1 up', 'spark-worker@spark-1 down', 'spark-worker@spark-1 up']);
  });

  it('restarts no further node of a service after one of its restarts failed; other services go on', async () => {
    const restarts = new RollingRestarts();
    let touched = 0;
    const first = restarts.one('kafka', 'kafka-1', async () => {
      throw new Error('kafka-1 did not come back');
    });
    const second = restarts.one('kafka', 'kafka-2', async () => (touched += 1));
    const other = restarts.one('hdfs-datanode', 'hdfs-1', async () => 'hdfs-1');
    await expect(first).rejects.toThrow('kafka-1 did not come back');
    await expect(second).rejects.toThrow('kafka on kafka-2 was not restarted: its restart on kafka-1 failed first, and a rolling restart stops there');
    await expect(other).resolves.toBe('hdfs-1');
    expect(touched).toBe(0);
  });
});
