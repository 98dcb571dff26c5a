/**
 * Identities that can't be borrowed (issue 12, items 1 and 7): what each certificate the CA issues
 * maps to on the brokers, who the super users are, which key lands on which node, and the names
 * an operator may not give a client or a node. Each refusal beside the control that passes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../lib/config';
import { ConfigError, UsageError } from '../../../lib/errors';
import { brokerPrincipal, checkClientPrincipal, groupPrefix, kafkaPrincipalMappingRules, reservedNodeName, superUsers } from '../../../lib/principals';
import { ClusterCa, type LeafRequest } from '../../../provisioning/pki/cluster-ca';
import { planCluster } from '../../../provisioning/plan';
import { parseProperties, superUsersCheck } from '../../../provisioning/services/kafka';
import { factsFor } from '../../fixtures/facts';

/**
 * Kafka's SslPrincipalMapper, for these rules: RULE:<pattern>/<replacement>/ in order, the first
 * whose pattern matches the whole DN replaces it; DEFAULT keeps the DN. (Java and JavaScript
 * regexes agree on the constructs used: anchors, classes, groups, alternation, $n.)
 */
function mapPrincipal(rules: string, dn: string): string {
  const parsed = [...rules.matchAll(/\s*(DEFAULT|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?))\s*(?:,\s*|$)/g)];
  expect(parsed.map((m) => m[0]).join('')).toBe(rules);
  for (const m of parsed) {
    if (m[1] === 'DEFAULT') return dn;
    const pattern = new RegExp(m[2]!);
    const full = pattern.exec(dn);
    if (full && full[0] === dn) return dn.replace(pattern, m[3]!);
  }
  throw new Error(`no rule maps ${dn}`);
}

/** The subject as Java's X500Principal.getName() prints it (RFC 2253), which Kafka maps. */
function rfc2253Subject(certPem: string, dir: string): string {
  const file = path.join(dir, 'subject.pem');
  fs.writeFileSync(file, certPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
  return execFileSync('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253']).toString().trim().replace(/^subject=/, '');
}

function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a UsageError');
}

