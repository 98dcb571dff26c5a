/**
 * Secure by default, on the real cluster: every promise is tested by trying to break it, each
 * negative test beside the positive one that shows the thing refused was there to be reached.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKafkaClient } from '../../producers/kafka-client';
import { buildFacts, clusterSecretValues } from '../../provisioning/cluster-state';
import { planCluster } from '../../provisioning/plan';
import { loadConfig } from '../../lib/config';
import { q } from '../../lib/shell';
import { parseListeners } from '../../provisioning/verify/ports';
import { portsFor } from '../../lib/roles';
import { readInventory } from '../../lib/inventory';
import { ADDRESSES, cli, CLUSTER, CONFIG, ensureBaseCluster, kafkaAs, node, PLAINTEXT_REFUSED, randomName, stateDir, TEST_DIR, UP_LOG, UP_PS } from './harness';

// On the Spark node, Spark's jars carry the HDFS client; the node has the cluster's Hadoop config.
const FS_SHELL = "runuser -u spark -- java -cp '/etc/millrace/hadoop:/opt/millrace/spark/current/jars/*' org.apache.hadoop.fs.FsShell";
const HDFS_TOOL = "runuser -u hdfs -- java -cp '/etc/millrace/hadoop:/opt/millrace/hadoop/current:/opt/millrace/hadoop/current/lib/*'";

interface VerifyJson {
  ok: boolean;
  checks: { check: string; target: string; ok: boolean; detail: string }[];
}

/** openssl's verdict on a TLS handshake with address:port, verified against the cluster CA and the address. */
function verifiedTls(address: string, port: number): string {
  const out = execFileSync('sh', ['-c', `timeout 20 openssl s_client -connect ${address}:${port} -CAfile ${path.join(stateDir(), 'pki', 'ca.crt')} -verify_return_error -verify_ip ${address} -brief </dev/null 2>&1 || true`]).toString();
  return `${address}:${port} ${/Verification: OK/.test(out) ? 'verified' : out.trim().split('\n').slice(-3).join(' | ')}`;
}

// The cluster as the base config describes it, whatever the files before this one left (40-bad-inputs
// and 25-kafka-external change it and restore it in their own afterAll).
beforeAll(ensureBaseCluster);

describe('Kafka: mutual TLS and ACLs', () => {
  const topic = randomName('itest-pipeline');
  const other = randomName('itest-other');

  beforeAll(async () => {
    // The pipeline's topic, and another principal's.
    for (const [t, principal] of [[topic, 'pipeline'], [other, 'itest-other-owner']] as const) {
      const r = await cli(['topics', 'create', t, '--partitions', '2', '--no-dlq', '--principal', principal, '-c', CONFIG]);
      expect(`${r.code} ${r.stderr}`).toBe('0 ');
    }
  });

  afterAll(async () => {
    for (const t of [topic, other]) await cli(['topics', 'delete', t, '-c', CONFIG]);
  });

  it('refuses a plaintext client, a TLS client without a certificate, and a principal without ACLs', async () => {
    const plain = createKafkaClient({ ...(await kafkaAs(undefined)), tls: undefined, retries: 0 });
    await expect(plain.listTopics()).rejects.toThrow(PLAINTEXT_REFUSED);
    await plain.close();
    const noCert = createKafkaClient({ ...(await kafkaAs(undefined)), retries: 0 });
    await expect(noCert.listTopics()).rejects.toThrow(/certificate required/);
    await noCert.close();
    const intruder = createKafkaClient(await kafkaAs('itest-intruder'));
    try {
      await expect(intruder.produce(topic, [{ value: 'x' }])).rejects.toThrow(/authoriz/i);
      await expect(intruder.consume(topic, 'pipeline-intruder', 1, 5000)).rejects.toThrow(/authoriz/i);
      expect((await intruder.listTopics()).filter((t) => t === topic)).toEqual([]);
    } finally {
      await intruder.close();
    }
  });

  it('lets the pipeline principal produce and consume its topic, but not create or read another', async () => {
    const pipeline = createKafkaClient(await kafkaAs('pipeline'));
    try {
      const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: JSON.stringify({ i }) }));
      await pipeline.produce(topic, sent);
      const got = await pipeline.consume(topic, randomName('pipeline-itest'), 50, 60_000);
      expect(got).toHaveLength(50);
      await expect(pipeline.createTopic(randomName('itest-not-allowed'), 1, 1)).rejects.toThrow(/authoriz|creation errors/i);
      await expect(pipeline.consume(other, randomName('pipeline-itest'), 1, 5000)).rejects.toThrow(/authoriz/i);
      // A group outside its prefix: the coordinator lookup itself is refused (GROUP_AUTHORIZATION_FAILED), at once.
      await expect(pipeline.consume(topic, randomName('not-my-group'), 1, 5000)).rejects.toThrow(/^the brokers refused consumer group "not-my-group-[^"]+": .*Not authorized to access group/);
    } finally {
      await pipeline.close();
    }
  });
});

