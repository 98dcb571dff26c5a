/**
 * Secure by default, on the real cluster: every promise is tested by trying to break it, each
 * negative test beside the positive one that shows the thing refused was there to be reached.
 */
import type { ClusterFacts } from '../../provisioning/service';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKafkaClient } from '../../producers/kafka-client';
import { clusterSecretValues, loadFacts } from '../../provisioning/cluster-state';
import { planCluster } from '../../provisioning/plan';
import { loadConfig } from '../../lib/config';
import { q } from '../../lib/shell';
import { parseListeners, verifyNodePorts } from '../../provisioning/verify/ports';
import { verifyFlowPorts } from '../../provisioning/verify/flows';
import { HDFS_RPC_CHECK } from '../../provisioning/verify/hdfs-rpc';
import { KMS_ACLS_XML, KMS_STRANGER, KmsProbe, kmsProbeRows, probeKms, verifyKms } from '../../provisioning/verify/kms';
import { verifyLake } from '../../provisioning/verify/lake';
import { portVerdict, probePort } from '../../provisioning/verify/tls-version';
import { rowStatus } from '../../provisioning/verify/types';
import { formatVerify, type VerifyRow } from '../../provisioning/verify';
import { hdfsTool } from '../../provisioning/services/hdfs';
import { CA_PEM } from '../../provisioning/services/tls-files';
import type { RemoteHost } from '../../provisioning/remote-host';
import type { InventoryNode } from '../../lib/inventory';
import { portsFor } from '../../lib/roles';
import { readInventory } from '../../lib/inventory';
import { ADDRESSES, caPem as caPemOf, cli, CLUSTER, CONFIG, ensureBaseCluster, FIREWALL_CONTROLS, kafkaAs, node, PLAINTEXT_REFUSED, randomName, stateDir, TEST_DIR, UP_LOG, UP_PS } from './harness';
import { deniedConnections } from '../../targets/local/firewall';

// On the Spark node, Spark's jars carry the HDFS client; the node has the cluster's Hadoop config.
const FS_SHELL = "runuser -u spark -- java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '/etc/millrace/hadoop:/opt/millrace/spark/current/jars/*' org.apache.hadoop.fs.FsShell";
const HDFS_TOOL = "runuser -u hdfs -- java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '/etc/millrace/hadoop:/opt/millrace/hadoop/current:/opt/millrace/hadoop/current/lib/*'";

interface VerifyJson {
  ok: boolean;
  checks: { check: string; target: string; ok: boolean; detail: string; status?: string }[];
}

/**
 * openssl's verdict on a TLS handshake with address:port, verified against the cluster CA and the
 * address. Run on the node itself: the firewall, like EC2's security groups, keeps this machine
 * (the operator) off most TLS ports.
 */
