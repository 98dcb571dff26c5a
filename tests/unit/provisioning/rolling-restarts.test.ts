/**
 * A rolling change restarts one service on one node at a time across the whole cluster: the
 * brokers first, then the DataNodes, the NameNode and the KMS, then the Spark master and workers.
 */
import { RollingRestarts } from '../../../provisioning/provision';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs each node's restarts as provisionHost does: plan them, then one after another in order. */
function node(restarts: RollingRestarts, name: string, services: { id: string; ms: number }[], events: string[], delayMs = 0): Promise<void> {
  return (async () => {
    await sleep(delayMs);
    const ordered = RollingRestarts.ordered(services);
    restarts.plan(name, ordered.map((s) => s.id));
    try {
      for (const s of ordered)
        await restarts.one(s.id, name, async () => {
          events.push(`${s.id}@${name} down`);
          await sleep(s.ms);
          events.push(`${s.id}@${name} up`);
        });
    } finally {
      restarts.leave(name);
    }
  })();
}

describe('rolling restarts', () => {
  it('restarts one at a time across the cluster: every broker, then the DataNodes, then the NameNode and KMS, then the Spark workers, and the master last', async () => {
    const restarts = new RollingRestarts(['kafka-1', 'kafka-2', 'kafka-3', 'hdfs-1']);
    const events: string[] = [];
    await Promise.all([
      // hdfs-1 is ready first and its DataNode restart is quick, yet it waits for the last broker.
      node(restarts, 'hdfs-1', [{ id: 'hdfs-namenode', ms: 5 }, { id: 'hadoop-kms', ms: 5 }, { id: 'hdfs-datanode', ms: 5 }, { id: 'spark-worker', ms: 5 }], events),
      node(restarts, 'kafka-1', [{ id: 'kafka', ms: 30 }, { id: 'hdfs-datanode', ms: 5 }, { id: 'spark-master', ms: 5 }, { id: 'spark-worker', ms: 5 }], events, 20),
      node(restarts, 'kafka-2', [{ id: 'hdfs-datanode', ms: 5 }, { id: 'kafka', ms: 5 }], events, 10),
      node(restarts, 'kafka-3', [{ id: 'kafka', ms: 5 }], events, 5),
    ]);
    const downs = events.filter((e) => e.endsWith(' down')).map((e) => e.replace(' down', ''));
    expect(downs).toEqual([
      'kafka@kafka-1',
      'kafka@kafka-2',
      'kafka@kafka-3',
      'hdfs-datanode@kafka-1',
      'hdfs-datanode@kafka-2',
      'hdfs-datanode@hdfs-1',
      'hdfs-namenode@hdfs-1',
      'hadoop-kms@hdfs-1',
      'spark-worker@kafka-1',
      'spark-worker@hdfs-1',
      'spark-master@kafka-1',
    ]);
    // Never two at once: every restart is back up before the next goes down.
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace(' down', ' up'));
  });

  it('waits for every node to plan before the first restart, and not for a node that failed before planning', async () => {
    const restarts = new RollingRestarts(['kafka-1', 'spark-1', 'hdfs-1']);
    const events: string[] = [];
    const first = node(restarts, 'spark-1', [{ id: 'spark-worker', ms: 1 }], events);
    await sleep(20);
    expect(events).toEqual([]);
    restarts.leave('hdfs-1'); // failed during its install: it will plan nothing
    await sleep(20);
    expect(events).toEqual([]);
    await Promise.all([first, node(restarts, 'kafka-1', [{ id: 'kafka', ms: 1 }], events)]);
    expect(events).toEqual(['kafka@kafka-1 down', 'kafka@kafka-1 up', 'spark-worker@spark-1 down', 'spark-worker@spark-1 up']);
  });

  it('restarts nothing further after one restart failed, on any service', async () => {
    const restarts = new RollingRestarts(['kafka-1', 'kafka-2', 'hdfs-1']);
    let touched = 0;
    restarts.plan('kafka-1', ['kafka']);
    restarts.plan('kafka-2', ['kafka']);
    restarts.plan('hdfs-1', ['hdfs-datanode']);
    const first = restarts.one('kafka', 'kafka-1', async () => {
      throw new Error('kafka-1 did not come back');
    });
    const second = restarts.one('kafka', 'kafka-2', async () => (touched += 1));
    const other = restarts.one('hdfs-datanode', 'hdfs-1', async () => (touched += 1));
    await expect(first).rejects.toThrow('kafka-1 did not come back');
    await expect(second).rejects.toThrow('kafka on kafka-2 was not restarted: the restart of kafka on kafka-1 failed first, and a rolling restart stops there');
    await expect(other).rejects.toThrow('hdfs-datanode on hdfs-1 was not restarted: the restart of kafka on kafka-1 failed first');
    expect(touched).toBe(0);
  });

  it("drops what a node planned and never reached when it fails, so the others don't wait for it", async () => {
    const restarts = new RollingRestarts(['kafka-1', 'hdfs-1']);
    restarts.plan('kafka-1', ['kafka']);
    restarts.plan('hdfs-1', ['hdfs-datanode']);
    restarts.leave('kafka-1'); // its health check failed before its kafka restart came up
    await expect(restarts.one('hdfs-datanode', 'hdfs-1', async () => 'hdfs-1')).resolves.toBe('hdfs-1');
  });

  it('with nodes provisioned one after another (certs rotate), each node restarts as it comes, without waiting for the nodes after it', async () => {
    const restarts = new RollingRestarts([]);
    const done: string[] = [];
    for (const [node, services] of [
      ['hdfs-1', ['hdfs-datanode', 'hdfs-namenode']],
      ['kafka-1', ['kafka']],
    ] as const) {
      restarts.plan(node, services);
      for (const s of services) await restarts.one(s, node, async () => done.push(`${s}@${node}`));
      restarts.leave(node);
    }
    expect(done).toEqual(['hdfs-datanode@hdfs-1', 'hdfs-namenode@hdfs-1', 'kafka@kafka-1']);
  });
});

describe('waiting for the whole rolling change (idle)', () => {
  it("resolves once every node has planned and every restart is done, with those restarts: a node with none waits for another's NameNode and KMS", async () => {
    const restarts = new RollingRestarts(['spark-1', 'hdfs-1']);
    const events: string[] = [];
    const spark = (async () => {
      restarts.plan('spark-1', []);
      const done = await restarts.idle();
      events.push('spark-1 idle');
      restarts.leave('spark-1');
      return done;
    })();
    await sleep(10);
    expect(events).toEqual([]); // hdfs-1 has not planned yet
    await node(restarts, 'hdfs-1', [{ id: 'hdfs-namenode', ms: 10 }, { id: 'hadoop-kms', ms: 10 }], events);
    expect(await spark).toEqual([
      { node: 'hdfs-1', serviceId: 'hdfs-namenode' },
      { node: 'hdfs-1', serviceId: 'hadoop-kms' },
    ]);
    expect(events).toEqual(['hdfs-namenode@hdfs-1 down', 'hdfs-namenode@hdfs-1 up', 'hadoop-kms@hdfs-1 down', 'hadoop-kms@hdfs-1 up', 'spark-1 idle']);
  });

  it('control: nothing to restart anywhere resolves at once, with none; a node that fails (leaves) is not waited for', async () => {
    const restarts = new RollingRestarts(['a', 'b']);
    restarts.plan('a', []);
    restarts.plan('b', ['kafka']);
    const idle = restarts.idle();
    restarts.leave('b'); // b failed before its restart
    expect(await idle).toEqual([]);
    expect(await new RollingRestarts([]).idle()).toEqual([]);
  });
});
