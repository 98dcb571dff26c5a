/** The HDFS client settings Spark's drivers and executors get, so a NameNode restart does not fail a streaming query. */
import { buildCoreSite } from '../../../provisioning/services/hadoop-conf';
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
