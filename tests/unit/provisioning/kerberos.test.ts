/** Kerberos planning (kerberos.enabled): placement, principals and keytabs, and what each node's files say. */
import { execFileSync } from 'node:child_process';
import { parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { authToLocal, keytabsFor, realmFor } from '../../../provisioning/kerberos/realm';
import { planCluster, type NodePlan } from '../../../provisioning/plan';
import { adminPassword } from '../../../provisioning/kerberos/kdc';
import type { Role } from '../../../lib/roles';
import { planEgress } from '../../../stacks/security-groups';
import { factsFor } from '../../fixtures/facts';
import { KINIT_TIMER, KINIT_UNIT, kinitFresh, sparkMasterService, sparkWorkerService } from '../../../provisioning/services/spark';
import { fakeHost } from './fake-host';
import pino from 'pino';

const silent = pino({ level: 'silent' });

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

  it('control: without kerberos.enabled no node gets the kdc role', () => {
    expect(parseConfigText('name: demo\n').nodes.flatMap((n) => n.roles)).not.toContain('kdc');
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
    expect(plan('hdfs-1').services.map((s) => s.id)).toEqual(['kdc', 'hdfs-namenode', 'hadoop-kms', 'hdfs-datanode', 'node-exporter']);
  });

  it('Hadoop: Kerberos, authorization and privacy everywhere; the NameNode\'s own hdfs-site leaves the DataNode principal out', () => {
    const core = file(plan('spark-1'), '/etc/millrace/hadoop/core-site.xml');
    expect(prop(core, 'hadoop.security.authentication')).toBe('kerberos');
    // JVMs on a ticket cache re-read it; the timer alone writes it (no `kinit -R` beside it).
    expect(prop(core, 'hadoop.kerberos.kinit.command')).toBe('/bin/true');
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
    // It is Python that parses, and each retry is a new ticket and a new JVM (a realm may have moved under the first).
    expect(execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: script }).toString()).toBe('');
    const loop = script.slice(script.indexOf('while True:'));
    expect(loop).toMatch(/gateway = launch_gateway\(\)[\s\S]*gateway\.shutdown\(\)[\s\S]*kinit\(\)/);
  });

  it('control: without Kerberos, simple authentication and none of these files', () => {
    const plain = planCluster(factsFor('name: demo\nkerberos: { enabled: false }\n'));
    const p = plain.find((x) => x.node.name === 'hdfs-1')!;
    expect(prop(file(p, '/etc/millrace/hadoop/core-site.xml'), 'hadoop.security.authentication')).toBe('simple');
    expect(p.files.map((f) => f.path).filter((x) => /krb5|keytab|namenode\/|kinit/.test(x))).toEqual([]);
    expect(p.prepareScript).not.toMatch(/krb5/);
  });
});

