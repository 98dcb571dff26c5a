/** Monitoring's plan (provisioning/services/metrics.ts): what Prometheus scrapes, and how each exporter serves. */
import { parse } from 'yaml';
import { planCluster } from '../../../provisioning/plan';
import { buildPrometheusConfig } from '../../../provisioning/services/metrics';
import { factsFor } from '../../fixtures/facts';

const file = (plans: ReturnType<typeof planCluster>, node: string, path: string) => {
  const f = plans.find((p) => p.node.name === node)?.files.find((x) => x.path === path);
  if (!f) throw new Error(`${node} has no ${path}`);
  return f;
};

describe('monitoring plan', () => {
  const facts = factsFor();
  const plans = planCluster(facts);

  it('puts Prometheus on the spark-master node only, and the node exporter on every node', () => {
    expect(plans.filter((p) => p.services.some((s) => s.id === 'prometheus')).map((p) => p.node.name)).toEqual(['spark-1']);
    expect(plans.filter((p) => p.services.some((s) => s.id === 'node-exporter')).map((p) => p.node.name)).toEqual(['kafka-1', 'spark-1', 'hdfs-1']);
    expect(plans.every((p) => p.prepareScript.includes('prometheus-node-exporter'))).toBe(true);
    expect(plans.filter((p) => p.services.some((x) => x.packages?.apt.includes('prometheus'))).map((p) => p.node.name)).toEqual(['spark-1']);
  });

  it('places the monitor on the namenode node without Spark, and keeps a monitor role the config gives', () => {
    const noSpark = factsFor('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka] }\n  - { name: hdfs-1, roles: [namenode, datanode, kms] }\n');
    expect(noSpark.nodes.filter((n) => n.roles.includes('monitor')).map((n) => n.name)).toEqual(['hdfs-1']);
    const given = factsFor('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka, monitor] }\n  - { name: spark-1, roles: [spark-master, spark-worker] }\n  - { name: hdfs-1, roles: [namenode, datanode, kms] }\n');
    expect(given.nodes.filter((n) => n.roles.includes('monitor')).map((n) => n.name)).toEqual(['kafka-1']);
  });

  it('scrapes every exporter over HTTPS verified against the cluster CA, each target named by its node', () => {
    const config = buildPrometheusConfig(facts) as { global: Record<string, unknown>; scrape_configs: { job_name: string; scheme: string; tls_config: { ca_file: string }; static_configs: { targets: string[]; labels: { node: string } }[] }[] };
    expect(config.global).toMatchObject({ scrape_interval: '30s', external_labels: { cluster: 'demo' } });
    const targets = config.scrape_configs.flatMap((j) => j.static_configs.map((s) => `${j.job_name} ${s.labels.node} ${s.targets.join()}`));
    expect(targets).toEqual([
      'node hdfs-1 127.0.0.13:9100',
      'node kafka-1 127.0.0.11:9100',
      'node spark-1 127.0.0.12:9100',
      'kafka kafka-1 127.0.0.11:9404',
      'namenode hdfs-1 127.0.0.13:9405',
      'datanode hdfs-1 127.0.0.13:9406',
      'kms hdfs-1 127.0.0.13:9407',
      'spark-master spark-1 127.0.0.12:9408',
      'spark-worker spark-1 127.0.0.12:9409',
    ]);
    for (const j of config.scrape_configs) expect([j.job_name, j.scheme, j.tls_config.ca_file]).toEqual([j.job_name, 'https', '/etc/millrace/tls/ca.pem']);
    const custom = buildPrometheusConfig(factsFor('name: demo\nmonitoring: { scrapeInterval: 2m, retention: 36h }\n')) as { global: Record<string, unknown> };
    expect(custom.global).toMatchObject({ scrape_interval: '120s', scrape_timeout: '10s' });
    expect(file(planCluster(factsFor('name: demo\nmonitoring: { retention: 36h }\n')), 'spark-1', '/etc/systemd/system/millrace-prometheus.service').content).toContain('--storage.tsdb.retention.time=129600s');
  });

  it("loads the JMX exporter into each JVM service on its private address, with TLS from the service's own keystore", () => {
    const launcher = (node: string, name: string) => file(plans, node, `/opt/millrace/bin/${name}`).content;
    expect(launcher('kafka-1', 'millrace-kafka')).toContain(' -javaagent:/opt/millrace/kafka/current/agents/jmx_prometheus_javaagent-1.0.1.jar=127.0.0.11:9404:/etc/millrace/metrics/kafka.yaml ');
    expect(launcher('hdfs-1', 'millrace-hdfs-namenode')).toContain('=127.0.0.13:9405:/etc/millrace/metrics/namenode.yaml');
    expect(launcher('hdfs-1', 'millrace-hdfs-datanode')).toContain('=127.0.0.13:9406:/etc/millrace/metrics/datanode.yaml');
    expect(launcher('hdfs-1', 'millrace-hadoop-kms')).toContain('=127.0.0.13:9407:/etc/millrace/metrics/kms.yaml');
    expect(launcher('spark-1', 'millrace-spark-master')).toContain('=127.0.0.12:9408:/etc/millrace/metrics/spark-master.yaml');
    expect(launcher('spark-1', 'millrace-spark-worker')).toContain('=127.0.0.12:9409:/etc/millrace/metrics/spark-worker.yaml');
    const kafka = file(plans, 'kafka-1', '/etc/millrace/metrics/kafka.yaml');
    expect([kafka.mode.toString(8), kafka.owner, kafka.secret]).toEqual(['600', 'kafka', true]);
    const cfg = parse(kafka.content) as { httpServer: { ssl: { keyStore: { filename: string; password: string }; certificate: { alias: string } } } };
    expect(cfg.httpServer.ssl.keyStore.filename).toBe('/etc/millrace/tls/kafka/keystore.p12');
    expect(cfg.httpServer.ssl.keyStore.password).toBe(facts.secrets.nodes['kafka-1']!.keystorePassword);
    // The broker gets a PKCS#12 keystore for it, beside the PEM its listeners read.
    expect(plans.find((p) => p.node.name === 'kafka-1')!.keyStores.map((k) => k.path)).toContain('/etc/millrace/tls/kafka/keystore.p12');
    // Spark's metrics reach JMX through its JmxSink.
    expect(file(plans, 'spark-1', '/etc/millrace/spark/spark-defaults.conf').content).toMatch(/^spark\.metrics\.conf\.\*\.sink\.jmx\.class\s+org\.apache\.spark\.metrics\.sink\.JmxSink$/m);
  });

  it("serves Prometheus and the node exporter over TLS on the node's private address, with the node key readable by prometheus only", () => {
    const web = parse(file(plans, 'kafka-1', '/etc/millrace/monitor/node-exporter-web.yml').content) as { tls_server_config: Record<string, string> };
    expect(web.tls_server_config).toEqual({ cert_file: '/etc/millrace/tls/prometheus/node.pem', key_file: '/etc/millrace/tls/prometheus/node.pem', min_version: 'TLS12' });
    const key = file(plans, 'kafka-1', '/etc/millrace/tls/prometheus/node.pem');
    expect([key.mode.toString(8), key.owner, key.secret]).toEqual(['600', 'prometheus', true]);
    expect(file(plans, 'kafka-1', '/etc/systemd/system/millrace-node-exporter.service').content).toContain('--web.listen-address=127.0.0.11:9100 --web.config.file=/etc/millrace/monitor/node-exporter-web.yml');
    expect(file(plans, 'spark-1', '/etc/systemd/system/millrace-prometheus.service').content).toContain('--web.listen-address=127.0.0.12:9090 --web.config.file=/etc/millrace/monitor/prometheus-web.yml');
  });
});
