/**
 * Issue 15, metrics: Prometheus on the monitor node (spark-1 by default) scrapes every node's host
 * metrics and every JVM service's JMX metrics over TLS, and nothing but the monitor reaches them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { portNumber } from '../../lib/roles';
import { waitFor } from '../../lib/retry';
import { SCRAPE_JOBS, scrapeTargets } from '../../provisioning/services/metrics';
import { CA_PEM } from '../../provisioning/services/tls-files';
import { ADDRESSES, cli, CLUSTER, CLUSTER_YAML, CONFIG, dashboardQueries, emptyQueries, ensureBaseCluster, isStreamingPanel, METRICS_FIREWALL_CONTROL, node, prometheusApi as api, prometheusQuery as query, randomName, REPO, TEST_DIR, writeConfig } from './harness';

beforeAll(ensureBaseCluster);

interface Target {
  labels: { job: string; node: string; instance: string };
  health: string;
  lastError: string;
}

describe('metrics (Prometheus on the monitor node)', () => {
  it('scrapes every exporter of every node, each target up over TLS', async () => {
    const expected = scrapeTargets(readInventory(CLUSTER).nodes).map((t) => `${t.job} ${t.node} ${t.target}`).sort();
    // 3 nodes' host metrics, and Kafka, the NameNode, the DataNode, the KMS, the Spark master and worker.
    expect(expected).toHaveLength(9);
    let last: Target[] = [];
    // A target is "unknown" until its first scrape (within one scrape interval, 30 s by default).
    const allUp = await waitFor(
      async () => {
        last = (await api<{ activeTargets: Target[] }>('/api/v1/targets?state=active')).activeTargets;
        return last.length === expected.length && last.every((t) => t.health === 'up');
      },
      { timeout: 120_000, interval: 5_000, what: 'every scrape target up' },
    ).then(
      () => true,
      () => false,
    );
    const seen = last.map((t) => `${t.labels.job} ${t.labels.node} ${t.labels.instance}`).sort();
    expect(seen).toEqual(expected);
    expect(last.filter((t) => t.health !== 'up').map((t) => `${t.labels.job}@${t.labels.node}: ${t.health} ${t.lastError}`)).toEqual([]);
    expect(allUp).toBe(true);
  }, 180_000);

  it('holds real series from each job, and their values follow the cluster: a new topic shows in the broker\'s partition count', async () => {
    const counts = await query('count by (job) ({__name__=~".+"})');
    const byJob = Object.fromEntries(counts.map((r) => [r.metric.job, Number(r.value[1])]));
    // Each exporter gives more than its own up/scrape series: the JVM's and the service's beans.
    expect(SCRAPE_JOBS.filter((j) => (byJob[j.job] ?? 0) < 50).map((j) => `${j.job}: ${byJob[j.job] ?? 0} series`)).toEqual([]);
    expect((await query('count by (node) (node_cpu_seconds_total)')).map((r) => r.metric.node).sort()).toEqual(['hdfs-1', 'kafka-1', 'spark-1']);
    // What the services report about themselves: one live DataNode, one ALIVE Spark worker (the
    // NameNode reports its count in two beans, FSNamesystem and FSNamesystemState: their max).
    expect((await query('max(hadoop_namenode_numlivedatanodes)')).map((r) => Number(r.value[1]))).toEqual([1]);
    expect((await query('max(metrics_master_aliveworkers_value)')).map((r) => Number(r.value[1]))).toEqual([1]);
    // A new topic of 3 partitions raises the broker's PartitionCount by 3 within two scrapes.
    const partitionCount = async (): Promise<number> => Number((await query('kafka_server_replicamanager_value{name="PartitionCount"}'))[0]?.value[1] ?? NaN);
    const before = await partitionCount();
    expect(before).toBeGreaterThanOrEqual(0);
    const topic = randomName('metrics');
    expect((await cli(['topics', 'create', topic, '--partitions', '3', '--no-dlq', '-c', CONFIG])).code).toBe(0);
    try {
      const after = await waitFor(async () => ((await partitionCount()) >= before + 3 ? partitionCount() : undefined), { timeout: 90_000, interval: 5_000, what: 'the new partitions in Prometheus' });
      expect(after).toBe(before + 3);
    } finally {
      await cli(['topics', 'delete', topic, '-c', CONFIG]);
    }
  }, 150_000);

  it('answers every panel of the Grafana dashboard in examples/grafana with data (the streaming panels in 34-alerts, while an ingest runs)', async () => {
    const queries = dashboardQueries();
    expect(queries.filter((q) => !isStreamingPanel(q)).length).toBeGreaterThan(10);
    expect(await emptyQueries(queries.filter((q) => !isStreamingPanel(q)))).toEqual([]);
  }, 60_000);

  it('lets only the monitor reach an exporter, and only over TLS', async () => {
    const hdfs = await node('hdfs-1');
    const spark = await node('spark-1');
    try {
      const kafkaMetrics = `${METRICS_FIREWALL_CONTROL.to}:${METRICS_FIREWALL_CONTROL.port}`;
      expect(METRICS_FIREWALL_CONTROL.from).toBe(ADDRESSES['hdfs-1']);
      // Control: the monitor's own node reaches it and reads metrics over verified TLS.
      const ok = await spark.exec(`curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert ${CA_PEM} https://${kafkaMetrics}/metrics`);
      expect(ok.stdout.trim()).toBe('200');
      // Another node is dropped by the flow table (as a security group drops it): no answer.
      // zz-teardown expects this drop (harness METRICS_FIREWALL_CONTROL) and no other.
      const denied = await hdfs.exec(`curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert ${CA_PEM} https://${kafkaMetrics}/metrics`);
      expect(denied.stdout.trim()).toBe('000');
      expect(denied.stderr).toMatch(/timed out|Timeout/i);
      // Plain HTTP gets no metrics.
      const plain = await spark.exec(`curl -sS --max-time 10 http://${kafkaMetrics}/metrics | head -c 200`);
      expect(plain.stdout).not.toMatch(/# (HELP|TYPE)/);
    } finally {
      await hdfs.close();
      await spark.close();
    }
  }, 60_000);

  it("stops `up` before any change where a node runs its own node exporter, naming it; with monitoring.replaceExisting, up stops and masks it", async () => {
    const hdfs = await node('hdfs-1');
    const unit = 'prometheus-node-exporter.service';
    const dropIn = `/run/systemd/system/${unit}.d`;
    try {
      // A host's own node exporter, as a customer's host may run one: Debian's unit, moved to a port
      // of its own here (millrace's holds 9100 on this address).
      await hdfs.execOrThrow(
        `systemctl unmask --quiet ${unit} && mkdir -p ${dropIn} && printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=${ADDRESSES['hdfs-1']}:19100\\n' > ${dropIn}/itest.conf && systemctl daemon-reload && systemctl start ${unit}`,
      );
      expect((await hdfs.exec(`systemctl is-active ${unit}`)).stdout.trim()).toBe('active');
      const refused = await cli(['up', '-c', CONFIG]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`hdfs-1: ${unit} (active)`);
      expect(refused.stderr).toContain('monitoring.replaceExisting: true');
      expect(refused.stderr).toContain('Nothing was changed on any node');
      expect((await hdfs.exec(`systemctl is-active ${unit}`)).stdout.trim()).toBe('active');

      const allowed = writeConfig(path.join(TEST_DIR, 'replace-existing.yaml'), `${CLUSTER_YAML}monitoring:\n  replaceExisting: true\n`);
      const up = await cli(['up', '-c', allowed]);
      expect([up.code, up.code === 0 ? '' : up.stderr.slice(-2000)]).toEqual([0, '']);
      expect((await hdfs.exec(`systemctl is-active ${unit}; systemctl is-enabled ${unit}`)).stdout.trim().split('\n')).toEqual(['inactive', 'masked']);
    } finally {
      await hdfs.exec(`rm -rf ${dropIn}; systemctl daemon-reload; systemctl stop ${unit}; systemctl mask --quiet ${unit}`);
      await hdfs.close();
    }
  }, 5 * 60_000);
});