describe('HDFS: the lake is an encryption zone', () => {
  it('reads back byte for byte a file written to /lake, and lists the zone', async () => {
    const spark = await node('spark-1');
    const name = randomName('itest');
    const data = crypto.randomBytes(2 * 1024 * 1024 + 5);
    try {
      await spark.putFile(`/tmp/${name}`, data, { mode: 0o644, owner: 'spark' });
      await spark.execOrThrow(`${FS_SHELL} -put /tmp/${name} /lake/${name} && ${FS_SHELL} -get /lake/${name} /tmp/${name}.back`);
      const back = await spark.getFile(`/tmp/${name}.back`);
      expect(crypto.createHash('sha256').update(back).digest('hex')).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    } finally {
      await spark.exec(`${FS_SHELL} -rm -f -skipTrash /lake/${name}; rm -f /tmp/${name} /tmp/${name}.back`);
      await spark.close();
    }
    const hdfs = await node('hdfs-1');
    const zones = await hdfs.execOrThrow(`${HDFS_TOOL} org.apache.hadoop.hdfs.tools.CryptoAdmin -listZones`);
    await hdfs.close();
    expect(zones).toMatch(/^\/lake\s+lake\s*$/m);
  });

  it('keeps a marker out of the raw blocks in the zone, while the same file outside the zone shows it', async () => {
    const spark = await node('spark-1');
    const hdfs = await node('hdfs-1');
    const marker = `ITEST-MARKER-${crypto.randomBytes(6).toString('hex')}`;
    const name = randomName('itest-marker');
    try {
      await spark.putFile(`/tmp/${name}`, `${marker}\n`.repeat(100), { mode: 0o644, owner: 'spark' });
      await spark.execOrThrow(`${FS_SHELL} -put /tmp/${name} /lake/${name} && ${FS_SHELL} -put /tmp/${name} /tmp/${name}`);
      const blocksOf = async (p: string): Promise<string[]> =>
        [...(await hdfs.execOrThrow(`${HDFS_TOOL} org.apache.hadoop.hdfs.tools.DFSck ${p} -files -blocks`)).matchAll(/(blk_\d+)_\d+/g)].map((m) => m[1]!);
      const scan = async (ids: string[]): Promise<string> =>
        (await hdfs.exec(`find /var/lib/millrace/hdfs/data -type f \\( ${ids.map((i) => `-name ${i}`).join(' -o ')} \\) -exec grep -l -F ${marker} {} +`)).stdout.trim();
      const inZone = await blocksOf(`/lake/${name}`);
      const outside = await blocksOf(`/tmp/${name}`);
      expect(inZone.length).toBeGreaterThan(0);
      expect(outside.length).toBeGreaterThan(0);
      expect(await scan(outside)).toMatch(/blk_\d+$/); // the control: the scan does find plaintext
      expect(await scan(inZone)).toBe('');
    } finally {
      await spark.exec(`${FS_SHELL} -rm -f -skipTrash /lake/${name} /tmp/${name}; rm -f /tmp/${name}`);
      await spark.close();
      await hdfs.close();
    }
  });
});

