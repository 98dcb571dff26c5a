/** The HDFS client settings Spark's drivers and executors get, so a NameNode restart does not fail a streaming query, and a micro-batch does not wait to close its files. */
import { buildCoreSite, buildHdfsSite } from '../../../provisioning/services/hadoop-conf';
import { buildSparkDefaults } from '../../../provisioning/services/spark';
import { factsFor } from '../../fixtures/facts';

describe('spark-defaults: the HDFS client waits through a NameNode restart', () => {
  const facts = factsFor();
  const props = buildSparkDefaults({ cluster: facts, node: facts.sparkMaster! });

  it('turns the DFS client retry policy on', () => {
    expect(props['spark.hadoop.dfs.client.retry.policy.enabled']).toBe(true);
  });

  it('retries for minutes, not the ten seconds of ipc connect retries: pairs of (sleep ms, tries) summing to at least 5 minutes', () => {
    const spec = String(props['spark.hadoop.dfs.client.retry.policy.spec']).split(',').map(Number);
    expect(spec.length % 2).toBe(0);
    expect(spec.every((n) => Number.isInteger(n) && n > 0)).toBe(true);
    let waitMs = 0;
    for (let i = 0; i < spec.length; i += 2) waitMs += spec[i]! * spec[i + 1]!;
    expect(waitMs).toBeGreaterThanOrEqual(5 * 60_000);
  });
});

describe('core-site: every Hadoop client waits through a KMS restart', () => {
  it('retries the one KMS for minutes (exponential sleeps from 1 s, at most 10 s), not once', () => {
    const core = buildCoreSite(factsFor());
    expect(core['hadoop.security.key.provider.path']).toMatch(/^kms:\/\/https@/);
    const retries = Number(core['hadoop.security.kms.client.failover.max.retries']);
    const base = Number(core['hadoop.security.kms.client.failover.sleep.base.millis']);
    const max = Number(core['hadoop.security.kms.client.failover.sleep.max.millis']);
    let waitMs = 0;
    for (let i = 0; i < retries; i++) waitMs += Math.min(max, base * 2 ** i);
    expect(waitMs).toBeGreaterThanOrEqual(5 * 60_000);
  });
});

describe('hdfs-site: a client closing a file polls the NameNode soon', () => {
  const facts = factsFor();
  const site = buildHdfsSite(facts, facts.sparkMaster!);
  const initial = Number(site['dfs.client.block.write.locateFollowingBlock.initial.delay.ms']);
  const retries = Number(site['dfs.client.block.write.locateFollowingBlock.retries']);

  it('first after tens of milliseconds, not the default 400 ms that every micro-batch paid at each close', () => {
    expect(initial).toBeGreaterThan(0);
    expect(initial).toBeLessThanOrEqual(50);
  });

  it('and, doubling, for as long in all as the defaults (400 ms, 5 tries: 12.4 s) before a close fails', () => {
    let waitMs = 0;
    for (let i = 0; i < retries; i++) waitMs += initial * 2 ** i;
    expect(waitMs).toBeGreaterThanOrEqual(12_400);
    expect(waitMs).toBeLessThan(30_000);
  });
});