describe('principal mapping and super users', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-ids-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('renders the mapping rules and super.users into server.properties exactly', () => {
    expect(kafkaPrincipalMappingRules()).toBe(
      'RULE:^CN=([A-Za-z0-9._-]+),OU=client,O=millrace$/$1/,RULE:^CN=([A-Za-z0-9._-]+),OU=(kafka-broker|spark|node),O=millrace$/$2@$1/,DEFAULT',
    );
    const yaml = 'name: demo\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka], address: 10.0.0.5 }\n  - { name: kafka-2, roles: [kafka], address: 10.0.0.6 }\n  - { name: hdfs-1, roles: [namenode, datanode, spark-master, spark-worker], address: 10.0.0.7 }\n';
    const plan = planCluster(factsFor(yaml));
    const props = parseProperties(plan.find((p) => p.node.name === 'kafka-2')!.files.find((f) => f.path === '/etc/millrace/kafka/server.properties')!.content);
    expect(props.get('ssl.principal.mapping.rules')).toBe(kafkaPrincipalMappingRules());
    expect(props.get('super.users')).toBe('User:kafka-broker@kafka-1;User:kafka-broker@kafka-2;User:admin');
  });

  it("maps a client certificate named after a broker to a plain user, never to the broker's identity", async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    const rules = kafkaPrincipalMappingRules();
    const supers = superUsers(['kafka-1']).map((u) => u.replace(/^User:/, ''));
    const principalOf = async (req: LeafRequest): Promise<string> => mapPrincipal(rules, rfc2253Subject((await ca.issue(req)).certPem, dir));
    const san = { dnsNames: ['kafka-1'], ipAddresses: ['127.0.0.11'] };

    // The broker's own certificate: its identity, a super user (the control).
    expect(rfc2253Subject((await ca.issue({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', ...san })).certPem, dir)).toBe('CN=kafka-1,OU=kafka-broker,O=millrace');
    expect(await principalOf({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', ...san })).toBe(brokerPrincipal('kafka-1'));
    expect(supers).toContain(brokerPrincipal('kafka-1'));
    // A client certificate with the broker's name: User:kafka-1, no super user.
    const impostor = await principalOf({ name: 'kafka-1', usage: 'client', dnsNames: [], ipAddresses: [] });
    expect(impostor).toBe('kafka-1');
    expect(supers).not.toContain(impostor);
    // The client principals keep their names; admin is the operator's super user.
    expect(await principalOf({ name: 'pipeline', usage: 'client', dnsNames: [], ipAddresses: [] })).toBe('pipeline');
    expect(await principalOf({ name: 'admin', usage: 'client', dnsNames: [], ipAddresses: [] })).toBe('admin');
    expect(supers).toContain('admin');
    // Spark's and the node's certificates: identities of their own that no ACL names.
    expect(await principalOf({ name: 'spark-1', usage: 'server', ou: 'spark', ...san })).toBe('spark@spark-1');
    expect(await principalOf({ name: 'admin', usage: 'server', ...san })).toBe('node@admin');
    expect(supers).not.toContain('spark@spark-1');
    expect(supers).not.toContain('node@admin');
    // A DN of another shape (not this CA's) keeps its whole DN.
    expect(mapPrincipal(rules, 'CN=kafka-1,O=millrace')).toBe('CN=kafka-1,O=millrace');
  });

  it('never issues a client certificate with a service OU, or with a name that could smuggle one in', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    await expect(ca.issue({ name: 'kafka-1', usage: 'client', ou: 'kafka-broker', dnsNames: [], ipAddresses: [] })).rejects.toThrow('a client certificate cannot carry OU=kafka-broker');
    await expect(ca.issue({ name: 'x,OU=kafka-broker', usage: 'client', dnsNames: [], ipAddresses: [] })).rejects.toThrow(/is not a usable principal name/);
    await expect(ca.issue({ name: '*', usage: 'client', dnsNames: [], ipAddresses: [] })).rejects.toThrow(/is a wildcard/);
    expect(fs.existsSync(path.join(dir, 'clients'))).toBe(false);
    // Control: the same name as a plain client.
    expect((await ca.issue({ name: 'kafka-1', usage: 'client', dnsNames: [], ipAddresses: [] })).created).toBe(true);
  });

  it('reissues a certificate of the earlier scheme (CN=<name>,O=millrace) with its OU', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    const req: LeafRequest = { name: 'pipeline', usage: 'client', dnsNames: [], ipAddresses: [] };
    const first = await ca.issue(req);
    expect((await ca.issue(req)).created).toBe(false);
    // Swap in a certificate without an OU for the same key, signed by the same CA (as before this change).
    const key = path.join(dir, 'clients', 'pipeline.key');
    const old = path.join(dir, 'old.pem');
    execFileSync('sh', ['-c', `openssl req -new -key ${key} -subj /CN=pipeline/O=millrace | openssl x509 -req -CA ${dir}/ca.crt -CAkey ${dir}/ca.key -days 30 -out ${old} 2>/dev/null`]);
    fs.writeFileSync(path.join(dir, 'clients', 'pipeline.crt'), fs.readFileSync(old));
    const again = await ca.issue(req);
    expect(again.created).toBe(true);
    expect(rfc2253Subject(again.certPem, dir)).toBe('CN=pipeline,OU=client,O=millrace');
    expect(again.certPem).not.toBe(first.certPem);
  });

  it("checks super.users on a broker: millrace's set passes, a node name or a stray principal fails", () => {
    const facts = factsFor();
    const props = parseProperties(planCluster(facts).find((p) => p.node.name === 'kafka-1')!.files.find((f) => f.path === '/etc/millrace/kafka/server.properties')!.content);
    expect(superUsersCheck(props, facts)).toEqual({ name: 'super users', ok: true, detail: 'User:kafka-broker@kafka-1, User:admin' });
    const legacy = new Map(props).set('super.users', 'User:kafka-1;User:admin');
    expect(superUsersCheck(legacy, facts)).toMatchObject({ ok: false, detail: 'unexpected User:kafka-1; missing User:kafka-broker@kafka-1' });
    const widened = new Map(props).set('super.users', 'User:kafka-broker@kafka-1;User:admin;User:pipeline');
    expect(superUsersCheck(widened, facts)).toMatchObject({ ok: false, detail: 'unexpected User:pipeline' });
    const rules = new Map(props).set('ssl.principal.mapping.rules', 'DEFAULT');
    expect(superUsersCheck(rules, facts)).toMatchObject({ ok: false, detail: 'ssl.principal.mapping.rules is DEFAULT' });
  });
});

describe("a service's key only where the service runs", () => {
  const yaml = 'name: demo\ntarget: static\nnodes:\n  - { name: both-1, roles: [kafka, spark-master, spark-worker], address: 10.0.0.5 }\n  - { name: hdfs-1, roles: [namenode, datanode, kms, spark-worker], address: 10.0.0.6 }\n';
  const facts = factsFor(yaml);
  const plans = planCluster(facts);
  const files = (node: string): { path: string; content: string; owner: string }[] => plans.find((p) => p.node.name === node)!.files;
  const kafkaKey = facts.tls['both-1']!.kafka!.keyPem;

  it('gives Spark its own identity on a node that also runs Kafka: no broker key in any file spark owns', () => {
    const sparkFiles = files('both-1').filter((f) => f.owner === 'spark');
    expect(sparkFiles.length).toBeGreaterThan(0);
    expect(sparkFiles.filter((f) => f.content.includes(kafkaKey)).map((f) => f.path)).toEqual([]);
    expect(files('both-1').find((f) => f.path === '/etc/millrace/tls/spark/node.pem')!.content).toContain(facts.tls['both-1']!.spark!.keyPem);
    // Control: the broker key is there, for kafka only.
    expect(files('both-1').filter((f) => f.content.includes(kafkaKey)).map((f) => `${f.path} ${f.owner}`)).toEqual(['/etc/millrace/tls/kafka/node.pem kafka']);
  });

  it('puts no Kafka key on a node without the kafka role, and issues it none', () => {
    expect(facts.tls['hdfs-1']!.kafka).toBeUndefined();
    const anyKafkaKey = Object.values(facts.tls).flatMap((t) => (t.kafka ? [t.kafka.keyPem] : []));
    expect(anyKafkaKey).toHaveLength(1);
    expect(files('hdfs-1').filter((f) => anyKafkaKey.some((k) => f.content.includes(k)))).toEqual([]);
    // Control: the node's own identity is there for HDFS, Spark's for the worker.
    expect(files('hdfs-1').find((f) => f.path === '/etc/millrace/tls/hdfs/node.pem')!.content).toContain(facts.tls['hdfs-1']!.keyPem);
    expect(files('hdfs-1').find((f) => f.path === '/etc/millrace/tls/spark/node.pem')!.content).toContain(facts.tls['hdfs-1']!.spark!.keyPem);
  });
});

describe('reserved names', () => {
  const nodeNames = ['kafka-1', 'spark-1', 'hdfs-1'];

  it('refuses a wildcard, a node name and the super user as a client principal, each with a hint (exit 2)', () => {
    const cases: [string, RegExp][] = [
      ['*', /^"\*" is a wildcard, not a principal: an ACL for it would grant every client$/],
      ['pipe*', /^"pipe\*" is a wildcard/],
      ['kafka-1', /^--principal kafka-1: "kafka-1" is the name of a node of this cluster, and node names are reserved$/],
      ['admin', /^--principal admin: User:admin is a Kafka super user/],
      ['kafka-broker@kafka-1', /is not a usable principal name/],
    ];
    for (const [name, message] of cases) {
      const e = usageError(() => checkClientPrincipal(name, { nodeNames }));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(message);
      expect(e.hint).toBeTruthy();
    }
    expect(usageError(() => checkClientPrincipal('admin', { nodeNames })).hint).toContain('--superuser');
    // Controls: an ordinary name, and admin when asked for explicitly (a node name stays refused).
    expect(checkClientPrincipal('pipeline', { nodeNames })).toBe('pipeline');
    expect(checkClientPrincipal('reporting', { nodeNames })).toBe('reporting');
    expect(checkClientPrincipal('admin', { nodeNames, superuser: true })).toBe('admin');
    expect(() => checkClientPrincipal('kafka-1', { nodeNames, superuser: true })).toThrow(/node names are reserved/);
  });

  it("refuses a node named after one of millrace's principals", () => {
    const yamlFor = (name: string): string => `name: demo\nnodes:\n  - { name: ${name}, roles: [kafka, namenode, datanode] }\n`;
    for (const name of ['admin', 'pipeline']) {
      let error: unknown;
      try {
        parseConfigText(yamlFor(name), 'bad.yaml');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([expect.objectContaining({ path: 'nodes[0].name', message: reservedNodeName(name), hint: 'give the node another name, e.g. node-1' })]);
    }
    expect(reservedNodeName('admin')).toBe('"admin" is reserved: it is the name of millrace\'s super-user (operator) Kafka principal');
    // Control: an ordinary name passes.
    expect(parseConfigText(yamlFor('admin-1'), 'ok.yaml').nodes[0]!.name).toBe('admin-1');
  });

  it('scopes groups to "<principal>-"', () => {
    expect(groupPrefix('pipeline')).toBe('pipeline-');
    expect('pipeline-x'.startsWith(groupPrefix('pipe'))).toBe(false);
    expect('pipe-x'.startsWith(groupPrefix('pipe'))).toBe(true);
    expect(() => groupPrefix('*')).toThrow(UsageError);
  });
});