describe('Spark: the secret is enforced', () => {
  const JOB = `import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("itest-lake").getOrCreate()
path = "/lake/" + sys.argv[1]
spark.range(1000).selectExpr("id", "id * 2 as twice").write.parquet(path)
print("LAKE ROWS %d" % spark.read.parquet(path).count())
`;

  it('refuses an application without the secret; one with it completes and reads and writes /lake', async () => {
    const spark = await node('spark-1');
    const dir = `/tmp/${randomName('itest-spark')}`;
    const out = randomName('itest-table');
    // The refused driver would retry the master for a minute: 40 s is enough to see the refusal.
    // The accepted one must never be cut short (a slow machine takes longer than 40 s to write
    // and read the table), so its bound is only against a hang.
    const submit = (confDir: string, seconds: number): string =>
      `cd ${dir} && runuser -u spark -- env SPARK_CONF_DIR=${confDir} SPARK_LOCAL_IP=${ADDRESSES['spark-1']} timeout ${seconds} /opt/millrace/spark/current/bin/spark-submit --master spark://${ADDRESSES['spark-1']}:7077 --conf spark.hadoop.fs.defaultFS=hdfs://${ADDRESSES['hdfs-1']}:8020 ${dir}/job.py ${out} 2>&1`;
    try {
      await spark.execOrThrow(`mkdir -p ${dir}/noauth && chown -R spark ${dir}`);
      await spark.putFile(`${dir}/job.py`, JOB, { mode: 0o644, owner: 'spark' });
      await spark.putFile(`${dir}/noauth/spark-defaults.conf`, 'spark.authenticate false\n', { mode: 0o644, owner: 'spark' });
      const refused = await spark.exec(submit(`${dir}/noauth`, 40));
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toMatch(/Failed to connect to master/);
      expect(refused.stdout).not.toMatch(/LAKE ROWS/);
      const ok = await spark.exec(submit('/etc/millrace/spark', 600));
      // The exit code first (124: the bound killed it), with the driver's last words when it is not 0.
      expect(`exit ${ok.code}${ok.code === 0 ? '' : `\n${ok.stdout.slice(-3000)}`}`).toBe('exit 0');
      expect(ok.stdout).toMatch(/LAKE ROWS 1000/);
    } finally {
      await spark.exec(`${FS_SHELL} -rm -r -f -skipTrash /lake/${out}; rm -rf ${dir}`);
      await spark.close();
    }
  });
});

describe('secrets', () => {
  it('none in the process lists sampled every second during `up`, nor in its whole log', () => {
    const secrets = clusterSecretValues(CLUSTER);
    expect(secrets.length).toBeGreaterThanOrEqual(10);
    const ps = fs.readFileSync(UP_PS, 'utf8');
    const log = fs.readFileSync(UP_LOG, 'utf8');
    // The captures are real: they saw the services start and the provisioner talk.
    expect((ps.match(/^--- sample/gm) ?? []).length).toBeGreaterThanOrEqual(20);
    expect(ps).toMatch(/kafka\.Kafka/);
    expect(ps).toMatch(/org\.apache\.spark\.deploy\.worker\.Worker/);
    // The provisioner's commands went through sudo as admin: the sudo path is what was sampled.
    expect(ps).toMatch(/^sudo -n -- sh -c /m);
    expect(log).toMatch(/"level":20/);
    expect(secrets.filter((s) => ps.includes(s.value)).map((s) => s.name)).toEqual([]);
    expect(secrets.filter((s) => log.includes(s.value)).map((s) => s.name)).toEqual([]);
  });

  it('on every node, no file that holds a secret is readable by others (staging directory included), and none is in the journal, where sudo logs every command', async () => {
    const secrets = clusterSecretValues(CLUSTER);
    const plans = planCluster(await buildFacts(loadConfig(CONFIG), readInventory(CLUSTER)));
    const patterns = '/root/.itest-secret-patterns';
    for (const plan of plans) {
      const host = await node(plan.node.name as keyof typeof ADDRESSES);
      try {
        // What the plan says holds a secret: key files, passwords, the Spark config, PKCS#12 stores.
        const planned = [...plan.files.filter((f) => f.secret).map((f) => f.path), ...plan.keyStores.filter((k) => k.kind === 'pkcs12').map((k) => k.path)];
        expect(planned.length).toBeGreaterThan(0);
        const modes = (await host.execOrThrow(`stat -c '%n %a' ${planned.map(q).join(' ')}`)).trim().split('\n');
        expect(modes.filter((m) => !/ [0-7][0-7]0$/.test(m))).toEqual([]);
        // The staging directory: private to admin, and nothing left in it.
        expect((await host.execOrThrow('stat -c "%a %U" /home/admin/.millrace-staging && ls -A /home/admin/.millrace-staging')).trim()).toBe('700 admin');
        // Every file others may read, searched for every secret value; and the whole journal.
        await host.putFile(patterns, secrets.map((x) => x.value).join('\n') + '\n', { mode: 0o600 });
        const leaks = await host.execOrThrow(
          `find /etc /home /root /tmp /var/tmp /var/lib /var/log /var/cache/millrace /opt/millrace/bin -type f -perm -o=r -size -64M ! -path ${patterns} -print0 2>/dev/null | xargs -0 -r grep -lF -f ${patterns} || true`,
        );
        expect(`${plan.node.name}: ${leaks.trim()}`).toBe(`${plan.node.name}: `);
        const journal = await host.execOrThrow(`journalctl --no-pager -o cat | grep -cF -f ${patterns} || true`);
        const sudoLines = await host.execOrThrow('journalctl --no-pager -o cat _COMM=sudo | grep -c "COMMAND=" || true');
        expect(`${plan.node.name}: ${journal.trim()} secret lines in the journal`).toBe(`${plan.node.name}: 0 secret lines in the journal`);
        // The control: sudo did log the provisioner's commands there.
        expect(Number(sudoLines.trim())).toBeGreaterThan(20);
      } finally {
        await host.exec(`rm -f ${patterns}`);
        await host.close();
      }
    }
  });

  it('secret files in the state directory are 0600', () => {
    for (const dir of ['secrets', 'pki']) {
      const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
      for (const f of walk(path.join(stateDir(), dir)).filter((f) => dir === 'secrets' || f.endsWith('.key')))
        expect(`${path.relative(stateDir(), f)} ${(fs.statSync(f).mode & 0o777).toString(8)}`).toBe(`${path.relative(stateDir(), f)} 600`);
    }
  });
});

