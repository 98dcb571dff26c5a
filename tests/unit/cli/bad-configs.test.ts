/**
 * Bad configs through the built CLI, the way a user meets them: `millrace validate -c <file>`
 * exits 2 and names the problem (with where it is and a hint), and never prints "internal error"
 * or a stack trace. Needs `npm run build` (npm test builds first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliRun, REPO, runCli, tempHome } from './built-cli';

const UNPRIVILEGED = 65534; // nobody: root reads a chmod-000 file, so that case runs as another user

let home: string;
beforeAll(() => {
  home = tempHome('millrace-bad-config-');
  // Readable by the unprivileged user of the permission case; every file below says its own mode.
  fs.chmodSync(home, 0o755);
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const validate = (file: string, asUser?: number): CliRun => runCli(home, ['validate', '-c', file], { uid: asUser, timeoutMs: 30_000 });

const NODES = `nodes:
  - { name: kafka-1, roles: [kafka] }
  - { name: spark-1, roles: [spark-master, spark-worker] }
  - { name: hdfs-1, roles: [namenode, datanode, kms] }
`;
const STATIC = (nodes: string): string => `name: demo\ntarget: static\nnodes:\n${nodes}`;
const AWS = 'name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\n';
const manyLocal = (n: number): string =>
  'name: demo\nnodes:\n  - { name: n-0, roles: [kafka, spark-master, spark-worker, namenode, datanode, kms] }\n' +
  Array.from({ length: n - 1 }, (_, i) => `  - { name: n-${i + 1}, roles: [datanode] }\n`).join('');
const billionLaughs = (): string =>
  ['name: demo', 'x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    .concat(Array.from({ length: 8 }, (_, i) => `x${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`))
    .join('\n') + '\n';

interface Row {
  name: string;
  /** The config text, or a function that makes the path to pass (for files that are not text). */
  input: string | ((dir: string) => string);
  /** What the issue line (or the whole stderr) must show. */
  expected: RegExp;
  asUser?: number;
}