describe('an existing KDC (kerberos.kdc)', () => {
  const EXISTING = 'name: demo\nkerberos:\n  enabled: true\n  realm: CORP.EXAMPLE.COM\n  kdc: 10.20.0.5\n  admin: { principal: millrace/admin }\n';

  it('runs no KDC of its own: no node gets the kdc role, and every node\'s krb5.conf names the KDC and its kadmin server', () => {
    const c = parseConfigText(EXISTING);
    expect(c.nodes.flatMap((n) => n.roles)).not.toContain('kdc');
    const facts = factsFor(EXISTING);
    expect(facts.kerberos).toMatchObject({
      realm: 'CORP.EXAMPLE.COM',
      kdc: { address: '10.20.0.5', port: 88 },
      admin: { server: '10.20.0.5', port: 749, principal: 'millrace/admin@CORP.EXAMPLE.COM', passwordEnv: 'MILLRACE_KADMIN_PASSWORD' },
    });
    expect(facts.kerberos!.kdcNode).toBeUndefined();
    const plans = planCluster(facts);
    const krb5 = file(plans.find((p) => p.node.name === 'spark-1'), '/etc/krb5.conf')!;
    expect(krb5).toContain('default_realm = CORP.EXAMPLE.COM');
    expect(krb5).toContain('kdc = 10.20.0.5:88');
    expect(krb5).toContain('admin_server = 10.20.0.5:749');
    // Nothing of millrace's own KDC anywhere; principals are still per service and node, in that realm.
    for (const p of plans) expect(p.files.map((f) => f.path).filter((x) => x.startsWith('/etc/krb5kdc'))).toEqual([]);
    expect(plans.find((p) => p.node.name === 'hdfs-1')!.prepareScript).not.toMatch(/krb5-kdc/);
    expect(prop(file(plans.find((p) => p.node.name === 'hdfs-1'), '/etc/millrace/hadoop/hdfs-site.xml'), 'dfs.namenode.kerberos.principal')).toBe('nn/127.0.0.13@CORP.EXAMPLE.COM');
    // Ports and another admin server.
    const other = factsFor('name: demo\nkerberos:\n  enabled: true\n  realm: CORP.EXAMPLE.COM\n  kdc: kdc.corp.example.com:1088\n  admin: { principal: ops/admin@OPS.EXAMPLE.COM, server: "kadmin.corp.example.com:7749", passwordEnv: CORP_PW }\n');
    expect(other.kerberos).toMatchObject({ kdc: { address: 'kdc.corp.example.com', port: 1088 }, admin: { server: 'kadmin.corp.example.com', port: 7749, principal: 'ops/admin@OPS.EXAMPLE.COM', passwordEnv: 'CORP_PW' } });
  });

  it('refuses an existing KDC without its realm or admin, an admin without a KDC, a kdc role beside it, a bad port, and a host name on aws, each with its path', () => {
    expect(problems('name: demo\nkerberos: { enabled: true, kdc: 10.20.0.5 }\n')).toEqual([
      "kerberos.admin: an existing KDC (kerberos.kdc) needs an admin principal for the cluster's principals and keytabs",
      'kerberos.realm: an existing KDC (kerberos.kdc) needs its realm named',
    ]);
    expect(problems('name: demo\nkerberos: { enabled: true, admin: { principal: millrace/admin } }\n')).toEqual(['kerberos.admin: is only used with an existing KDC (kerberos.kdc)']);
    expect(problems(`${EXISTING}nodes:\n  - { name: a-1, roles: [kafka, namenode, datanode, kdc] }\n`)).toEqual(['nodes: a node has the kdc role, but kerberos.kdc names an existing KDC']);
    expect(problems('name: demo\nkerberos:\n  enabled: true\n  realm: CORP.EXAMPLE.COM\n  kdc: "10.20.0.5:99999"\n  admin: { principal: "millrace admin" }\n')).toEqual([
      'kerberos.admin.principal: must be a principal name, e.g. millrace/admin or millrace/admin@CORP.EXAMPLE.COM',
      'kerberos.kdc: port "99999" is not 1-65535',
    ]);
    expect(problems('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\nkerberos:\n  enabled: true\n  realm: CORP.EXAMPLE.COM\n  kdc: kdc.corp.example.com\n  admin: { principal: millrace/admin }\n')).toEqual([
      'kerberos.kdc: "kdc.corp.example.com" is a host name; the aws target opens the nodes\' security groups to the KDC by address',
    ]);
  });

  it('on aws, the nodes that log in reach the KDC on 88 and only the namenode\'s reaches kadmin on 749, each to that address alone', () => {
    const c = parseConfigText('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\nkerberos:\n  enabled: true\n  realm: CORP.EXAMPLE.COM\n  kdc: 10.20.0.5\n  admin: { principal: millrace/admin, server: "10.20.0.6" }\n');
    const extra = (roles: Role[]) => planEgress(c, '10.0.0.0/16', roles).filter((e) => e.id === 'kdc' || e.id === 'kadmin').map((e) => `${e.id} ${e.port} ${e.cidr}`);
    expect(extra(['namenode', 'datanode', 'kms'])).toEqual(['kdc 88 10.20.0.5/32', 'kadmin 749 10.20.0.6/32']);
    expect(extra(['spark-master', 'spark-worker'])).toEqual(['kdc 88 10.20.0.5/32']);
    expect(extra(['kafka'])).toEqual([]);
    // Control: millrace's own KDC is inside the VPC, which the VPC rule covers.
    expect(planEgress(parseConfigText('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\n'), '10.0.0.0/16', ['namenode']).map((e) => e.id)).toEqual(['vpc', 'https']);
  });

  it('reads the admin password from the environment only; missing, the error names the variable and how to set it', () => {
    const k = factsFor(EXISTING).kerberos!;
    expect(adminPassword(k, { MILLRACE_KADMIN_PASSWORD: 's3cret-pw' })).toBe('s3cret-pw');
    expect(() => adminPassword(k, {})).toThrow(/\$MILLRACE_KADMIN_PASSWORD is not set; millrace needs the password of millrace\/admin@CORP\.EXAMPLE\.COM/);
    let error: unknown;
    try {
      adminPassword(k, { MILLRACE_KADMIN_PASSWORD: 'pw\nmore' });
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/holds a line break/);
    expect(String(error)).not.toContain('more');
  });
});