async function verifiedTls(address: string, port: number): Promise<string> {
  const name = (Object.keys(ADDRESSES) as (keyof typeof ADDRESSES)[]).find((n) => ADDRESSES[n] === address);
  if (!name) throw new Error(`no test node has the address ${address}`);
  const host = await node(name);
  try {
    const r = await host.exec(`timeout 20 openssl s_client -connect ${address}:${port} -CAfile ${CA_PEM} -verify_return_error -verify_ip ${address} -brief </dev/null 2>&1`);
    return `${address}:${port} ${/Verification: OK/.test(r.stdout) ? 'verified' : `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`;
  } finally {
    await host.close();
  }
}

// The cluster as the base config describes it, whatever the files before this one left (40-bad-inputs
// and 25-kafka-external change it and restore it in their own afterAll).
beforeAll(ensureBaseCluster);

/** The KMS probes as on a cluster without kerberos.enabled (pseudo authentication). */
const NO_KERBEROS = {} as ClusterFacts;

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

describe('Kafka: identities that cannot be borrowed (issue 12)', () => {
  const pipeTopic = randomName('itest-pipe');
  const pipelineTopic = randomName('itest-pipeline-groups');
  const outDir = path.join(TEST_DIR, randomName('itest-credentials'));

  beforeAll(async () => {
    for (const [t, principal] of [[pipeTopic, 'pipe'], [pipelineTopic, 'pipeline']] as const) {
      const r = await cli(['topics', 'create', t, '--partitions', '1', '--no-dlq', '--principal', principal, '-c', CONFIG]);
      expect(`${r.code} ${r.stderr}`).toBe('0 ');
    }
  });

  afterAll(async () => {
    for (const t of [pipeTopic, pipelineTopic]) await cli(['topics', 'delete', t, '-c', CONFIG]);
    fs.rmSync(outDir, { recursive: true, force: true });
  });

  it("a client certificate named after the broker is no super user, while the broker's own identity is", async () => {
    // The CA issues it (as `credentials` would without its checks): CN=kafka-1,OU=client is User:kafka-1.
    const impostor = createKafkaClient({ ...(await kafkaAs('kafka-1')), retries: 0 });
    try {
      await expect(impostor.createTopic(randomName('itest-impostor'), 1, 1)).rejects.toThrow(/authoriz|creation errors/i);
      await expect(
        impostor.createAcls([{ resourceType: 'topic', resourceName: pipeTopic, patternType: 'literal', principal: 'User:kafka-1', host: '*', operation: 'read', permission: 'allow' }]),
      ).rejects.toThrow(/authoriz/i);
      expect((await impostor.listTopics()).filter((t) => t === pipeTopic)).toEqual([]);
    } finally {
      await impostor.close();
    }
    // Control: the brokers authenticate to each other and to the quorum as super users (status runs
    // the quorum check with the broker's certificate), and admin sees the topic the impostor could not.
    const status = await cli(['status', '--json', '-c', CONFIG]);
    expect(status.code).toBe(0);
    const kafka = (JSON.parse(status.stdout) as { services: { service: string; checks: { name: string; ok: boolean; detail: string }[] }[] }).services.find((x) => x.service === 'kafka')!;
    expect(kafka.checks.find((c) => c.name === 'KRaft quorum (TLS)')).toMatchObject({ ok: true });
    expect(kafka.checks.find((c) => c.name === 'super users')).toEqual({ name: 'super users', ok: true, detail: 'User:kafka-broker@kafka-1, User:admin' });
    const admin = createKafkaClient(await kafkaAs('admin'));
    try {
      expect(await admin.listTopics()).toContain(pipeTopic);
    } finally {
      await admin.close();
    }
  });

  it("Spark's TLS directory holds Spark's own key, not the broker's, and that key has no Kafka rights", async () => {
    const brokerKey = fs.readFileSync(path.join(stateDir(), 'pki', 'kafka-broker', 'kafka-1.key'), 'utf8');
    const body = brokerKey.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
    expect(body.length).toBeGreaterThan(0);
    const spark = await node('spark-1');
    const kafkaNode = await node('kafka-1');
    // The key's lines go in a 0600 file, never on a command line (sudo logs those in the journal).
    const patterns = `/root/${randomName('itest-broker-key')}`;
    let sparkPem: string;
    try {
      for (const host of [spark, kafkaNode]) await host.putFile(patterns, body.join('\n') + '\n', { mode: 0o600, owner: 'root' });
      // No file on the Spark node holds the broker key, and it has no Kafka TLS directory at all.
      const found = await spark.exec(`grep -rlF -f ${patterns} /etc/millrace /var/lib/millrace 2>/dev/null`);
      expect(found.stdout.trim()).toBe('');
      expect((await spark.exec('test -e /etc/millrace/tls/kafka')).code).not.toBe(0);
      sparkPem = (await spark.getFile('/etc/millrace/tls/spark/node.pem')).toString();
      // Control: the same search finds the key where it belongs, in Kafka's directory on the Kafka node.
      expect((await kafkaNode.execOrThrow(`grep -rlF -f ${patterns} /etc/millrace`)).trim()).toBe('/etc/millrace/tls/kafka/node.pem');
    } finally {
      for (const host of [spark, kafkaNode]) await host.exec(`rm -f ${patterns}`);
      await spark.close();
      await kafkaNode.close();
    }
    expect(sparkPem).not.toContain(body[0]!);
    const certPem = sparkPem.slice(sparkPem.indexOf('-----BEGIN CERTIFICATE-----'));
    const keyPem = sparkPem.slice(0, sparkPem.indexOf('-----BEGIN CERTIFICATE-----'));
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: certPem }).toString().trim();
    expect(subject).toBe('subject=CN=spark-1,OU=spark,O=millrace');
    // Spark's certificate is a valid client certificate of the CA (the TLS handshake succeeds),
    // but User:spark@spark-1 has no ACL: producing is refused.
    const asSpark = createKafkaClient({ ...(await kafkaAs(undefined)), tls: { caPem: caPemOf(), certPem, keyPem }, retries: 0 });
    try {
      await expect(asSpark.produce(pipelineTopic, [{ value: 'from spark' }])).rejects.toThrow(/authoriz/i);
      expect((await asSpark.listTopics()).filter((t) => t === pipelineTopic)).toEqual([]);
    } finally {
      await asSpark.close();
    }
    // Control: the pipeline principal produces to the same topic.
    const pipeline = createKafkaClient(await kafkaAs('pipeline'));
    try {
      await pipeline.produce(pipelineTopic, [{ value: 'from pipeline' }]);
    } finally {
      await pipeline.close();
    }
  });

  it('`pipe` cannot use the groups of `pipeline` (pipeline-*), only its own; `pipeline` can', async () => {
    const pipe = createKafkaClient(await kafkaAs('pipe'));
    const pipeline = createKafkaClient(await kafkaAs('pipeline'));
    try {
      await pipe.produce(pipeTopic, [{ value: 'p' }]);
      await expect(pipe.consume(pipeTopic, randomName('pipeline-x'), 1, 5000)).rejects.toThrow(/^the brokers refused consumer group "pipeline-x-[^"]+": .*Not authorized to access group/);
      // Controls: pipe with its own groups; pipeline with pipeline-x.
      expect(await pipe.consume(pipeTopic, randomName('pipe-x'), 1, 60_000)).toHaveLength(1);
      await pipeline.produce(pipelineTopic, [{ value: 'q' }]);
      expect((await pipeline.consume(pipelineTopic, randomName('pipeline-x'), 1, 60_000)).length).toBeGreaterThanOrEqual(1);
    } finally {
      await pipe.close();
      await pipeline.close();
    }
  });

  it('`topics create` revokes the bare-name group grant an earlier version made (the hole it left, then closed)', async () => {
    const legacy = { resourceType: 'group', resourceName: 'pipe', patternType: 'prefixed', principal: 'User:pipe', host: '*', operation: 'read', permission: 'allow' } as const;
    // A metadata change reaches the broker a moment after the call returns: try for up to 15 s.
    const eventually = async <T>(f: () => Promise<T>): Promise<T> => {
      for (let i = 0; ; i++) {
        try {
          return await f();
        } catch (e) {
          if (i >= 15) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    const admin = createKafkaClient(await kafkaAs('admin'));
    const pipe = createKafkaClient(await kafkaAs('pipe'));
    try {
      await admin.createAcls([legacy]);
      // The hole: with that grant, pipe joins a group of pipeline's.
      expect(await eventually(() => pipe.consume(pipeTopic, randomName('pipeline-legacy'), 1, 60_000))).toHaveLength(1);
      const r = await cli(['topics', 'create', pipeTopic, '--no-dlq', '--principal', 'pipe', '-c', CONFIG]);
      expect(`${r.code} ${r.stderr}`).toBe('0 ');
      expect(r.stdout).toContain('revoked ALLOW User:pipe READ on group pipe* (its groups are pipe-*)');
      expect(await admin.describeAcls({ resourceType: 'group', principal: 'User:pipe' })).toEqual([{ ...legacy, resourceName: 'pipe-' }]);
      await eventually(() => expect(pipe.consume(pipeTopic, randomName('pipeline-legacy'), 1, 5000)).rejects.toThrow(/Not authorized to access group/));
      // Control: its own groups still work.
      expect(await pipe.consume(pipeTopic, randomName('pipe-after'), 1, 60_000)).toHaveLength(1);
    } finally {
      await admin.deleteAcls([legacy]).catch(() => 0);
      await admin.close();
      await pipe.close();
    }
  });

  it('`credentials` refuses a node name, the super user and wildcards (exit 2); --superuser issues admin with a warning', async () => {
    const dirOf = (principal: string): string => path.join(outDir, principal.replace(/[^A-Za-z0-9-]/g, '_'));
    const run = (principal: string, ...extra: string[]): ReturnType<typeof cli> => cli(['credentials', '--principal', principal, '--no-java-stores', '-o', dirOf(principal), ...extra, '-c', CONFIG]);
    const refused: [string, RegExp][] = [
      ['kafka-1', /"kafka-1" is the name of a node of this cluster, and node names are reserved/],
      ['admin', /User:admin is a Kafka super user[\s\S]*--superuser/],
      ['*', /"\*" is a wildcard, not a principal/],
      ['pipe*', /"pipe\*" is a wildcard, not a principal/],
    ];
    for (const [principal, message] of refused) {
      const r = await run(principal);
      expect(`${principal}: exit ${r.code}`).toBe(`${principal}: exit 2`);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(dirOf(principal))).toBe(false);
    }
    for (const principal of ['*', 'kafka-1']) {
      const r = await cli(['topics', 'create', randomName('itest-never'), '--no-dlq', '--principal', principal, '-c', CONFIG]);
      expect(`${principal}: exit ${r.code}`).toBe(`${principal}: exit 2`);
    }
    // --superuser: admin's certificate, and a warning on stderr.
    const su = await run('admin', '--superuser');
    expect(su.code).toBe(0);
    expect(su.stderr).toMatch(/^warning: User:admin is a Kafka super user/);
    expect(fs.existsSync(path.join(dirOf('admin'), 'admin.key'))).toBe(true);
    // Control: an ordinary principal, no warning.
    const ok = await run('itest-reader');
    expect(`${ok.code} ${ok.stderr}`).toBe('0 ');
    expect(fs.readFileSync(path.join(dirOf('itest-reader'), 'itest-reader.crt'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
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
    const plans = planCluster(await loadFacts(loadConfig(CONFIG), readInventory(CLUSTER)));
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

/**
 * `verify --json` of the base cluster, run once: the checks below read its rows (a run costs about
 * a minute; the tests that change the cluster run their own, and restore it).
 */
let baseVerify: Promise<Awaited<ReturnType<typeof cli>>> | undefined;
const verifyBase = (): Promise<Awaited<ReturnType<typeof cli>>> => (baseVerify ??= cli(['verify', '--json', '-c', CONFIG]));

describe('ports and `millrace verify`', () => {
  it('each node listens on exactly the declared ports, and each TLS port verifies with openssl', async () => {
    const r = await verifyBase();
    const v = JSON.parse(r.stdout) as VerifyJson;
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.code).toBe(0);
    const portRows = v.checks.filter((c) => c.check === 'ports: only the declared ones listen');
    expect(portRows.map((c) => c.target).sort()).toEqual(['hdfs-1', 'kafka-1', 'spark-1']);
    for (const n of readInventory(CLUSTER).nodes) {
      // Ports opened on demand (a running application's UI) are not there between jobs.
      for (const spec of portsFor(n.roles).filter((s) => s.protocol === 'tls' && !s.onDemand)) expect(await verifiedTls(n.privateAddress, spec.port)).toBe(`${n.privateAddress}:${spec.port} verified`);
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
      expect(await verifiedTls(address, l.port)).toBe(`${address}:${l.port} verified`);
    }
  });
});

// Issue 12, guarded overrides: a security-critical override is refused unless acknowledged by name;
// acknowledged, `up` applies it with a warning and `verify` fails naming it, never calling the
// cluster secure; with the base config back, `verify` passes again (the control). One weakened
// cluster carries both weakenings (a PLAINTEXT listener, and ACLs that let everyone in): each
// reconfiguration of the shared cluster costs minutes, and the rows are per key and per node.
describe('guarded overrides: acknowledged unsafe overrides on the live cluster', () => {
  const UNSAFE_ROW = 'config: no acknowledged unsafe override';
  const withOverrides = (unsafe: boolean): string => {
    const a = ADDRESSES['kafka-1'];
    return (
      `${fs.readFileSync(CONFIG, 'utf8')}kafka:\n  overrides:\n    allow.everyone.if.no.acl.found: true\n` +
      `    listeners: CLIENT://${a}:9093,CONTROLLER://${a}:9094,PLAIN://${a}:9092\n    listener.security.protocol.map: CLIENT:SSL,CONTROLLER:SSL,PLAIN:PLAINTEXT\n` +
      (unsafe ? '  unsafe: [allow.everyone.if.no.acl.found, listeners, listener.security.protocol.map]\n' : '')
    );
  };

  it('unacknowledged, `up` refuses them before touching the cluster (exit 2), naming each', async () => {
    const file = path.join(TEST_DIR, 'unacknowledged-unsafe.yaml');
    fs.writeFileSync(file, withOverrides(false));
    const r = await cli(['up', '-c', file]);
    expect(r.stderr).toMatch(/- kafka\.overrides\.allow\.everyone\.if\.no\.acl\.found: "allow\.everyone\.if\.no\.acl\.found" is security-critical: .*acknowledge it with "kafka\.unsafe: \[allow\.everyone\.if\.no\.acl\.found\]"/);
    expect(r.stderr).toMatch(/- kafka\.overrides\.listeners: "listeners" is security-critical/);
    expect(r.code).toBe(2);
  });

  it('acknowledged (a PLAINTEXT listener, ACLs open to all), `up` applies them with a warning, `verify` exits 1 naming each failed check and `status` is unhealthy; restored, `verify` passes', async () => {
    const file = path.join(TEST_DIR, 'acknowledged-unsafe.yaml');
    fs.writeFileSync(file, withOverrides(true));
    try {
      const up = await cli(['up', '-c', file]);
      expect(`exit ${up.code}`).toBe('exit 0');
      expect(up.stderr).toMatch(/acknowledged unsafe overrides weaken this cluster's security: kafka\.overrides allow\.everyone\.if\.no\.acl\.found/);
      const kafka = await node('kafka-1');
      try {
        expect(await kafka.execOrThrow('grep -x allow.everyone.if.no.acl.found=true /etc/millrace/kafka/server.properties')).toContain('=true');
      } finally {
        await kafka.close();
      }
      const r = await cli(['verify', '--json', '-c', file]);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as VerifyJson;
      expect(report.ok).toBe(false);
      const failed = (check: string, target: string): { detail: string } | undefined => report.checks.find((c) => c.check === check && c.target === target && !c.ok);
      // The PLAINTEXT listener: its protocol, an undeclared port, and a port that does not speak TLS.
      expect(failed('kafka: listener protocols', 'kafka-1')?.detail).toMatch(/not TLS: PLAIN:PLAINTEXT/);
      expect(failed('ports: only the declared ones listen', 'kafka-1')?.detail).toMatch(/NOT DECLARED: 9092/);
      expect(report.checks.find((c) => /^port 9092 \(undeclared\) speaks TLS/.test(c.check) && c.target === 'kafka-1')).toMatchObject({ ok: false });
      // Each acknowledged key is its own failed row.
      const unsafeRows = report.checks.filter((c) => c.check === UNSAFE_ROW).map((c) => `${c.ok} ${c.detail.split(' ')[0]}`).sort();
      expect(unsafeRows).toEqual(['false allow.everyone.if.no.acl.found', 'false listener.security.protocol.map', 'false listeners']);
      expect(report.checks.find((c) => c.check === UNSAFE_ROW && c.detail.startsWith('allow.'))?.detail).toMatch(/^allow\.everyone\.if\.no\.acl\.found is set and acknowledged in kafka\.unsafe: /);
      // The live probe sees what the override does: a principal without ACLs now gets in.
      expect(report.checks.find((c) => c.check === 'Kafka: a principal without ACLs is refused')).toMatchObject({ ok: false });
      expect(r.stderr).toMatch(/error: \d+ of \d+ security checks failed: .*kafka: listener protocols \(kafka-1\)/);
      expect(r.stderr).toMatch(/security checks failed: .*config: no acknowledged unsafe override \(kafka\.overrides\)/);
      // `status` never calls a cluster with one healthy.
      const status = await cli(['status', '-c', file]);
      expect(status.stdout).toMatch(/cluster\s+config\s+UNHEALTHY\n(\s+✗ acknowledged unsafe override: .*\n)*\s+✗ acknowledged unsafe override: kafka\.overrides allow\.everyone\.if\.no\.acl\.found \(kafka\.unsafe\)/);
      expect(status.code).toBe(1);
    } finally {
      await ensureBaseCluster();
    }
    const again = await cli(['verify', '--json', '-c', CONFIG]);
    const report = JSON.parse(again.stdout) as VerifyJson;
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.checks.find((c) => c.check === UNSAFE_ROW)).toMatchObject({ ok: true, target: 'config' });
    expect(report.checks.find((c) => c.check === 'kafka: listener protocols' && c.target === 'kafka-1')).toMatchObject({ ok: true });
    expect(again.code).toBe(0);
  });
});