const ROWS: Row[] = [
  // The file itself.
  { name: 'missing file', input: (d) => path.join(d, 'nope.yaml'), expected: /- \(root\): \S+nope\.yaml does not exist \(hint: run `millrace init -c \S+nope\.yaml` to write one/ },
  { name: 'missing directory', input: (d) => path.join(d, 'no', 'dir', 'x.yaml'), expected: /x\.yaml does not exist \(nor does its directory \S+\/no\/dir\) \(hint: run `millrace init -c / },
  { name: 'a directory', input: (d) => fs.mkdirSync(path.join(d, 'cfgdir'), { recursive: true }) ?? path.join(d, 'cfgdir'), expected: /cfgdir is a directory, not a config file \(hint: pass the file itself, e.g\. -c \S+cfgdir\/millrace\.yaml\)/ },
  {
    name: 'a binary file',
    input: (d) => (fs.writeFileSync(path.join(d, 'bin.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff])), path.join(d, 'bin.yaml')),
    expected: /bin\.yaml is not a YAML text file \(it holds binary data\) \(hint: pass the YAML config file, e\.g\. millrace\.yaml\)/,
  },
  {
    name: 'an unreadable file (chmod 000, run as an unprivileged user when root)',
    input: (d) => (fs.writeFileSync(path.join(d, 'locked.yaml'), 'name: demo\n'), fs.chmodSync(path.join(d, 'locked.yaml'), 0o000), path.join(d, 'locked.yaml')),
    expected: /locked\.yaml cannot be read: permission denied \(hint: check the permissions/,
    ...(process.getuid?.() === 0 ? { asUser: UNPRIVILEGED } : {}),
  },
  { name: 'a named pipe', input: (d) => (execFileSync('mkfifo', [path.join(d, 'fifo.yaml')]), path.join(d, 'fifo.yaml')), expected: /fifo\.yaml is not a regular file \(a named pipe\)/ },
  { name: 'a huge file', input: (d) => (fs.writeFileSync(path.join(d, 'huge.yaml'), `name: demo\n#${'x'.repeat(3 << 20)}\n`), path.join(d, 'huge.yaml')), expected: /huge\.yaml is 3\.0 MiB, too big for a config file/ },
  // The YAML.
  { name: 'a scalar document', input: 'hello world\n', expected: /\(root\): the config file must be a mapping of keys, not a single string value \("hello world"\) \(hint: start it with/ },
  { name: 'a list document', input: '- name: demo\n- target: local\n', expected: /\(root\): the config file must be a mapping of keys, not a list/ },
  { name: 'an empty file', input: '', expected: /- name: is required \(hint: add "name:"/ },
  { name: 'bad indentation', input: 'name: demo\nnodes:\n  - name: a\n   roles: [kafka]\n', expected: /\(root\): invalid YAML at line 4, column \d+: .+\(hint: / },
  { name: 'unclosed flow list', input: 'name: demo\nnodes: [\n', expected: /\(root\): invalid YAML at line \d+, column \d+: / },
  { name: 'a duplicate key', input: 'name: demo\nname: other\n', expected: /invalid YAML at line 2, column 1: Map keys must be unique \(hint: each key may appear once/ },
  { name: 'two documents', input: 'name: demo\n---\nname: other\n', expected: /invalid YAML at line 2, column 1: .*\(hint: keep one YAML document per file/ },
  { name: 'an alias bomb', input: billionLaughs(), expected: /\(root\): the YAML expands its aliases \(\*name\) into too many values \(a "billion laughs" document\)/ },
  // Keys and types.
  { name: 'unknown top-level key, did you mean', input: 'nmae: demo\n', expected: /- \(root\): unknown key "nmae" \(hint: did you mean "name"\?\)/ },
  { name: 'unknown nested key, did you mean', input: 'name: demo\nnetwork: { sshCIDR: 1.2.3.4/32 }\n', expected: /- network: unknown key "sshCIDR" \(hint: did you mean "sshCidr"\?\)/ },
  { name: 'unknown key with no close match', input: 'name: demo\nartifacts: { mirror: "https://x.example" }\n', expected: /- artifacts: unknown key "mirror" \(hint: valid keys here: source, apacheMirror/ },
  { name: 'a wrong type', input: 'name: demo\naws: { rootVolumeGb: big }\n', expected: /- aws\.rootVolumeGb: expected a number, got a string \("big"\) \(hint: write digits without quotes/ },
  { name: 'a number out of range', input: 'name: demo\naws: { dataVolumeGb: 2 }\n', expected: /- aws\.dataVolumeGb: 2 is too small \(hint: use a value of at least 8/ },
  { name: 'a bad cluster name', input: 'name: Demo!\n', expected: /- name: must be a lowercase DNS label .* \(hint: Cluster name: .*e\.g\. demo/ },
  { name: 'an unknown target', input: 'name: demo\ntarget: statik\n', expected: /- target: "statik" is not one of aws, static, local \(hint: did you mean "static"\?/ },
  { name: 'an unknown role', input: `name: demo\n${NODES}  - { name: extra-1, roles: [brokr] }\n`, expected: /- nodes\[3\]\.roles\[0\]: "brokr" is not one of kafka, .* \(hint: / },
  { name: 'no namenode', input: 'name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka, datanode] }\n', expected: /- nodes: exactly one node must have the namenode role \(found 0\) \(hint: add "namenode"/ },
  { name: 'an unknown version', input: 'name: demo\nversions: { kafka: 3.9.0 }\n', expected: /- versions\.kafka: unknown kafka version "3\.9\.0" \(hint: known versions: / },
  // Addresses.
  {
    name: 'duplicate static addresses',
    input: STATIC('  - { name: kafka-1, roles: [kafka], address: 10.0.0.5 }\n  - { name: hdfs-1, roles: [namenode, datanode], address: 10.0.0.5 }\n'),
    expected: /- nodes\[1\]\.address: "10\.0\.0\.5" is also nodes\[0\]\.address \(hint: give every node its own address\)/,
  },
  {
    name: 'duplicate public addresses',
    input: STATIC('  - { name: kafka-1, roles: [kafka], address: 10.0.0.5, publicAddress: 203.0.113.9 }\n  - { name: hdfs-1, roles: [namenode, datanode], address: 10.0.0.6, publicAddress: 203.0.113.9 }\n'),
    expected: /- nodes\[1\]\.publicAddress: "203\.0\.113\.9" is also nodes\[0\]\.publicAddress/,
  },
  {
    name: "a local address that is another node's automatic one",
    input: 'name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka], address: 127.0.0.12 }\n  - { name: hdfs-1, roles: [namenode, datanode] }\n',
    expected: /- nodes\[0\]\.address: "127\.0\.0\.12" is also the automatic address of nodes\[1\] \(127\.0\.0\.11 \+ its position\) \(hint: /,
  },
  { name: '250 local nodes', input: manyLocal(250), expected: /- nodes: 250 local nodes are too many for automatic addresses: nodes\[244\] would get 127\.0\.0\.255 \(hint: at most 244 local nodes/ },
  { name: 'publicAddress 999.1.1.1', input: STATIC('  - { name: kafka-1, roles: [kafka, namenode, datanode], address: 10.0.0.5, publicAddress: 999.1.1.1 }\n'), expected: /- nodes\[0\]\.publicAddress: "999\.1\.1\.1" is not a valid IPv4 address .*\(hint: write an IPv4 address/ },
  { name: 'a static node without an address', input: STATIC('  - { name: kafka-1, roles: [kafka, namenode, datanode] }\n'), expected: /- nodes\[0\]\.address: a static node needs an address \(hint: / },
  // AWS.
  { name: 'aws.instanceType banana.superhuge', input: `${AWS}aws: { instanceType: banana.superhuge }\n`, expected: /- aws\.instanceType: is not an EC2 instance type \(hint: .*e\.g\. t3\.large, m7i\.2xlarge\)/ },
  { name: 'a node instanceType', input: `${AWS}nodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], instanceType: t3.superhuge }\n`, expected: /- nodes\[0\]\.instanceType: is not an EC2 instance type/ },
  { name: 'aws with the loopback SSH CIDR', input: 'name: demo\ntarget: aws\n', expected: /- network\.sshCidr: the aws target needs the operator's public CIDR for SSH \(hint: / },
  { name: 'a subnet outside the VPC', input: `${AWS}aws: { vpcCidr: 10.42.0.0/16, subnetCidr: 10.43.1.0/24 }\n`, expected: /- aws\.subnetCidr: "10\.43\.1\.0\/24" is not inside aws\.vpcCidr 10\.42\.0\.0\/16 \(hint: / },
  { name: 'an availability zone of another region', input: `${AWS}aws: { region: eu-west-1, availabilityZone: us-east-1a }\n`, expected: /- aws\.availabilityZone: "us-east-1a" is not in aws\.region eu-west-1/ },
  // Networks and mirrors.
  { name: 'a bad CIDR', input: 'name: demo\nnetwork: { kafkaClientCidrs: [10.0.0.0/33] }\n', expected: /- network\.kafkaClientCidrs\[0\]: "10\.0\.0\.0\/33" is not a valid CIDR \(hint: / },
  { name: 'an open SSH CIDR', input: 'name: demo\nnetwork: { sshCidr: 0.0.0.0/0 }\n', expected: /- network\.sshCidr: "0\.0\.0\.0\/0" opens the port to the whole internet/ },
  { name: 'a CIDR with host bits', input: 'name: demo\nnetwork: { sshCidr: 203.0.113.7/24 }\n', expected: /- network\.sshCidr: "203\.0\.113\.7\/24" has host bits set .* \(hint: did you mean 203\.0\.113\.0\/24\?/ },
  { name: 'an http mirror', input: 'name: demo\nartifacts: { apacheMirror: "http://mirror.internal/apache" }\n', expected: /- artifacts\.apacheMirror: "http:\/\/mirror\.internal\/apache" is plain http: .*\(hint: use https:\/\/; .*set artifacts\.allowInsecureHttp: true/ },
  { name: 'credentials in a mirror URL', input: 'name: demo\nartifacts: { pypiIndex: "https://me:pw@pypi.internal" }\n', expected: /- artifacts\.pypiIndex: holds a user name or password, which would show in logs/ },
  { name: 'an override with a line break', input: 'name: demo\nspark:\n  overrides:\n    spark.ui.enabled: "true\\nspark.authenticate=false"\n', expected: /- spark\.overrides\.spark\.ui\.enabled: holds a line break/ },
  // Guarded overrides (issue 12).
  { name: 'an override key with a carriage return', input: 'name: demo\nkafka:\n  overrides:\n    "log.retention.hours\\rssl.client.auth": 1\n', expected: /- kafka\.overrides: the key "log\.retention\.hours\\rssl\.client\.auth" holds a line break or another control character \(hint: a property name is one word/ },
  { name: 'an override value with a carriage return', input: 'name: demo\nhdfs:\n  overrides:\n    dfs.replication: "1\\rdfs.permissions.enabled=false"\n', expected: /- hdfs\.overrides\.dfs\.replication: holds a line break or another control character/ },
  { name: 'an override value ending in a backslash', input: 'name: demo\nkafka:\n  overrides:\n    sr.x: "a\\\\"\n', expected: /- kafka\.overrides\.sr\.x: ends with a backslash, which in a properties file joins the next line to this value/ },
  {
    name: 'an unacknowledged security-critical override',
    input: 'name: demo\nkafka:\n  overrides: { allow.everyone.if.no.acl.found: true }\n',
    expected: /- kafka\.overrides\.allow\.everyone\.if\.no\.acl\.found: "allow\.everyone\.if\.no\.acl\.found" is security-critical: .* \(hint: remove it; or, to accept the risk, acknowledge it with "kafka\.unsafe: \[allow\.everyone\.if\.no\.acl\.found\]"/,
  },
  { name: 'spark.authenticate: false', input: 'name: demo\nspark:\n  overrides: { spark.authenticate: false }\n', expected: /- spark\.overrides\.spark\.authenticate: "spark\.authenticate" is security-critical: it changes Spark's authentication/ },
  { name: 'an acknowledgement of an override not set', input: 'name: demo\nhdfs:\n  unsafe: [dfs.permissions.enabled]\n', expected: /- hdfs\.unsafe\[0\]: "dfs\.permissions\.enabled" is not set in hdfs\.overrides \(hint: remove it from hdfs\.unsafe/ },
  { name: 'two half-internet SSH CIDRs', input: 'name: demo\nnetwork: { sshCidr: 0.0.0.0/1, kafkaClientCidrs: [128.0.0.0/1] }\n', expected: /- network\.kafkaClientCidrs\[0\]: "128\.0\.0\.0\/1" is broader than \/8: it opens the port to 2,147,483,648 addresses, 1\/2 of the IPv4 internet \(hint: millrace takes prefixes of \/8 or narrower/ },
  { name: 'an IPv6 client CIDR broader than /32', input: 'name: demo\nnetwork: { kafkaClientCidrs: ["2000::/3"] }\n', expected: /- network\.kafkaClientCidrs\[0\]: "2000::\/3" is broader than \/32/ },
];

describe('bad configs through `millrace validate -c`', () => {
  it('has at least 22 cases', () => expect(ROWS.length).toBeGreaterThanOrEqual(22));

  it.each(ROWS.map((r) => [r.name, r] as const))('%s: exit 2, the problem named, no stack trace', (_name, row) => {
    const dir = fs.mkdtempSync(path.join(home, 'case-'));
    fs.chmodSync(dir, 0o755);
    let file: string;
    if (typeof row.input === 'string') {
      file = path.join(dir, 'millrace.yaml');
      fs.writeFileSync(file, row.input);
    } else file = row.input(dir);
    const r = validate(file, row.asUser);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`error: ${file}: `)).toBe(true);
    expect(r.stderr).toMatch(row.expected);
    expect(r.stderr).not.toMatch(/internal error/i);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code).toBe(2);
  });

  it('controls: the same overrides acknowledged, and CIDRs of /8 and /32 (IPv6), validate', () => {
    const dir = fs.mkdtempSync(path.join(home, 'ok-'));
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'millrace.yaml');
    fs.writeFileSync(
      file,
      'name: demo\nnetwork: { sshCidr: 10.0.0.0/8, kafkaClientCidrs: ["2001:db8::/32"] }\nkafka:\n  overrides: { allow.everyone.if.no.acl.found: true, sr.x: "a\\\\\\\\" }\n  unsafe: [allow.everyone.if.no.acl.found]\nspark:\n  overrides: { spark.authenticate: false }\n  unsafe: [spark.authenticate]\n',
    );
    const r = validate(file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the unreadable case really is unreadable to the user it runs as (not a fake)', () => {
    const dir = fs.mkdtempSync(path.join(home, 'check-'));
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'locked.yaml');
    fs.writeFileSync(file, 'name: demo\n');
    fs.chmodSync(file, 0o000);
    const asUser = process.getuid?.() === 0 ? UNPRIVILEGED : undefined;
    const r = spawnSync('cat', [file], { encoding: 'utf8', ...(asUser === undefined ? {} : { uid: asUser, gid: asUser }) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    // And readable again, it validates: the refusal was about the permission, not the content.
    fs.chmodSync(file, 0o644);
    expect(validate(file, asUser).code).toBe(0);
  });
});
