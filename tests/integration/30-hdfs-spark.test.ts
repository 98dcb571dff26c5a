/** HDFS and Spark on the real cluster, driven from the Spark node as a client would. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { portNumber } from '../../lib/roles';
import { ADDRESSES, ensureBaseCluster, liveDataNodes, node, randomName, REPO, SPARK_FS_SHELL } from './harness';

// HDFS and Spark as the base config has them, whatever the files before this one left.
beforeAll(ensureBaseCluster);

describe('HDFS', () => {
  it('reads back byte for byte a file written through HDFS from another node', async () => {
    const spark = await node('spark-1');
    const name = randomName('itest');
    const local = `/tmp/${name}.bin`;
    const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
    try {
      await spark.putFile(local, data, { mode: 0o644, owner: 'spark' });
      await spark.execOrThrow(`${SPARK_FS_SHELL} -put ${local} /tmp/${name}.bin`);
      await spark.execOrThrow(`${SPARK_FS_SHELL} -get /tmp/${name}.bin ${local}.back`);
      const back = await spark.getFile(`${local}.back`);
      expect(crypto.createHash('sha256').update(back).digest('hex')).toBe(crypto.createHash('sha256').update(data).digest('hex'));
      expect(back.length).toBe(data.length);
    } finally {
      await spark.exec(`${SPARK_FS_SHELL} -rm -f /tmp/${name}.bin; rm -f ${local} ${local}.back`);
      await spark.close();
    }
  });
});

describe('node addresses', () => {
  // The local nodes share this machine's network namespace; their connections to one another
  // still leave from each node's own address (targets/local/source-address.ts), as on EC2. The
  // NameNode records a DataNode by the source address of its registration: without that, every
  // DataNode would be 127.0.0.1:9866, and a second one would replace the first.
  it("the NameNode sees the DataNode at its node's own address", async () => {
    const live = (await liveDataNodes()).map((n) => n.xferaddr);
    expect(live).toEqual([`${ADDRESSES['hdfs-1']}:${portNumber('datanode', 'datanode-transfer')}`]);
  });
});

describe('Spark', () => {
  it('runs a Pi estimate to completion on the worker', async () => {
    const spark = await node('spark-1');
    const job = '/tmp/millrace-check-pi.py';
    try {
      await spark.putFile(job, fs.readFileSync(path.join(REPO, 'spark-jobs/check_pi.py')), { mode: 0o644, owner: 'spark' });
      const out = await spark.execOrThrow(
        `cd /tmp && runuser -u spark -- env SPARK_CONF_DIR=/etc/millrace/spark /opt/millrace/spark/current/bin/spark-submit --master spark://${ADDRESSES['spark-1']}:7077 ${job} 8`,
        { what: 'spark-submit check_pi.py' },
      );
      const m = /Pi is roughly (\d+\.\d+) \(executors: (\d+), tasks: (\d+)\)/.exec(out);
      expect(m).not.toBeNull();
      expect(Math.abs(Number(m![1]) - Math.PI)).toBeLessThan(0.05);
      expect(Number(m![2])).toBeGreaterThanOrEqual(1);
      expect(Number(m![3])).toBe(8);
    } finally {
      await spark.exec(`rm -f ${job}`);
      await spark.close();
    }
  });
});