describe('ports and `millrace verify`', () => {
  it('each node listens on exactly the declared ports, and each TLS port verifies from the host with openssl', async () => {
    const r = await cli(['verify', '--json', '-c', CONFIG]);
    const v = JSON.parse(r.stdout) as VerifyJson;
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.code).toBe(0);
    const portRows = v.checks.filter((c) => c.check === 'ports: only the declared ones listen');
    expect(portRows.map((c) => c.target).sort()).toEqual(['hdfs-1', 'kafka-1', 'spark-1']);
    for (const n of readInventory(CLUSTER).nodes) {
      for (const spec of portsFor(n.roles).filter((s) => s.protocol === 'tls')) expect(verifiedTls(n.privateAddress, spec.port)).toBe(`${n.privateAddress}:${spec.port} verified`);
    }
  });

  it('every port the Kafka broker on kafka-1 listens on, as the node sees it, completes a verified TLS handshake: no plaintext listener', async () => {
    const kafka = await node('kafka-1');
    let pid: string;
    let sockets: string;
    try {
      pid = (await kafka.execOrThrow('systemctl show -p MainPID --value millrace-kafka.service')).trim();
      sockets = await kafka.execOrThrow('ss -Hltnp');
    } finally {
      await kafka.close();
    }
    expect(pid).toMatch(/^[1-9]\d*$/);
    // The broker's own sockets (the launcher execs java, so the unit's main process is the broker).
    const listeners = parseListeners(sockets.split('\n').filter((l) => l.includes(`pid=${pid},`)).join('\n'));
    const ports = [...new Set(listeners.map((l) => l.port))].sort((a, b) => a - b);
    expect(ports).toEqual(expect.arrayContaining([9093, 9094]));
    for (const l of listeners) {
      const address = l.address === '0.0.0.0' || l.address === '::' ? ADDRESSES['kafka-1'] : l.address;
      expect(verifiedTls(address, l.port)).toBe(`${address}:${l.port} verified`);
    }
  });

  it('a PLAINTEXT listener added by override makes `verify` exit 1 and name the failed checks; `up` with the base config restores it', async () => {
    const weak = path.join(TEST_DIR, 'weakened.yaml');
    const a = ADDRESSES['kafka-1'];
    fs.writeFileSync(
      weak,
      `${fs.readFileSync(CONFIG, 'utf8')}kafka:\n  overrides:\n    listeners: CLIENT://${a}:9093,CONTROLLER://${a}:9094,PLAIN://${a}:9092\n    listener.security.protocol.map: CLIENT:SSL,CONTROLLER:SSL,PLAIN:PLAINTEXT\n`,
    );
    try {
      const up = await cli(['up', '-c', weak]);
      expect(up.code).toBe(0);
      const r = await cli(['verify', '-c', weak]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAIL\s+kafka-1\s+kafka: listener protocols\s+not TLS: PLAIN:PLAINTEXT/);
      expect(r.stdout).toMatch(/FAIL\s+kafka-1\s+ports: only the declared ones listen\s+.*NOT DECLARED: 9092/);
      expect(r.stdout).toMatch(/FAIL\s+kafka-1\s+port 9092 \(undeclared\) speaks TLS/);
      expect(r.stderr).toMatch(/error: \d+ of \d+ security checks failed: .*kafka: listener protocols \(kafka-1\)/);
    } finally {
      const back = await cli(['up', '-c', CONFIG]);
      expect(back.code).toBe(0);
    }
    const again = await cli(['verify', '-c', CONFIG]);
    expect(`exit ${again.code}\n${again.stdout.split('\n').filter((l) => !l.startsWith('PASS')).join('\n')}${again.stderr}`).toMatch(/^exit 0\n/);
  });
});
