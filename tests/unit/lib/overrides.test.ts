/**
 * Issue 12, guarded overrides: a security-critical key in kafka/hdfs/spark.overrides is refused
 * unless acknowledged by its exact name in <service>.unsafe; a control character in an override
 * key or value is refused; a CIDR broader than /8 (IPv4) or /32 (IPv6) is refused for SSH and
 * client access. Each refusal is paired with a control that passes. Through loadConfig, as the
 * CLI reads a file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterConfig, loadConfig } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { criticalOverride, CRITICAL_OVERRIDES, matchesPattern, OVERRIDE_SERVICES, OverrideService, unsafeOverrides } from '../../../lib/overrides';
import { UNSAFE_OVERRIDE_CHECK, verifyOverrides } from '../../../provisioning/verify/overrides';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-overrides-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function load(yaml: string): ClusterConfig {
  const file = path.join(dir, `c${++n}.yaml`);
  fs.writeFileSync(file, yaml);
  return loadConfig(file);
}

/** The config's problems as "path: message (hint: ...)" lines, or [] when it loads. */
function problems(yaml: string): string[] {
  try {
    load(yaml);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => `${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
  }
}

const section = (service: OverrideService, overrides: Record<string, string | number | boolean>, unsafe?: string[]): string =>
  `name: demo\n${service}:\n  overrides:\n${Object.entries(overrides)
    .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join('\n')}\n${unsafe ? `  unsafe: ${JSON.stringify(unsafe)}\n` : ''}`;

/** The keys the issue and the README's Security section name, by section: every one must be guarded. */
const CRITICAL: Record<OverrideService, string[]> = {
  kafka: [
    'listeners',
    'advertised.listeners',
    'listener.security.protocol.map',
    'inter.broker.listener.name',
    'controller.listener.names',
    'security.inter.broker.protocol',
    'ssl.client.auth',
    'ssl.enabled.protocols',
    'ssl.keystore.location',
    'ssl.principal.mapping.rules',
    'listener.name.controller.ssl.client.auth',
    'listener.name.client.scram-sha-512.sasl.jaas.config',
    'authorizer.class.name',
    'allow.everyone.if.no.acl.found',
    'super.users',
    'sasl.enabled.mechanisms',
    'principal.builder.class',
  ],
  hdfs: [
    'hadoop.security.authorization',
    'hadoop.security.key.provider.path',
    'hadoop.rpc.protection',
    'hadoop.proxyuser.spark.hosts',
    'dfs.encrypt.data.transfer',
    'dfs.encrypt.data.transfer.cipher.suites',
    'dfs.data.transfer.protection',
    'dfs.trustedchannel.resolver.class',
    'dfs.http.policy',
    'dfs.https.enable',
    'dfs.block.access.token.enable',
    'hadoop.kms.acl.DECRYPT_EEK',
    'key.acl.lake.DECRYPT_EEK',
    'default.key.acl.MANAGEMENT',
    'dfs.encryption.key.provider.uri',
    'hadoop.ssl.enabled.protocols',
    'ssl.server.keystore.location',
    'ssl.client.truststore.location',
    'dfs.permissions.enabled',
    'dfs.permissions.superusergroup',
    'dfs.namenode.acls.enabled',
    'dfs.client.https.need-auth',
    'hadoop.http.authentication.simple.anonymous.allowed',
    'fs.permissions.umask-mode',
  ],
  spark: [
    'spark.authenticate',
    'spark.authenticate.secret',
    'spark.network.crypto.enabled',
    'spark.io.encryption.enabled',
    'spark.ssl.ui.enabled',
    'spark.ssl.rpc.enabled',
    'spark.acls.enable',
    'spark.admin.acls',
    'spark.admin.acls.groups',
    'spark.modify.acls',
    'spark.ui.view.acls',
    'spark.ui.killEnabled',
    'spark.master.rest.enabled',
    'spark.redaction.regex',
    'spark.hadoop.dfs.encrypt.data.transfer',
    'spark.hadoop.hadoop.security.key.provider.path',
  ],
};

/** Ordinary tuning keys: overridden without any acknowledgement. */
const HARMLESS: Record<OverrideService, string[]> = {
  kafka: ['log.retention.hours', 'num.partitions', 'message.max.bytes', 'SSL.client.auth', 'listener.name.client.max.connections'],
  hdfs: ['dfs.replication', 'dfs.blocksize', 'dfs.namenode.handler.count', 'DFS.permissions.enabled'],
  spark: ['spark.executor.memory', 'spark.ui.enabled', 'spark.sql.shuffle.partitions', 'spark.hadoop.dfs.replication', 'spark.Authenticate'],
};

describe('guarded overrides', () => {
  it.each(OVERRIDE_SERVICES.flatMap((s) => CRITICAL[s].map((k) => [s, k] as const)))('%s.overrides %s is refused unless acknowledged; acknowledged it loads', (service, key) => {
    expect(criticalOverride(service, key)).toBeDefined();
    const refused = problems(section(service, { [key]: 'x' }));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(new RegExp(`^${service}\\.overrides\\.${key.replace(/\./g, '\\.')}: "${key.replace(/\./g, '\\.')}" is security-critical: it .+ \\(hint: remove it; or, to accept the risk, acknowledge it with "${service}\\.unsafe: \\[${key.replace(/\./g, '\\.')}\\]"`));
    // Control: the same override, acknowledged by name.
    const config = load(section(service, { [key]: 'x' }, [key]));
    expect(config[service].overrides[key]).toBe('x');
    expect(unsafeOverrides(config)).toEqual([{ service, key, why: expect.stringMatching(/^it /) }]);
  });

  it.each(OVERRIDE_SERVICES.flatMap((s) => HARMLESS[s].map((k) => [s, k] as const)))('control: %s.overrides %s needs no acknowledgement (case-sensitive, as the services read keys)', (service, key) => {
    expect(problems(section(service, { [key]: 1 }))).toEqual([]);
    expect(criticalOverride(service, key)).toBeUndefined();
  });

  it('the issue\'s examples: allow.everyone.if.no.acl.found, ssl.client.auth: none, spark.authenticate: false', () => {
    expect(
      problems(`name: demo
kafka:
  overrides: { allow.everyone.if.no.acl.found: true, ssl.client.auth: none, log.retention.hours: 72 }
spark:
  overrides: { spark.authenticate: false }
`),
    ).toEqual([
      'kafka.overrides.allow.everyone.if.no.acl.found: "allow.everyone.if.no.acl.found" is security-critical: it changes the authorizer, which denies what no ACL allows (hint: remove it; or, to accept the risk, acknowledge it with "kafka.unsafe: [allow.everyone.if.no.acl.found]" (up then warns, and `millrace verify` fails naming it for as long as it is set))',
      'kafka.overrides.ssl.client.auth: "ssl.client.auth" is security-critical: it changes the TLS of the Kafka listeners: protocols, keystores, client certificates, how a certificate maps to a principal (hint: remove it; or, to accept the risk, acknowledge it with "kafka.unsafe: [ssl.client.auth]" (up then warns, and `millrace verify` fails naming it for as long as it is set))',
      'spark.overrides.spark.authenticate: "spark.authenticate" is security-critical: it changes Spark\'s authentication with the cluster secret (hint: remove it; or, to accept the risk, acknowledge it with "spark.unsafe: [spark.authenticate]" (up then warns, and `millrace verify` fails naming it for as long as it is set))',
    ]);
  });

  it('an acknowledgement names the exact key: a pattern, another section or another case does not acknowledge it', () => {
    expect(problems(section('kafka', { 'ssl.client.auth': 'none' }, ['ssl.*']))).toEqual([
      expect.stringMatching(/^kafka\.overrides\.ssl\.client\.auth: "ssl\.client\.auth" is security-critical/),
      'kafka.unsafe[0]: "ssl.*" is not set in kafka.overrides (hint: remove it from kafka.unsafe, or set the override it acknowledges)',
    ]);
    expect(problems(`${section('kafka', { 'super.users': 'User:eve' })}spark:\n  unsafe: [super.users]\n`)).toEqual([
      expect.stringMatching(/^kafka\.overrides\.super\.users: "super\.users" is security-critical: it decides who bypasses every ACL/),
      'spark.unsafe[0]: "super.users" is not set in spark.overrides (hint: remove it from spark.unsafe, or set the override it acknowledges)',
    ]);
    expect(problems(section('kafka', { 'super.users': 'User:eve' }, ['Super.Users']))).toHaveLength(2);
    // Control: the exact name.
    expect(problems(section('kafka', { 'super.users': 'User:eve' }, ['super.users']))).toEqual([]);
  });

  it('refuses acknowledgements that acknowledge nothing: a key not overridden, a harmless key, one listed twice', () => {
    expect(problems(section('hdfs', { 'dfs.replication': 1, 'dfs.permissions.enabled': false }, ['dfs.permissions.enabled', 'dfs.replication', 'dfs.http.policy', 'dfs.permissions.enabled']))).toEqual([
      'hdfs.unsafe[1]: "dfs.replication" is not a security-critical key, so it needs no acknowledgement (hint: remove it from hdfs.unsafe; the override applies without it)',
      'hdfs.unsafe[2]: "dfs.http.policy" is not set in hdfs.overrides (hint: remove it from hdfs.unsafe, or set the override it acknowledges)',
      'hdfs.unsafe[3]: "dfs.permissions.enabled" is listed twice (hint: list it once)',
    ]);
  });

  it('every pattern is a literal key or a glob that matches its own examples, and no pattern is listed twice', () => {
    for (const service of OVERRIDE_SERVICES) {
      const patterns = CRITICAL_OVERRIDES[service].map((r) => r.pattern);
      expect(new Set(patterns).size).toBe(patterns.length);
      for (const p of patterns) expect(p).toMatch(/^[A-Za-z0-9._*-]+$/);
    }
    expect(matchesPattern('ssl.*', 'ssl.client.auth')).toBe(true);
    expect(matchesPattern('ssl.*', 'sslx')).toBe(false);
    expect(matchesPattern('listener.name.*.ssl.*', 'listener.name.external.ssl.client.auth')).toBe(true);
    expect(matchesPattern('super.users', 'super.users.x')).toBe(false);
    expect(matchesPattern('dfs.permissions*', 'dfs.permissions')).toBe(true);
  });

  it('verify: one FAIL row per acknowledged key, naming it and never its value; none set is a PASS', () => {
    const config = load(`name: demo
kafka:
  overrides: { allow.everyone.if.no.acl.found: true, log.retention.hours: 72 }
  unsafe: [allow.everyone.if.no.acl.found]
spark:
  overrides: { spark.authenticate.secret: not-the-real-one-but-secret }
  unsafe: [spark.authenticate.secret]
`);
    const rows = verifyOverrides(config);
    expect(rows).toEqual([
      { check: UNSAFE_OVERRIDE_CHECK, target: 'kafka.overrides', ok: false, detail: 'allow.everyone.if.no.acl.found is set and acknowledged in kafka.unsafe: it changes the authorizer, which denies what no ACL allows' },
      { check: UNSAFE_OVERRIDE_CHECK, target: 'spark.overrides', ok: false, detail: "spark.authenticate.secret is set and acknowledged in spark.unsafe: it changes Spark's authentication with the cluster secret" },
    ]);
    expect(JSON.stringify(rows)).not.toContain('not-the-real-one');
    // Control: harmless overrides only.
    expect(verifyOverrides(load(section('kafka', { 'log.retention.hours': 72 })))).toEqual([
      { check: UNSAFE_OVERRIDE_CHECK, target: 'config', ok: true, detail: expect.stringMatching(/^none of 1 override\(s\) matches the \d+ security-critical key patterns$/) },
    ]);
  });
});

describe('control characters in override keys and values', () => {
  it.each([
    ['LF', '\n'],
    ['CR', '\r'],
    ['CRLF', '\r\n'],
    ['NUL', '\0'],
    ['TAB', '\t'],
    ['ESC', '\x1b'],
    ['DEL', '\x7f'],
    ['NEL (C1)', '\x85'],
    ['LINE SEPARATOR', '\u2028'],
  ])('a %s in a value is refused; in a key too, quoted so the message stays one line', (_name, ch) => {
    const value = `72${ch}ssl.client.auth=none`;
    expect(problems(section('kafka', { 'log.retention.hours': value }))).toEqual(['kafka.overrides.log.retention.hours: holds a line break or another control character (hint: a property value is one line of text)']);
    const key = `log.retention.hours${ch}ssl.client.auth`;
    const refused = problems(section('kafka', { [key]: 72 }));
    const quoted = JSON.stringify(key).replace(/[\x7f-\x9f\u2028]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    expect(refused).toEqual([`kafka.overrides: the key ${quoted} holds a line break or another control character (hint: a property name is one word of letters, digits, ".", "_" and "-", e.g. log.retention.hours)`]);
    expect(refused[0]).not.toMatch(/[\0-\x1f\x7f-\x9f\u2028]/);
  });

  it('a value ending in a backslash (which joins the next line) is refused; a doubled one is a literal and passes', () => {
    expect(problems(section('kafka', { 'sr.x': 'a\\' }))).toEqual([
      'kafka.overrides.sr.x: ends with a backslash, which in a properties file joins the next line to this value (dropping the property written there) (hint: remove the trailing backslash, or double it (\\\\) for a literal one)',
    ]);
    expect(problems(section('spark', { 'spark.x': 'a\\\\\\' }))).toHaveLength(1);
    // Controls: an even number of trailing backslashes, a backslash inside, plain text.
    expect(problems(section('kafka', { 'sr.x': 'a\\\\', 'sr.y': 'C:\\x y', 'sr.z': 'plain text' }))).toEqual([]);
  });
});

describe('CIDRs for SSH and client access: at most /8 (IPv4) or /32 (IPv6) wide', () => {
  it('0.0.0.0/1 plus 128.0.0.0/1 no longer reopen the internet; /7 and ::/1 are refused with why and how to narrow', () => {
    expect(problems('name: demo\nnetwork: { sshCidr: 0.0.0.0/1, kafkaClientCidrs: [128.0.0.0/1, 10.0.0.0/7, "::/1", "2001:db8::/31"] }\n')).toEqual([
      'network.kafkaClientCidrs[0]: "128.0.0.0/1" is broader than /8: it opens the port to 2,147,483,648 addresses, 1/2 of the IPv4 internet (hint: millrace takes prefixes of /8 or narrower for IPv4 and /32 or narrower for IPv6; list the networks your clients really use, e.g. 203.0.113.0/24 (several entries are fine))',
      'network.kafkaClientCidrs[1]: "10.0.0.0/7" is broader than /8: it opens the port to 33,554,432 addresses, 1/128 of the IPv4 internet (hint: millrace takes prefixes of /8 or narrower for IPv4 and /32 or narrower for IPv6; list the networks your clients really use, e.g. 203.0.113.0/24 (several entries are fine))',
      'network.kafkaClientCidrs[2]: "::/1" is broader than /32: it opens the port to 1/2 of the IPv6 internet (hint: millrace takes prefixes of /8 or narrower for IPv4 and /32 or narrower for IPv6; list the networks your clients really use, e.g. 2001:db8:1234::/48 (several entries are fine))',
      'network.kafkaClientCidrs[3]: "2001:db8::/31" is broader than /32: it opens the port to 1/2,147,483,648 of the IPv6 internet (hint: millrace takes prefixes of /8 or narrower for IPv4 and /32 or narrower for IPv6; list the networks your clients really use, e.g. 2001:db8:1234::/48 (several entries are fine))',
      'network.sshCidr: "0.0.0.0/1" is broader than /8: it opens the port to 2,147,483,648 addresses, 1/2 of the IPv4 internet (hint: millrace takes prefixes of /8 or narrower for IPv4 and /32 or narrower for IPv6; list the networks your clients really use, e.g. 203.0.113.0/24 (several entries are fine))',
    ]);
  });

  it('control: /8, /32 (IPv6) and narrower pass', () => {
    const config = load('name: demo\nnetwork: { sshCidr: 10.0.0.0/8, kafkaClientCidrs: [203.0.113.0/24, 198.51.100.7/32, "2001:db8::/32", "2001:db8:1::/48"] }\n');
    expect(config.network.kafkaClientCidrs).toHaveLength(4);
  });

  it('every example config in examples/ still loads', () => {
    const examples = path.resolve(__dirname, '../../../examples');
    const files = fs.readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['aws.yaml', 'local.yaml', 'millrace.yaml']));
    for (const f of files) expect(() => loadConfig(path.join(examples, f))).not.toThrow();
  });
});
