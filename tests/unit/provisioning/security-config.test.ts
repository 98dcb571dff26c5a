/** The secure-by-default settings each service renders, read from the plan of a default cluster. */
import { parseProperties } from '../../../provisioning/services/kafka';
import { planCluster } from '../../../provisioning/plan';
import { NODE_METRICS_PORT, ROLE_PORTS, SSH_PORT } from '../../../lib/roles';
import { comparePorts, parseListeners, reachableOn } from '../../../provisioning/verify/ports';
import { parseBlockIds } from '../../../provisioning/verify/hdfs';
import { parseZones } from '../../../provisioning/services/hdfs';
import { secretsIn } from '../../../provisioning/verify/secrets';
import { factsFor } from '../../fixtures/facts';

const plans = planCluster(factsFor());
const file = (node: string, path: string): string => {
  const f = plans.find((p) => p.node.name === node)!.files.find((x) => x.path === path);
  if (!f) throw new Error(`${node} has no ${path}`);
  return f.content;
};
const xmlValue = (xml: string, name: string): string | undefined => new RegExp(`<name>${name.replace(/\./g, '\\.')}</name><value>([^<]*)</value>`).exec(xml)?.[1];

describe('secure by default', () => {
  it('Kafka: TLS on every listener, client certificates required, StandardAuthorizer, brokers and admin super users', () => {
    const p = parseProperties(file('kafka-1', '/etc/millrace/kafka/server.properties'));
    expect(p.get('listener.security.protocol.map')).toBe('CLIENT:SSL,CONTROLLER:SSL');
    expect([...p.values()].join('\n')).not.toMatch(/PLAINTEXT|SASL_PLAINTEXT/);
    expect(p.get('ssl.client.auth')).toBe('required');
    expect(p.get('listener.name.controller.ssl.client.auth')).toBe('required');
    expect(p.get('authorizer.class.name')).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(p.get('allow.everyone.if.no.acl.found')).toBe('false');
    expect(p.get('super.users')).toBe('User:kafka-broker@kafka-1;User:admin');
    expect(p.get('listeners')).toBe('CLIENT://127.0.0.11:9093,CONTROLLER://127.0.0.11:9094');
    expect(p.get('advertised.listeners')).toBe('CLIENT://127.0.0.11:9093');
  });

  it('Kafka: a node with a public address gets an EXTERNAL TLS listener, bound privately and advertised publicly', () => {
    const yaml = 'name: demo\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka], address: 10.0.0.5, publicAddress: 203.0.113.10 }\n  - { name: hdfs-1, roles: [namenode, datanode], address: 10.0.0.6 }\n';
    const plan = planCluster(factsFor(yaml));
    const p = parseProperties(plan.find((x) => x.node.name === 'kafka-1')!.files.find((f) => f.path === '/etc/millrace/kafka/server.properties')!.content);
    expect(p.get('listeners')).toBe('CLIENT://10.0.0.5:9093,CONTROLLER://10.0.0.5:9094,EXTERNAL://10.0.0.5:9095');
    expect(p.get('advertised.listeners')).toBe('CLIENT://10.0.0.5:9093,EXTERNAL://203.0.113.10:9095');
    expect(p.get('listener.security.protocol.map')).toBe('CLIENT:SSL,CONTROLLER:SSL,EXTERNAL:SSL');
    expect(p.get('inter.broker.listener.name')).toBe('CLIENT');
    expect(p.get('ssl.client.auth')).toBe('required');
  });

  it('HDFS: HTTPS-only UIs, encrypted block transfer, the KMS over HTTPS as key provider', () => {
    const hdfs = file('hdfs-1', '/etc/millrace/hadoop/hdfs-site.xml');
    expect(xmlValue(hdfs, 'dfs.http.policy')).toBe('HTTPS_ONLY');
    expect(xmlValue(hdfs, 'dfs.encrypt.data.transfer')).toBe('true');
    expect(xmlValue(hdfs, 'dfs.block.access.token.enable')).toBe('true');
    expect(xmlValue(hdfs, 'dfs.permissions.enabled')).toBe('true');
    expect(xmlValue(file('spark-1', '/etc/millrace/hadoop/core-site.xml'), 'hadoop.security.key.provider.path')).toBe('kms://https@127.0.0.13:9600/kms');
    expect(xmlValue(file('hdfs-1', '/etc/millrace/kms/kms-site.xml'), 'hadoop.kms.ssl.enabled')).toBe('true');
    const acls = file('hdfs-1', '/etc/millrace/kms/kms-acls.xml');
    expect(xmlValue(acls, 'key.acl.lake.DECRYPT_EEK')).toBe('spark');
    expect(xmlValue(acls, 'hadoop.kms.acl.GENERATE_EEK')).toBe('hdfs');
    expect(xmlValue(file('hdfs-1', '/etc/millrace/hadoop/ssl-server.xml'), 'ssl.server.keystore.password')).toBe('ks-hdfs-1');
  });

  it('Spark: authentication, RPC and disk encryption, UI TLS, the REST server off, Kafka client settings for jobs', () => {
    const conf = file('spark-1', '/etc/millrace/spark/spark-defaults.conf');
    for (const line of [
      'spark.authenticate true',
      'spark.authenticate.secret fixture-spark-secret',
      'spark.network.crypto.enabled true',
      'spark.io.encryption.enabled true',
      'spark.ssl.standalone.enabled true',
      'spark.ssl.ui.enabled true',
      'spark.master.rest.enabled false',
      'spark.millrace.kafka.bootstrapServers 127.0.0.11:9093',
      'spark.millrace.kafka.keystore /etc/millrace/spark/kafka/pipeline.pem',
      'spark.millrace.lake /lake',
    ])
      expect(conf.split('\n')).toContain(line);
  });

  it('keystores are built on the node from the PEM files, passwords read from files', () => {
    const hdfs = plans.find((p) => p.node.name === 'hdfs-1')!;
    expect(hdfs.keyStores.map((k) => [k.path, k.kind, k.owner])).toEqual([
      ['/etc/millrace/tls/hdfs/keystore.p12', 'pkcs12', 'hdfs'],
      ['/etc/millrace/tls/truststore.jks', 'truststore', 'root'],
    ]);
    expect(hdfs.keyStoreScript).toContain('build pkcs12 /etc/millrace/tls/hdfs/keystore.p12 /etc/millrace/tls/hdfs/node.pem /etc/millrace/tls/hdfs/keystore.password hdfs');
    expect(hdfs.keyStoreScript).toContain('-passout "file:$4"');
    expect(hdfs.keyStoreScript).toContain('-storepass:file "$4"');
    expect(hdfs.keyStoreScript).not.toContain('ks-hdfs-1');
  });
});