describe("Spark's ticket renewal on `up`", () => {
  const facts = factsFor('name: demo\nkerberos: { enabled: true }\n');
  const principal = 'spark/127.0.0.12@DEMO.MILLRACE';
  const START = `systemctl restart ${KINIT_UNIT} && systemctl enable --quiet --now ${KINIT_TIMER} && systemctl restart ${KINIT_TIMER}`;
  const ctxWith = (restarted: { node: string; serviceId: string }[]) => {
    const order: string[] = [];
    const ctx = {
      cluster: facts,
      node: facts.nodes.find((n) => n.name === 'spark-1')!,
      restartsDone: async () => {
        order.push('restarts done');
        return restarted;
      },
    };
    return { ctx, order };
  };

  it('leaves a renewal that is in place alone, after the rolling restarts: one check, no run of the unit (its run is a JVM for the tokens, seconds per up); once per node', async () => {
    const { ctx, order } = ctxWith([{ node: 'kafka-1', serviceId: 'kafka' }]);
    const host = fakeHost('spark-1', (c) => {
      order.push(c === kinitFresh(principal) ? 'fresh?' : c);
      return c === kinitFresh(principal) ? { code: 0 } : undefined;
    });
    expect(sparkMasterService.initialize).toBeUndefined();
    expect(await sparkMasterService.postStart!(host, ctx, silent)).toEqual({ changed: false });
    expect(await sparkWorkerService.postStart!(host, ctx, silent)).toEqual({ changed: false });
    expect(order).toEqual(['restarts done', 'fresh?']);
  });

  it("control: without it (no timer, a failed run, no tokens, tokens older than the script, an expired ticket or another principal's), or after this up restarted the NameNode, it gets a ticket and renews or replaces the tokens; a KMS restart alone needs no run (the file holds no KMS token)", async () => {
    const stale = fakeHost('spark-1', (c) => (c === kinitFresh(principal) ? { code: 1 } : c.startsWith('systemctl is-enabled') ? { stdout: 'disabled\n' } : undefined));
    expect(await sparkMasterService.postStart!(stale, ctxWith([]).ctx, silent)).toMatchObject({ changed: true });
    expect(stale.commands).toContain(START);
    const inPlace = () => fakeHost('spark-1', (c) => (c === kinitFresh(principal) ? { code: 0 } : c.startsWith('systemctl is-enabled') ? { stdout: 'enabled\n' } : undefined));
    const nnRestarted = inPlace();
    expect(await sparkMasterService.postStart!(nnRestarted, ctxWith([{ node: 'hdfs-1', serviceId: 'hdfs-namenode' }]).ctx, silent)).toEqual({ changed: false });
    expect(nnRestarted.commands).toContain(START);
    const kmsRestarted = inPlace();
    expect(await sparkMasterService.postStart!(kmsRestarted, ctxWith([{ node: 'hdfs-1', serviceId: 'hadoop-kms' }]).ctx, silent)).toEqual({ changed: false });
    expect(kmsRestarted.commands).not.toContain(START);
    // What "in place" means, as the node is asked.
    for (const part of ['systemctl is-enabled --quiet millrace-spark-kinit.timer', 'systemctl is-active --quiet millrace-spark-kinit.timer', 'Result --value millrace-spark-kinit.service)" = success', 'test -s /var/lib/millrace/spark/hadoop.tokens', 'test /var/lib/millrace/spark/hadoop.tokens -nt /opt/millrace/bin/millrace-spark-credentials', 'klist -s -c FILE:/var/lib/millrace/spark/krb5cc', `Default principal: ${principal}`]) {
      expect(kinitFresh(principal)).toContain(part);
    }
  });
});
