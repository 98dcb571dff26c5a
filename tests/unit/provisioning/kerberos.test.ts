/** Kerberos planning (kerberos.enabled): placement, principals and keytabs, and what each node's files say. */
import { parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { authToLocal, keytabsFor, realmFor } from '../../../provisioning/kerberos/realm';
import { planCluster, type NodePlan } from '../../../provisioning/plan';
import { factsFor } from '../../fixtures/facts';

const file = (plan: NodePlan | undefined, path: string): string | undefined => plan?.files.find((f) => f.path === path)?.content;
const prop = (xml: string | undefined, name: string): string | undefined => new RegExp(`<name>${name.replace(/\./g, '\\.')}</name>\\s*<value>([^<]*)</value>`).exec(xml ?? '')?.[1];

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('kerberos config', () => {
  it('places the KDC on the namenode\'s node when no node has the kdc role; the realm comes from the cluster name', () => {
    const c = parseConfigText('name: demo\nkerberos: { enabled: true }\n');
    expect(c.nodes.filter((n) => n.roles.includes('kdc')).map((n) => n.name)).toEqual(['hdfs-1']);
    expect(realmFor(c)).toBe('DEMO.MILLRACE');
    expect(realmFor(parseConfigText('name: demo\nkerberos: { enabled: true, realm: CORP.EXAMPLE.COM }\n'))).toBe('CORP.EXAMPLE.COM');
  });

  it('is on by default; control: with kerberos.enabled false no node gets the kdc role', () => {
    expect(parseConfigText('name: demo\n').kerberos.enabled).toBe(true);
    expect(parseConfigText('name: demo\n').nodes.filter((n) => n.roles.includes('kdc')).map((n) => n.name)).toEqual(['hdfs-1']);
    expect(parseConfigText('name: demo\nkerberos: { enabled: false }\n').nodes.flatMap((n) => n.roles)).not.toContain('kdc');
  });

  it('refuses a kdc role without kerberos, two KDCs, a lower-case realm and a lifetime under 2 minutes, each with its path', () => {
    expect(problems('name: demo\nkerberos: { enabled: false }\nnodes:\n  - { name: a-1, roles: [kafka, namenode, datanode, kdc] }\n')).toEqual(['nodes: a node has the kdc role but kerberos.enabled is false']);
    expect(problems('name: demo\nkerberos: { enabled: true }\nnodes:\n  - { name: a-1, roles: [kafka, namenode, datanode, kdc] }\n  - { name: a-2, roles: [kdc] }\n')).toEqual([
      'nodes: at most one node may have the kdc role (found 2)',
    ]);
    expect(problems('name: demo\nkerberos: { enabled: true, realm: demo.millrace }\n')).toEqual(['kerberos.realm: must be upper case letters, digits, "." and "-", e.g. DEMO.MILLRACE']);
    expect(problems('name: demo\nkerberos: { enabled: true, ticketLifetime: 90s }\n')).toEqual(['kerberos.ticketLifetime: 90s is shorter than 2 minutes']);
    expect(problems('name: demo\nkerberos: { enabled: true, ticketLifetime: 3 minutes }\n')).toEqual(['kerberos.ticketLifetime: must be a number and a unit: s, m, h or d, e.g. 10h']);
  });
});

describe('principals and keytabs', () => {
  const facts = factsFor('name: demo\nkerberos: { enabled: true }\n');
  const byName = (n: string) => facts.nodes.find((x) => x.name === n)!;

  it('one per service and node, named by the node\'s private address, each owned by its service user', () => {
    expect(keytabsFor(byName('hdfs-1'), 'DEMO.MILLRACE').map((k) => [k.principal, k.path, k.owner])).toEqual([
      ['nn/127.0.0.13@DEMO.MILLRACE', '/etc/millrace/keytabs/nn.keytab', 'hdfs'],
      ['dn/127.0.0.13@DEMO.MILLRACE', '/etc/millrace/keytabs/dn.keytab', 'hdfs'],
      ['HTTP/127.0.0.13@DEMO.MILLRACE', '/etc/millrace/keytabs/http.keytab', 'hdfs'],
    ]);
    expect(keytabsFor(byName('spark-1'), 'DEMO.MILLRACE').map((k) => [k.principal, k.owner])).toEqual([['spark/127.0.0.12@DEMO.MILLRACE', 'spark']]);
    // A service's key only where it runs: the Kafka node talks to no HDFS.
    expect(keytabsFor(byName('kafka-1'), 'DEMO.MILLRACE')).toEqual([]);
  });

  it('maps the NameNode and DataNode principals to hdfs, Spark\'s to spark, the rest of the realm to their first component', () => {
    expect(authToLocal('DEMO.MILLRACE').split('\n')).toEqual([
      'RULE:[2:$1@$0](nn@DEMO\\.MILLRACE)s/.*/hdfs/',
      'RULE:[2:$1@$0](dn@DEMO\\.MILLRACE)s/.*/hdfs/',
      'RULE:[2:$1@$0](spark@DEMO\\.MILLRACE)s/.*/spark/',
      'DEFAULT',
    ]);
  });
});

describe('plans with kerberos.enabled', () => {
  const plans = planCluster(factsFor('name: demo\nkerberos: { enabled: true, ticketLifetime: 3m }\n'));
  const plan = (n: string) => plans.find((p) => p.node.name === n)!;

  it('installs the KDC on hdfs-1 and the client tools where HDFS is used; nothing on the Kafka node', () => {
    expect(plan('hdfs-1').prepareScript).toMatch(/krb5-kdc krb5-admin-server krb5-user/);
    expect(plan('spark-1').prepareScript).toMatch(/krb5-user/);
    expect(plan('spark-1').prepareScript).not.toMatch(/krb5-kdc/);
    expect(plan('kafka-1').prepareScript).not.toMatch(/krb5/);
    expect(file(plan('kafka-1'), '/etc/krb5.conf')).toBeUndefined();
    const krb5 = file(plan('spark-1'), '/etc/krb5.conf')!;
    expect(krb5).toContain('kdc = 127.0.0.13:88');
    expect(krb5).toMatch(/dns_canonicalize_hostname = false/);
    expect(krb5).toMatch(/udp_preference_limit = 1/);
    expect(krb5).toMatch(/ticket_lifetime = 180s/);
    expect(file(plan('hdfs-1'), '/etc/krb5kdc/kdc.conf')).toMatch(/kdc_tcp_listen = 127\.0\.0\.13:88/);
    expect(plan('hdfs-1').services.map((s) => s.id)).toEqual(['kdc', 'hdfs-namenode', 'hadoop-kms', 'hdfs-datanode']);
  });

  it('Hadoop: Kerberos, authorization and privacy everywhere; the NameNode\'s own hdfs-site leaves the DataNode principal out', () => {
    const core = file(plan('spark-1'), '/etc/millrace/hadoop/core-site.xml');
    expect(prop(core, 'hadoop.security.authentication')).toBe('kerberos');
    expect(prop(core, 'hadoop.security.authorization')).toBe('true');
    expect(prop(core, 'hadoop.rpc.protection')).toBe('privacy');
    const shared = file(plan('hdfs-1'), '/etc/millrace/hadoop/hdfs-site.xml');
    expect(prop(shared, 'dfs.namenode.kerberos.principal')).toBe('nn/127.0.0.13@DEMO.MILLRACE');
    expect(prop(shared, 'dfs.datanode.kerberos.principal')).toBe('dn/_HOST@DEMO.MILLRACE');
    expect(prop(shared, 'dfs.data.transfer.protection')).toBe('privacy');
    const nnOwn = file(plan('hdfs-1'), '/etc/millrace/hadoop/namenode/hdfs-site.xml');
    expect(prop(nnOwn, 'dfs.namenode.keytab.file')).toBe('/etc/millrace/keytabs/nn.keytab');
    expect(prop(nnOwn, 'dfs.datanode.kerberos.principal')).toBeUndefined();
    expect(prop(file(plan('hdfs-1'), '/etc/millrace/hadoop/namenode/hadoop-policy.xml'), 'security.datanode.protocol.acl')).toBe('hdfs');
    expect(file(plan('hdfs-1'), '/opt/millrace/bin/millrace-hdfs-namenode')).toContain('/etc/millrace/hadoop/namenode:/etc/millrace/hadoop:');
    const kms = file(plan('hdfs-1'), '/etc/millrace/kms/kms-site.xml');
    expect(prop(kms, 'hadoop.kms.authentication.type')).toBe('kerberos');
    expect(prop(kms, 'hadoop.kms.authentication.kerberos.principal')).toBe('HTTP/127.0.0.13@DEMO.MILLRACE');
  });

  it('Spark reads the spark principal\'s ticket from a cache a timer renews every third of the lifetime', () => {
    expect(file(plan('spark-1'), '/etc/millrace/spark/spark-env.sh')).toContain('KRB5CCNAME=FILE:/var/lib/millrace/spark/krb5cc');
    expect(file(plan('spark-1'), '/etc/systemd/system/millrace-spark-kinit.timer')).toContain('OnUnitActiveSec=60s');
    expect(file(plan('spark-1'), '/etc/systemd/system/millrace-spark-kinit.service')).toContain('ExecStart=/opt/millrace/bin/millrace-spark-credentials');
    const script = file(plan('spark-1'), '/opt/millrace/bin/millrace-spark-credentials')!;
    expect(script).toContain('KEYTAB = "/etc/millrace/keytabs/spark.keytab"');
    expect(script).toContain('PRINCIPAL = "spark/127.0.0.12@DEMO.MILLRACE"');
    // Executors get HDFS and KMS delegation tokens from a file the same script keeps fresh.
    expect(file(plan('spark-1'), '/etc/millrace/spark/spark-env.sh')).toContain('HADOOP_TOKEN_FILE_LOCATION=/var/lib/millrace/spark/hadoop.tokens');
    expect(script).toContain('TOKENS = "/var/lib/millrace/spark/hadoop.tokens"');
  });

  it('control: without Kerberos, simple authentication and none of these files', () => {
    const plain = planCluster(factsFor('name: demo\nkerberos: { enabled: false }\n'));
    const p = plain.find((x) => x.node.name === 'hdfs-1')!;
    expect(prop(file(p, '/etc/millrace/hadoop/core-site.xml'), 'hadoop.security.authentication')).toBe('simple');
    expect(p.files.map((f) => f.path).filter((x) => /krb5|keytab|namenode\/|kinit/.test(x))).toEqual([]);
    expect(p.prepareScript).not.toMatch(/krb5/);
  });
});
