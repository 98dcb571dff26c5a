import { planCluster } from '../../../provisioning/plan';
import { buildServerProperties } from '../../../provisioning/services/kafka';
import { factsFor } from '../../fixtures/facts';

const fileOf = (plans: ReturnType<typeof planCluster>, node: string, path: string): string => {
  const f = plans.find((p) => p.node.name === node)?.files.find((x) => x.path === path);
  if (!f) throw new Error(`${node} has no ${path}`);
  return f.content;
};

describe('provisioning plan', () => {
  const facts = factsFor();
  const plans = planCluster(facts);

  it('puts each role on its node, in dependency order', () => {
    expect(plans.map((p) => [p.node.name, p.services.map((s) => s.id)])).toEqual([
      // The monitor (Prometheus) on the spark-master's node; host metrics on every node.
      ['kafka-1', ['kafka', 'node-exporter']],
      ['spark-1', ['spark-master', 'spark-worker', 'alertmanager', 'prometheus', 'node-exporter']],
      ['hdfs-1', ['hdfs-namenode', 'hadoop-kms', 'hdfs-datanode', 'node-exporter']],
    ]);
    expect(plans.map((p) => p.users)).toEqual([['kafka', 'prometheus'], ['spark', 'prometheus'], ['hdfs', 'prometheus']]);
  });

  it('renders Kafka with TLS-only listeners and no PLAINTEXT anywhere', () => {
    const props = fileOf(plans, 'kafka-1', '/etc/millrace/kafka/server.properties');
    expect(props).toContain('listeners=CLIENT://127.0.0.11:9093,CONTROLLER://127.0.0.11:9094\n');
    expect(props).toContain('listener.security.protocol.map=CLIENT:SSL,CONTROLLER:SSL\n');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.11:9094\n');
    expect(props).toContain('ssl.keystore.type=PEM\n');
    expect(props).not.toMatch(/PLAINTEXT/);
    // Sorted keys keep diffs and change detection stable.
    const keys = props.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('=')[0]!);
    expect(keys).toEqual([...keys].sort());
  });

  it('merges user overrides last', () => {
    const f = factsFor('name: demo\nkafka: { overrides: { num.partitions: 12, log.retention.hours: 72 } }\n');
    const props = fileOf(planCluster(f), 'kafka-1', '/etc/millrace/kafka/server.properties');
    expect(props).toContain('num.partitions=12\n');
    expect(props).toContain('log.retention.hours=72\n');
  });

  it('numbers brokers and sizes replication for a 3-broker cluster', () => {
    const f = factsFor(`name: big
nodes:
  - { name: kafka-1, roles: [kafka] }
  - { name: kafka-2, roles: [kafka] }
  - { name: kafka-3, roles: [kafka, datanode] }
  - { name: spark-1, roles: [spark-master, spark-worker] }
  - { name: hdfs-1, roles: [namenode, datanode, kms] }
`);
    const p = buildServerProperties(f, f.kafkaNodes[2]!);
    expect(p['node.id']).toBe(3);
    expect(p['controller.quorum.voters']).toBe('1@127.0.0.11:9094,2@127.0.0.12:9094,3@127.0.0.13:9094');
    expect(p['default.replication.factor']).toBe(3);
    expect(p['min.insync.replicas']).toBe(2);
  });

  it('shares one Hadoop config on hdfs-1 and restarts every Hadoop unit there on change', () => {
    const hdfs = plans.find((p) => p.node.name === 'hdfs-1')!;
    const core = hdfs.files.filter((f) => f.path === '/etc/millrace/hadoop/core-site.xml');
    expect(core).toHaveLength(1);
    expect(core[0]!.restarts.sort()).toEqual(['millrace-hadoop-kms.service', 'millrace-hdfs-datanode.service', 'millrace-hdfs-namenode.service']);
    expect(core[0]!.content).toContain('<property><name>fs.defaultFS</name><value>hdfs://127.0.0.13:8020</value></property>');
  });

  it('puts every secret only in files that are 0600, flagged secret, and owned by the user that reads them', () => {
    const f = factsFor();
    const values = [
      f.secrets.kmsKeystorePassword,
      f.secrets.sparkAuthSecret,
      f.secrets.sparkKeystorePassword,
      ...Object.values(f.secrets.nodes).flatMap((n) => [n.keystorePassword, n.truststorePassword]),
      ...Object.values(f.tls).flatMap((t) => [t.keyPem, ...(t.kafka ? [t.kafka.keyPem] : []), ...(t.spark ? [t.spark.keyPem] : [])]),
      f.pipelineClient.keyPem,
    ];
    const holding = plans.flatMap((p) => p.files.filter((file) => values.some((v) => file.content.includes(v))).map((file) => ({ node: p.node.name, ...file })));
    for (const h of holding) expect([h.path, h.mode.toString(8), h.secret]).toEqual([h.path, '600', true]);
    expect(holding.map((h) => `${h.node}:${h.path} ${h.owner}`).sort()).toEqual(
      [
        'hdfs-1:/etc/millrace/hadoop/ssl-server.xml hdfs',
        'hdfs-1:/etc/millrace/kms/kms.keystore.password hdfs',
        'hdfs-1:/etc/millrace/kms/ssl-server.xml hdfs',
        'hdfs-1:/etc/millrace/tls/hdfs/keystore.password hdfs',
        'hdfs-1:/etc/millrace/tls/hdfs/node.pem hdfs',
        'hdfs-1:/etc/millrace/tls/truststore.password root',
        'kafka-1:/etc/millrace/tls/kafka/node.pem kafka',
        'kafka-1:/etc/millrace/tls/truststore.password root',
        'spark-1:/etc/millrace/spark/kafka/pipeline.pem spark',
        'spark-1:/etc/millrace/spark/spark-defaults.conf spark',
        // The JMX exporters' configs hold their keystore's password; the node exporter's key is prometheus's.
        'hdfs-1:/etc/millrace/metrics/datanode.yaml hdfs',
        'hdfs-1:/etc/millrace/metrics/kms.yaml hdfs',
        'hdfs-1:/etc/millrace/metrics/namenode.yaml hdfs',
        'hdfs-1:/etc/millrace/tls/prometheus/node.pem prometheus',
        'kafka-1:/etc/millrace/metrics/kafka.yaml kafka',
        'kafka-1:/etc/millrace/tls/kafka/keystore.password kafka',
        'kafka-1:/etc/millrace/tls/prometheus/node.pem prometheus',
        'spark-1:/etc/millrace/metrics/spark-master.yaml spark',
        'spark-1:/etc/millrace/metrics/spark-worker.yaml spark',
        'spark-1:/etc/millrace/tls/prometheus/node.pem prometheus',
        'spark-1:/etc/millrace/tls/spark/keystore.password spark',
        'spark-1:/etc/millrace/tls/spark/node.pem spark',
        'spark-1:/etc/millrace/tls/truststore.password root',
      ].sort(),
    );
    // Launchers and units are world-readable and show up in process lists: no secret there.
    const launchers = plans.flatMap((p) => p.files.filter((file) => file.path.startsWith('/opt/millrace/bin/') || file.path.startsWith('/etc/systemd/')));
    for (const l of launchers) for (const v of values) expect(l.content).not.toContain(v);
  });

  it('writes launchers that quote every value and units that run as the service user', () => {
    const spark = plans.find((p) => p.node.name === 'spark-1')!;
    const launcher = spark.files.find((f) => f.path === '/opt/millrace/bin/millrace-spark-worker')!.content;
    expect(launcher).toContain("-cp '/etc/millrace/spark:/opt/millrace/spark/current/jars/*' org.apache.spark.deploy.worker.Worker");
    expect(launcher).toContain('spark://127.0.0.12:7077');
    const unit = spark.files.find((f) => f.path === '/etc/systemd/system/millrace-spark-worker.service')!.content;
    expect(unit).toContain('User=spark\n');
    expect(unit).toContain('ExecStart=/opt/millrace/bin/millrace-spark-worker\n');
  });

  it("makes every Python Spark runs write unbuffered: the clients' spark-env.sh and the daemons' environment (executors inherit it)", () => {
    const spark = plans.find((p) => p.node.name === 'spark-1')!;
    const file = (path: string): string => spark.files.find((f) => f.path === path)!.content;
    expect(file('/etc/millrace/spark/spark-env.sh')).toContain('export PYTHONUNBUFFERED=1\n');
    expect(file('/etc/millrace/spark/spark-env.sh')).toContain('export HADOOP_CONF_DIR=/etc/millrace/hadoop\n');
    expect(file('/opt/millrace/bin/millrace-spark-worker')).toContain('export PYTHONUNBUFFERED=1\n');
    expect(file('/opt/millrace/bin/millrace-spark-master')).toContain('export PYTHONUNBUFFERED=1\n');
  });

  it('prepares hosts with Java 17 everywhere and numpy where Spark runs', () => {
    const spark = plans.find((p) => p.node.name === 'spark-1')!.prepareScript;
    const kafka = plans.find((p) => p.node.name === 'kafka-1')!.prepareScript;
    expect(spark).toContain('openjdk-17-jre-headless');
    expect(spark).toContain('python3-numpy');
    expect(kafka).not.toContain('python3-numpy');
    expect(kafka).toContain('useradd --system --user-group --no-create-home --home-dir /var/lib/millrace/kafka --shell /usr/sbin/nologin kafka');
  });
});