// Issue 12, Spark: RPC over TLS (the master and workers handshake with the cluster CA; a master with
// the AES-only settings of earlier millrace does not, the control), no kill from any web UI (the
// application keeps running; the control: it runs and the master lists it), and `jobs kill` over
// SSH, which does stop it.
describe('Spark: RPC over TLS, no kill from the UIs, `jobs kill` over SSH (issue 12)', () => {
  const SPARK = ADDRESSES['spark-1'];
  const SPARK_CLASS = '/opt/millrace/spark/current/bin/spark-class';
  const CA = '/etc/millrace/tls/ca.pem';
  const curl = (args: string): string => `curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert ${CA} ${args}`;

  it("the master's and the worker's RPC ports complete a TLS handshake verified against the cluster CA; a master with the old AES-only settings does not (control)", async () => {
    expect(await verifiedTls(SPARK, 7077)).toBe(`${SPARK}:7077 verified`);
    expect(await verifiedTls(SPARK, 7078)).toBe(`${SPARK}:7078 verified`);
    const spark = await node('spark-1');
    const dir = `/tmp/${randomName('itest-aes-master')}`;
    try {
      // The old settings: the secret and AES, no spark.ssl.rpc (the secret copied from the node's own file, never printed).
      await spark.execOrThrow(
        `mkdir -p ${dir}/conf && chmod 700 ${dir} && (grep -E '^spark\\.authenticate(\\.secret)? ' /etc/millrace/spark/spark-defaults.conf; echo 'spark.network.crypto.enabled true'; echo 'spark.master.rest.enabled false') > ${dir}/conf/spark-defaults.conf && chown -R spark ${dir} && chmod 600 ${dir}/conf/spark-defaults.conf`,
      );
      const pid = (
        await spark.execOrThrow(
          `cd ${dir} && setsid runuser -u spark -- env SPARK_CONF_DIR=${dir}/conf SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=${SPARK} ${SPARK_CLASS} -Xmx192m org.apache.spark.deploy.master.Master --host ${SPARK} --port 7095 --webui-port 7096 > ${dir}/master.log 2>&1 < /dev/null & echo $!`,
        )
      ).trim();
      try {
        const started = Date.now();
        while (!/Starting Spark master at spark:\/\//.test((await spark.exec(`cat ${dir}/master.log`)).stdout) && Date.now() - started < 90_000) await new Promise((r) => setTimeout(r, 1000));
        expect((await spark.exec(`cat ${dir}/master.log`)).stdout).toMatch(/Starting Spark master at spark:\/\//);
        await new Promise((r) => setTimeout(r, 3000));
        expect(await verifiedTls(SPARK, 7095)).not.toMatch(/verified$/);
        // And the real master, in the same moment, still does (control of the control).
        expect(await verifiedTls(SPARK, 7077)).toBe(`${SPARK}:7077 verified`);
      } finally {
        await spark.exec(`kill -TERM -${pid} 2>/dev/null; sleep 2; kill -KILL -${pid} 2>/dev/null`);
      }
    } finally {
      await spark.exec(`rm -rf ${dir}`);
      await spark.close();
    }
  }, 180_000);

  it("a POST to the master UI's kill endpoint and to the application UI's kill links does nothing: the application keeps running; `jobs kill` stops it; an unknown id exits 1", async () => {
    const job = path.join(TEST_DIR, `${randomName('itest_unkillable')}.py`);
    fs.writeFileSync(
      job,
      `import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
while True:
    sc.parallelize(range(2), 1).map(lambda x: time.sleep(6) or x).count()
`,
    );
    const spark = await node('spark-1');
    let appId: string | undefined;
    try {
      const sub = await cli(['submit', '--detach', '--json', '--name', 'itest-unkillable', '--conf', 'spark.cores.max=1', job, '-c', CONFIG]);
      expect(`exit ${sub.code}${sub.code === 0 ? '' : ` ${sub.stderr.slice(-2000)}`}`).toBe('exit 0');
      const d = JSON.parse(sub.stdout) as { appId: string; workDir: string; pid: number };
      appId = d.appId;
      expect(appId).toMatch(/^app-/);
      const listed = async (): Promise<boolean> => ((JSON.parse((await cli(['jobs', '--json', '-c', CONFIG])).stdout) as { id: string }[]).some((a) => a.id === appId));
      // Control: the application runs and the master lists it.
      expect(await listed()).toBe(true);
      // The application's UI: the HTTPS port (from 7160) whose REST API lists this application.
      const findUi = async (): Promise<string> =>
        (
          await spark.exec(
            `for p in $(seq 7160 7179); do curl -sS --max-time 5 --cacert ${CA} https://${SPARK}:$p/api/v1/applications 2>/dev/null | grep -qF ${q(appId!)} && echo $p && break; done`,
          )
        ).stdout.trim();
      let port = await findUi();
      for (const begun = Date.now(); !port && Date.now() - begun < 30_000; port = await findUi()) await new Promise((r) => setTimeout(r, 2000));
      // On failure, what the node listens on, what the driver said of its UI and what the UI answers.
      const diag = port
        ? ''
        : (await spark.exec(`ss -Hltn | grep -E ':71[0-9][0-9] '; grep -E 'SparkUI' ${d.workDir}/driver.log | tail -3; curl -sS -i --max-time 5 --cacert ${CA} https://${SPARK}:7160/api/v1/applications 2>&1 | head -12`)).stdout;
      expect(`port=${port}${diag ? `\n${diag}` : ''}`).toMatch(/^port=71[67]\d$/);
      const ui = `https://${SPARK}:${port}`;
      let running: number | undefined;
      const started = Date.now();
      while (running === undefined && Date.now() - started < 60_000) {
        const jobs = JSON.parse((await spark.exec(`curl -sS --max-time 10 --cacert ${CA} ${q(`${ui}/api/v1/applications/${appId}/jobs?status=running`)}`)).stdout || '[]') as { jobId: number }[];
        running = jobs[0]?.jobId;
        if (running === undefined) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(running).toBeDefined();
      // The kills: the master UI's, the job's and the stage's links.
      const masterKill = (await spark.exec(curl(`-X POST -d ${q(`id=${appId}&terminate=true`)} https://${SPARK}:8480/app/kill/`))).stdout.trim();
      const jobKill = (await spark.exec(curl(`-X POST ${q(`${ui}/jobs/job/kill/?id=${running}`)}`))).stdout.trim();
      const stageKill = (await spark.exec(curl(`-X POST ${q(`${ui}/stages/stage/kill/?id=0`)}`))).stdout.trim();
      // The master attaches no kill handler (404); the application UI always answers its kill links
      // with a redirect, and acts only when kill is enabled: what counts is that nothing dies (below).
      expect(masterKill).toMatch(/^40[45]$/);
      for (const code of [jobKill, stageKill]) expect(code).toMatch(/^(302|40[345])$/);
      // Control of the refusal: the same UIs answer a read.
      expect((await spark.exec(curl(`https://${SPARK}:8480/json/`))).stdout.trim()).toBe('200');
      expect((await spark.exec(curl(q(`${ui}/api/v1/applications`)))).stdout.trim()).toBe('200');
      // The job finishes as it would have (no kill), and the application is still there.
      const done = Date.now();
      let status = 'RUNNING';
      while (status === 'RUNNING' && Date.now() - done < 60_000) {
        await new Promise((r) => setTimeout(r, 2000));
        status = (JSON.parse((await spark.exec(`curl -sS --max-time 10 --cacert ${CA} ${q(`${ui}/api/v1/applications/${appId}/jobs/${running}`)}`)).stdout) as { status: string }).status;
      }
      expect(status).toBe('SUCCEEDED');
      expect(await listed()).toBe(true);
      // The authenticated path does stop it, and the master forgets it.
      const killed = await cli(['jobs', 'kill', appId!, '--json', '-c', CONFIG]);
      expect(`exit ${killed.code}${killed.code === 0 ? '' : ` ${killed.stderr}`}`).toBe('exit 0');
      expect(JSON.parse(killed.stdout)).toEqual(expect.objectContaining({ id: appId, node: 'spark-1', pid: d.pid }));
      expect(await listed()).toBe(false);
      expect((await spark.exec(`kill -0 -${d.pid}`)).code).not.toBe(0);
      appId = undefined;
      // Unknown: exit 1, named, with the way to the list.
      const unknown = await cli(['jobs', 'kill', 'app-19990101000000-9999', '-c', CONFIG]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/no running application app-19990101000000-9999/);
      expect(unknown.stderr).toMatch(/millrace jobs/);
      expect(unknown.stderr).not.toMatch(/\n\s+at /);
    } finally {
      if (appId) await cli(['jobs', 'kill', appId, '-c', CONFIG]);
      fs.rmSync(job, { force: true });
      await spark.close();
    }
  }, 400_000);
});

// Issue 12, `verify` grows: each new row on the live cluster, broken on purpose (its negative) and
// put back (its control), the new checks called as `verify` calls them; then the whole `verify`.
describe('verify: the flow table, TLS versions, KMS ACLs, /lake and HDFS RPC (issue 12)', () => {
  const facts = (): ReturnType<typeof loadFacts> => loadFacts(loadConfig(CONFIG), readInventory(CLUSTER));
  const inv = (name: keyof typeof ADDRESSES): InventoryNode => readInventory(CLUSTER).nodes.find((n) => n.name === name)!;
  /** A throwaway process on a node, as a transient systemd unit (stopped in `finally`). */
  const runUnit = (unit: string, command: string): string => `systemd-run --quiet --unit=${unit} --collect sh -c ${q(command)}`;
  const listening = async (host: RemoteHost, address: string, port: number): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      if ((await host.exec(`ss -Hltn 'sport = :${port}' | grep -qF ${q(`${address}:${port}`)}`)).code === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`nothing listens on ${address}:${port}`);
  };

  it('the whole `verify` passes with the new rows, HDFS RPC a WARN with its reason, and exits 0', async () => {
    const r = await verifyBase();
    const v = JSON.parse(r.stdout) as VerifyJson;
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(`exit ${r.code}`).toBe('exit 0');
    const rows = (prefix: string): string[] => v.checks.filter((c) => c.check.startsWith(prefix)).map((c) => `${c.target} ${rowStatus(c)}`).sort();
    expect(rows('flows: ')).toEqual(['hdfs-1 pass', 'kafka-1 pass', 'spark-1 pass']);
    expect(rows('TLS: every TLS port refuses')).toEqual(['hdfs-1 pass', 'kafka-1 pass', 'spark-1 pass']);
    expect(rows('TLS: this client completes TLS 1.1')).toEqual(['hdfs-1 pass', 'kafka-1 pass', 'spark-1 pass']);
    expect(rows('KMS: ')).toEqual(['hdfs-1 pass', 'hdfs-1 pass', 'hdfs-1 pass']);
    expect(rows('HDFS: /lake is')).toEqual(['/lake pass']);
    // Rows keep their JSON shape; only a warning carries `status`.
    expect(v.checks.filter((c) => 'status' in c).map((c) => c.check)).toEqual([HDFS_RPC_CHECK]);
    const rpc = v.checks.find((c) => c.check === HDFS_RPC_CHECK)!;
    expect(rpc).toMatchObject({ ok: true, status: 'warn' });
    expect(rpc.detail).toMatch(/a client can claim any user; see README 'Without Kerberos'.*claimed hdfs .* and was granted it/);
    expect(v.checks.filter((c) => c.status === 'warn').map((c) => c.check)).toEqual([HDFS_RPC_CHECK]);
    // The same rows as the CLI prints them without --json (its formatter; a second run would cost a minute).
    const text = formatVerify(v.checks as VerifyRow[]);
    expect(text).toMatch(/^WARN\s+hdfs-1\s+HDFS: RPC \(8020, 9867\) authenticates its clients\s+HDFS RPC \(8020, 9867\) has no authentication without Kerberos/m);
    expect(text).toMatch(/no check failed: \d+ passed; 1 WARN/);
  });

  it('a listener on a port of no flow fails the flows row (and the ports row); stopped, both pass', async () => {
    const kafka = await node('kafka-1');
    const n = inv('kafka-1');
    const unit = randomName('itest-listener');
    try {
      await kafka.execOrThrow(runUnit(unit, `exec python3 -c 'import socket,time; s=socket.socket(); s.bind(("${n.privateAddress}", 4455)); s.listen(); time.sleep(600)'`));
      await listening(kafka, n.privateAddress, 4455);
      const [row] = await verifyFlowPorts(kafka, n);
      expect(row).toMatchObject({ ok: false, detail: 'listening, but no flow of the table reaches it: 4455' });
      expect((await verifyNodePorts(kafka, n))[0]).toMatchObject({ ok: false });
    } finally {
      await kafka.exec(`systemctl stop ${unit}`);
    }
    const [after] = await verifyFlowPorts(kafka, n);
    expect(after).toMatchObject({ ok: true, detail: '22 ← operator; 9093 ← kafka, spark-master, spark-worker; 9094 ← kafka; 9100 ← monitor; 9404 ← monitor' });
    await kafka.close();
  });

  it("the local target's firewall drops what the flow table does not allow (a Kafka-only node to the NameNode, a node to the master's web UI) and records it; the same ports pass from a node the table lets in", async () => {
    const kafka = await node('kafka-1');
    const spark = await node('spark-1');
    /** bash's /dev/tcp connects with the node's libc, so from the node's own address; 124 is timeout's "timed out". */
    const reach = async (from: RemoteHost, address: string, port: number): Promise<string> => {
      const r = await from.exec(`timeout 5 bash -c ${q(`exec 3<>/dev/tcp/${address}/${port}`)}`);
      return r.code === 0 ? 'connected' : r.code === 124 ? 'dropped' : `exit ${r.code}: ${r.stderr.trim()}`;
    };
    try {
      expect(await reach(kafka, ADDRESSES['hdfs-1'], 8020)).toBe('dropped');
      expect(await reach(kafka, ADDRESSES['spark-1'], 8480)).toBe('dropped');
      expect(await reach(kafka, ADDRESSES['hdfs-1'], 9600)).toBe('dropped');
      // The controls: the same NameNode and KMS ports from the Spark node, which the table lets in.
      expect(await reach(spark, ADDRESSES['hdfs-1'], 8020)).toBe('connected');
      expect(await reach(spark, ADDRESSES['hdfs-1'], 9600)).toBe('connected');
    } finally {
      await kafka.close();
      await spark.close();
    }
    expect(await deniedConnections(CLUSTER)).toEqual(expect.arrayContaining(FIREWALL_CONTROLS));
  }, 60_000);

  it('a TLS server that allows TLS 1.1 fails the version check; the broker, asked the same way, refuses 1.0 and 1.1 itself', async () => {
    const spark = await node('spark-1');
    const kafka = await node('kafka-1');
    const a = ADDRESSES['spark-1'];
    const unit = randomName('itest-tls11');
    const dir = `/tmp/${unit}`;
    try {
      await spark.execOrThrow(`mkdir -p ${dir} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${dir}/k -out ${dir}/c -subj /CN=itest -days 1 2>/dev/null`);
      await spark.execOrThrow(runUnit(unit, `exec openssl s_server -accept ${a}:4456 -cert ${dir}/c -key ${dir}/k -tls1_1 -cipher DEFAULT@SECLEVEL=0 -www`));
      await listening(spark, a, 4456);
      const weak = await probePort(spark, a, 4456);
      expect(weak.tls1_1).toEqual({ result: 'accepted', protocol: 'TLSv1.1' });
      expect(portVerdict(weak)).toMatchObject({ ok: false });
    } finally {
      await spark.exec(`systemctl stop ${unit}; rm -rf ${dir}`);
      await spark.close();
    }
    try {
      const broker = await probePort(kafka, ADDRESSES['kafka-1'], 9093, '/etc/millrace/tls/kafka/node.pem');
      expect(broker.tls1).toEqual({ result: 'refused', why: 'protocol_version alert' });
      expect(broker.tls1_1).toEqual({ result: 'refused', why: 'protocol_version alert' });
      expect(broker.tls1_2).toEqual({ result: 'accepted', protocol: 'TLSv1.2' });
    } finally {
      await kafka.close();
    }
  });

  it('KMS: a user the ACL does not name is refused decrypting while spark decrypts; named in the live ACL file, it decrypts and the rows fail; restored, refused again', async () => {
    const hdfs = await node('hdfs-1');
    const n = inv('hdfs-1');
    const original = (await hdfs.getFile(KMS_ACLS_XML)).toString();
    const strangerDecrypts = async (want: number): Promise<KmsProbe> => {
      let p = await probeKms(NO_KERBEROS, new Map([[n.name, hdfs]]), n);
      // The KMS reloads its ACL file when it changes (it looks every second).
      for (let i = 0; i < 30 && p.decrypt[KMS_STRANGER] !== want; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        p = await probeKms(NO_KERBEROS, new Map([[n.name, hdfs]]), n);
      }
      return p;
    };
    try {
      const before = await strangerDecrypts(403);
      expect(before.decrypt).toEqual({ spark: 200, hdfs: 403, [KMS_STRANGER]: 403 });
      expect(kmsProbeRows(n.name, before).map((r) => r.ok)).toEqual([true, true]);
      // Decrypting needs both the KMS-wide ACL and the key's: the stranger is added to both.
      let widened = original;
      for (const acl of ['hadoop\\.kms\\.acl\\.DECRYPT_EEK', 'key\\.acl\\.lake\\.DECRYPT_EEK']) {
        const next = widened.replace(new RegExp(`(<name>${acl}</name>\\s*<value>)spark(</value>)`), `$1spark,${KMS_STRANGER}$2`);
        expect(next).not.toBe(widened);
        widened = next;
      }
      await hdfs.putFile(KMS_ACLS_XML, widened, { mode: 0o644, owner: 'root' });
      const open = await strangerDecrypts(200);
      expect(open.decrypt[KMS_STRANGER]).toBe(200);
      expect(kmsProbeRows(n.name, open)[1]).toMatchObject({ ok: false });
      const rows = await verifyKms(NO_KERBEROS, new Map([[n.name, hdfs]]), n);
      expect(rows[0]).toMatchObject({ ok: false, detail: `hadoop.kms.acl.DECRYPT_EEK allows ${KMS_STRANGER} (only spark); key.acl.lake.DECRYPT_EEK allows ${KMS_STRANGER} (only spark)` });
    } finally {
      await hdfs.putFile(KMS_ACLS_XML, original, { mode: 0o644, owner: 'root' });
    }
    try {
      const after = await strangerDecrypts(403);
      expect(after.decrypt).toEqual({ spark: 200, hdfs: 403, [KMS_STRANGER]: 403 });
      expect((await verifyKms(NO_KERBEROS, new Map([[n.name, hdfs]]), n)).map((r) => r.ok)).toEqual([true, true, true]);
    } finally {
      await hdfs.close();
    }
  });

  it('/lake at mode 777 fails the lake row; back at 750 it passes', async () => {
    const f = await facts();
    const hdfs = await node('hdfs-1');
    const chmod = (mode: string): string => hdfsTool({ cluster: f, node: f.namenode }, 'org.apache.hadoop.fs.FsShell', '-chmod', mode, '/lake');
    try {
      await hdfs.execOrThrow(chmod('777'));
      const [row] = await verifyLake(f, hdfs);
      expect(row).toMatchObject({ ok: false });
      // (The zone's trash, /lake/.Trash, is 1777 sticky as HDFS makes it: not named while /lake's mode is checked.)
      expect(row!.detail).toBe('mode is 777, not 750; /lake itself is world-writable');
    } finally {
      await hdfs.execOrThrow(chmod('750'));
    }
    try {
      const [row] = await verifyLake(f, hdfs);
      expect(row).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^spark:spark 750, zone key lake, \d+ entries below, none world-writable but the zone's trash \/lake\/\.Trash \(1777 with the sticky bit, as HDFS makes it; unreachable for others through \/lake 750\)$/),
      });
    } finally {
      await hdfs.close();
    }
  });
});