describe('verify helpers', () => {
  const ss = [
    'LISTEN 0 50 [::ffff:127.0.0.11]:9093 *:* users:(("java",pid=9,fd=1))',
    'LISTEN 0 128 127.0.0.11:22 0.0.0.0:* users:(("sshd",pid=3,fd=3))',
    'LISTEN 0 128 0.0.0.0:2024 0.0.0.0:*',
    'LISTEN 0 50 127.0.0.1:42017 0.0.0.0:* users:(("java",pid=7,fd=2))',
    'LISTEN 0 50 *:9092 *:* users:(("java",pid=9,fd=4))',
    'LISTEN 0 50 [::ffff:127.0.0.12]:7077 *:* users:(("java",pid=5,fd=1))',
  ].join('\n');

  it('reads listeners on the node address and owned wildcards; others are ignored or set apart', () => {
    expect(reachableOn(parseListeners(ss), '127.0.0.11')).toEqual({ open: [22, 9092, 9093], foreign: [2024] });
  });

  it('names undeclared and missing ports against lib/roles.ts', () => {
    const node = { name: 'kafka-1', roles: ['kafka' as const], sshAddress: '', sshPort: 22, sshUser: 'root', privateKeyPath: '', privateAddress: '127.0.0.11' };
    const v = comparePorts(node, [22, 9092, 9093]);
    expect(v.unexpected).toEqual([9092]);
    // Every node also serves its host metrics (9100); a broker its JMX metrics (9404).
    expect(v.missing.map((s) => s.port)).toEqual([9100, 9094, 9404]);
    const inside = [NODE_METRICS_PORT.port, ...ROLE_PORTS.kafka.filter((p) => !p.publicOnly).map((p) => p.port)];
    expect(comparePorts(node, [SSH_PORT.port, ...inside])).toEqual({ unexpected: [], missing: [] });
    // 9095 is declared only for a node with a public address, and then it must listen.
    expect(comparePorts(node, [SSH_PORT.port, ...inside, 9095]).unexpected).toEqual([9095]);
    const natted = { ...node, publicAddress: '127.0.0.41' };
    expect(comparePorts(natted, [SSH_PORT.port, ...inside]).missing.map((s) => s.port)).toEqual([9095]);
    expect(comparePorts(natted, [SSH_PORT.port, ...inside, 9095])).toEqual({ unexpected: [], missing: [] });
  });

  it('parses block ids, zones, and names secrets without printing them', () => {
    expect(parseBlockIds('/lake/x 10 bytes, 1 block(s):  OK\n0. BP-1:blk_1073741826_1002 len=10 Live_repl=1\n')).toEqual(['blk_1073741826']);
    expect(parseZones('/lake  lake\n')).toEqual([{ path: '/lake', key: 'lake' }]);
    expect(secretsIn('java -Dpw=hunter2hunter2 x', [{ name: 'kms password', value: 'hunter2hunter2' }, { name: 'other', value: 'zzz' }])).toEqual(['kms password']);
  });
});
