/**
 * Bad inputs on the real cluster: each gives a short error that names the host and says what to
 * do, with a non-zero exit code, and a re-run after the fix converges.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ADDRESSES, cli, CLUSTER, CLUSTER_YAML, CONFIG, ENV, ensureBaseCluster, node, stateDir, TEST_DIR, writeConfig } from './harness';

/** The same three nodes, seen through the static target as admin: same provisioner, same cluster state. */
function staticYaml(addresses: Record<string, string>, keyPath: string): string {
  return `name: ${CLUSTER}
target: static
ssh:
  privateKeyPath: ${keyPath}
  publicKey: ${keyPath}.pub
  user: admin
nodes:
  - { name: kafka-1, roles: [kafka], address: ${addresses['kafka-1']} }
  - { name: spark-1, roles: [spark-master, spark-worker], address: ${addresses['spark-1']} }
  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${addresses['hdfs-1']} }
artifacts:
  source: maven
`;
}

const clusterKey = (): string => path.join(stateDir(), 'ssh', 'id_ed25519');

describe('bad inputs', () => {
  // Its re-runs expect to converge with no changes: from the base cluster, not from what an earlier file left.
  beforeAll(ensureBaseCluster);

  afterAll(async () => {
    // Leave the cluster as the base config describes it, owned by the local target again.
    const r = await cli(['up', '-c', CONFIG]);
    expect(r.code).toBe(0);
  });

  it('an unreachable host is named; pointing at the right address converges with no changes', async () => {
    const bad = writeConfig(path.join(TEST_DIR, 'unreachable.yaml'), staticYaml({ ...ADDRESSES, 'kafka-1': '127.0.0.39' }, clusterKey()));
    const r = await cli(['up', '-c', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kafka-1 \(127\.0\.0\.39:22\): cannot connect over SSH: .*ECONNREFUSED/);
    expect(r.stderr).toMatch(/hint: check that kafka-1 is running and that 127\.0\.0\.39:22 is reachable/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
    const good = writeConfig(path.join(TEST_DIR, 'static.yaml'), staticYaml(ADDRESSES, clusterKey()));
    const again = await cli(['up', '--json', '-c', good]);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { changed: boolean }).changed).toBe(false);
  });

  it('a wrong SSH key is named with the host and user', async () => {
    const wrongKey = path.join(TEST_DIR, 'wrong_key');
    fs.rmSync(wrongKey, { force: true });
    fs.rmSync(`${wrongKey}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const bad = writeConfig(path.join(TEST_DIR, 'wrong-key.yaml'), staticYaml(ADDRESSES, wrongKey));
    const r = await cli(['up', '-c', bad]);
    expect(r.code).toBe(1);
    for (const n of ['kafka-1', 'spark-1', 'hdfs-1']) expect(r.stderr).toMatch(new RegExp(`${n} \\(127\\.0\\.0\\.3\\d:22\\): cannot connect over SSH: the SSH key .*wrong_key was refused for user admin`));
    expect(r.stderr).toMatch(/hint: check that ssh\.privateKeyPath matches a public key in the node's authorized_keys/);
  });

  it('an artifact whose checksum does not match is refused, removed, and fetched afresh on the next run', async () => {
    const cache = path.join(TEST_DIR, 'tampered-cache');
    const real = path.join(ENV.MILLRACE_CACHE!, 'artifacts', 'maven');
    const copy = path.join(cache, 'artifacts', 'maven');
    fs.rmSync(cache, { recursive: true, force: true });
    fs.mkdirSync(copy, { recursive: true });
    for (const f of fs.readdirSync(real)) {
      if (f.startsWith('kafka-')) fs.copyFileSync(path.join(real, f), path.join(copy, f));
      else fs.symlinkSync(path.join(real, f), path.join(copy, f));
    }
    const tar = fs.readdirSync(copy).find((f) => f.startsWith('kafka-') && f.endsWith('.tar'))!;
    const fd = fs.openSync(path.join(copy, tar), 'r+');
    fs.writeSync(fd, Buffer.from('tampered'), 0, 8, 4096);
    fs.closeSync(fd);
    const cfg = writeConfig(path.join(TEST_DIR, 'tampered.yaml'), `${CLUSTER_YAML}  cacheDir: ${cache}\n`);
    const r = await cli(['up', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`kafka-1: the cached artifact .*${tar} does not match its checksum \\(SHA-512 expected [0-9a-f]{16}…, got [0-9a-f]{16}…\\)`));
    expect(r.stderr).toMatch(/hint: the damaged copy was removed from the cache; run the command again to download it afresh/);
    expect(fs.existsSync(path.join(copy, tar))).toBe(false);
    const again = await cli(['up', '-c', cfg]);
    expect(again.stderr.slice(-2000)).not.toMatch(/error:/);
    expect(again.code).toBe(0);
  });

  it('a service port already taken on the node is named, and the service starts once it is free', async () => {
    const kafka = await node('kafka-1');
    await kafka.execOrThrow('systemctl stop millrace-kafka.service');
    await kafka.close();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(9093, ADDRESSES['kafka-1'], resolve));
    try {
      const r = await cli(['up', '-c', CONFIG]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/kafka-1: port 9093 \(Kafka clients and inter-broker traffic\) on 127\.0\.0\.31 is already in use.*, so kafka cannot start/);
      expect(r.stderr).toMatch(/hint: stop that process on kafka-1/);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    const again = await cli(['up', '--json', '-c', CONFIG]);
    expect(again.code).toBe(0);
    const kafkaOutcome = (JSON.parse(again.stdout) as { nodes: { node: string; started: string[] }[] }).nodes.find((n) => n.node === 'kafka-1');
    expect(kafkaOutcome?.started).toEqual(['kafka']);
  });

  it('a changed host key is refused and named; `forget-host` then lets the next run pin the new one', async () => {
    const file = path.join(stateDir(), 'known_hosts.json');
    const real = fs.readFileSync(file, 'utf8');
    const pins = JSON.parse(real) as Record<string, { fingerprint: string; key?: string }>;
    const actual = pins['kafka-1']!.fingerprint;
    pins['kafka-1'] = { ...pins['kafka-1']!, fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    fs.writeFileSync(file, JSON.stringify(pins));
    try {
      const r = await cli(['status', '-c', CONFIG]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`kafka-1 (127.0.0.31:22): the SSH host key changed: pinned SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, offered ${actual}`);
      expect(r.stderr).toMatch(/millrace forget-host kafka-1/);
      const forgot = await cli(['forget-host', 'kafka-1', '-c', CONFIG]);
      expect(forgot.code).toBe(0);
      const again = await cli(['status', '-c', CONFIG]);
      expect(again.code).toBe(0);
      expect((JSON.parse(fs.readFileSync(file, 'utf8')) as typeof pins)['kafka-1']!.fingerprint).toBe(actual);
    } finally {
      fs.writeFileSync(file, real, { mode: 0o600 });
    }
  });

  it('a node whose user needs a password for sudo, or has no sudo, stops `up` before any change on any node, naming node, user and fix; after the fix it converges', async () => {
    // The sudoers rule cloud-init wrote on hdfs-1, edited in the node's rootfs from this machine.
    const sudoers = path.join(stateDir(), 'nodes', 'hdfs-1', 'rootfs', 'etc', 'sudoers.d', '90-cloud-init-users');
    const rule = fs.readFileSync(sudoers, 'utf8');
    expect(rule).toMatch(/^admin ALL=\(ALL\) NOPASSWD:ALL$/m);
    // A change `up` would make on another node: a file with no service behind it, gone from kafka-1.
    const clientProps = '/etc/millrace/kafka/client.properties';
    const kafka = await node('kafka-1');
    await kafka.execOrThrow(`rm ${clientProps}`);
    fs.writeFileSync(sudoers, rule.replace('NOPASSWD:ALL', 'ALL'));
    try {
      const r = await cli(['up', '-c', CONFIG]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/hdfs-1 \(127\.0\.0\.33:22\): user admin needs a password for sudo; millrace runs sudo non-interactively \(sudo -n\) and stopped before changing anything/);
      expect(r.stderr).toContain("give admin passwordless sudo on that node (as root: echo 'admin ALL=(ALL:ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-millrace");
      expect(r.stderr).not.toMatch(/kafka-1|spark-1/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // Nothing changed anywhere: the file kafka-1 lacks is still missing.
      expect((await kafka.exec(`test -e ${clientProps}`)).code).toBe(1);
    } finally {
      fs.writeFileSync(sudoers, rule);
    }
    // No sudo at all on spark-1: named the same way, and nothing changes either.
    const sudo = path.join(stateDir(), 'nodes', 'spark-1', 'rootfs', 'usr', 'bin', 'sudo');
    fs.renameSync(sudo, `${sudo}.itest-away`);
    try {
      const r = await cli(['up', '-c', CONFIG]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/spark-1 \(127\.0\.0\.32:22\): user admin is not root and sudo is not installed, so millrace cannot install or configure anything there/);
      expect(r.stderr).toMatch(/hint: install sudo \(apt-get install sudo, or dnf install sudo\) and give admin passwordless sudo/);
      expect((await kafka.exec(`test -e ${clientProps}`)).code).toBe(1);
    } finally {
      fs.renameSync(`${sudo}.itest-away`, sudo);
      await kafka.close();
    }
    const again = await cli(['up', '--json', '-c', CONFIG]);
    expect(again.code).toBe(0);
    const nodes = (JSON.parse(again.stdout) as { nodes: { node: string; changedFiles: string[]; restarted: string[] }[] }).nodes;
    expect(nodes.map((n) => [n.node, n.changedFiles, n.restarted])).toEqual([
      ['kafka-1', [clientProps], []],
      ['spark-1', [], []],
      ['hdfs-1', [], []],
    ]);
  });

  it('the local target without root privileges says it needs root', async () => {
    const r = await cli(['up', '--target', 'local', '-c', CONFIG], { asUser: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: the local target needs root: it boots systemd-nspawn containers/);
    expect(r.stderr).toMatch(/hint: run it as root/);
  });
});
