/**
 * issue 11's conveniences that touch the cluster, each used against the real local cluster
 * through the built CLI: copy-file to and from nodes, streamed and prefixed `exec`, `produce
 * --source -`, `consume --partition/--offset/--print-key`, topic configs at create time and
 * `topics alter`, and submit's --py-files/--files/--packages and memory/cores flags.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, CONFIG, ENV, ensureBaseCluster, randomName, REPO, TEST_DIR } from './harness';

const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
const NODES = ['hdfs-1', 'kafka-1', 'spark-1'];

/** The CLI with input on stdin, and when each stdout chunk arrived (ms since the start). */
function cliTimed(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string; chunks: { at: number; text: string }[]; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'dist/cli/main.js'), ...args], { env: ENV, cwd: TEST_DIR });
    const chunks: { at: number; text: string }[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push({ at: Date.now() - started, text: d.toString() }));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: chunks.map((c) => c.text).join(''), stderr, chunks, ms: Date.now() - started }));
    child.stdin.end(stdin ?? '');
  });
}

let work: string;
beforeAll(async () => {
  await ensureBaseCluster();
  work = fs.mkdtempSync(path.join(TEST_DIR, 'conveniences-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('copy-file', () => {
  const name = randomName('itest-copy');
  afterAll(() => cli(['exec', 'all', '-c', CONFIG, '--', `rm -f /tmp/${name}*`]));

  it('uploads to every node (into a directory), to a role with mode and owner, and reads it back', async () => {
    const local = path.join(work, `${name}.bin`);
    const data = crypto.randomBytes(200_000);
    fs.writeFileSync(local, data, { mode: 0o600 });
    const all = await cli(['copy-file', '--json', '-c', CONFIG, local, 'all:/tmp/']);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as { node: string; path: string; sha256: string }[];
    expect(rows.map((r) => r.node).sort()).toEqual(NODES);
    const sha = crypto.createHash('sha256').update(data).digest('hex');
    // Checked on the nodes by a separate command, not by copy-file's own report.
    const sums = await cli(['exec', '--json', 'all', '-c', CONFIG, '--', `sha256sum /tmp/${name}.bin; stat -c '%a %U:%G' /tmp/${name}.bin`]);
    // (exec --json gives each node's output without its trailing newline.)
    for (const r of JSON.parse(sums.stdout) as { node: string; stdout: string }[]) expect(r.stdout).toBe(`${sha}  /tmp/${name}.bin\n600 root:root`);

    const role = await cli(['cp', '-c', CONFIG, '--mode', '640', '--owner', 'kafka', local, `kafka:/tmp/${name}-kafka.bin`]);
    expect(role.code).toBe(0);
    expect(role.stdout).toBe(`kafka-1: /tmp/${name}-kafka.bin (200000 bytes, mode 0640, kafka:kafka)\n`);
    const st = await cli(['exec', 'kafka-1', '-c', CONFIG, '--', `stat -c '%a %U:%G' /tmp/${name}-kafka.bin`]);
    expect(st.stdout).toBe('640 kafka:kafka\n');

    const back = path.join(work, 'back.bin');
    const one = await cli(['copy-file', '-c', CONFIG, `kafka-1:/tmp/${name}-kafka.bin`, back]);
    expect(one.code).toBe(0);
    expect(fs.readFileSync(back).equals(data)).toBe(true);
    expect(fs.statSync(back).mode & 0o777).toBe(0o640 & ~process.umask() & 0o666);

    const many = await cli(['copy-file', '-c', CONFIG, `all:/tmp/${name}.bin`, path.join(work, 'from-all')]);
    expect(many.code).toBe(0);
    for (const n of NODES) expect(fs.readFileSync(path.join(work, 'from-all', n, `${name}.bin`)).equals(data)).toBe(true);
  });

  it('refuses a missing local file, a missing remote file or directory, and an unknown node, with exit 2', async () => {
    const missingLocal = await cli(['copy-file', '-c', CONFIG, path.join(work, 'nope.txt'), 'all:/tmp/']);
    expect(missingLocal.code).toBe(2);
    expect(missingLocal.stderr).toContain(`error: ${path.join(work, 'nope.txt')}: no such file here`);
    const missingRemote = await cli(['copy-file', '-c', CONFIG, 'spark-1:/tmp/no-such-file-here', work]);
    expect(missingRemote.code).toBe(2);
    expect(missingRemote.stderr).toContain('spark-1: no file /tmp/no-such-file-here');
    const local = path.join(work, 'small.txt');
    fs.writeFileSync(local, 'x\n');
    const noDir = await cli(['copy-file', '-c', CONFIG, local, 'hdfs-1:/no/such/dir/small.txt']);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('hdfs-1: no directory /no/such/dir');
    expect(noDir.stderr).toContain('hint: create it first: millrace exec hdfs-1 -- mkdir -p /no/such/dir');
    const unknown = await cli(['copy-file', '-c', CONFIG, local, 'kafka-9:/tmp/x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: no node named "kafka-9" in cluster itest');
    for (const r of [missingLocal, missingRemote, noDir, unknown]) expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});

describe('exec', () => {
  it('streams each node\'s lines as they come, prefixed with the node, before the command ends', async () => {
    const r = await cliTimed(['exec', 'all', '-c', CONFIG, '--', 'echo first; sleep 2; echo second']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').sort();
    expect(lines).toEqual(NODES.flatMap((n) => [`${n.padEnd(7)} | first`, `${n.padEnd(7)} | second`]).sort());
    const firstAt = Math.max(...NODES.map((n) => r.chunks.find((c) => c.text.includes(`${n.padEnd(7)} | first`))!.at));
    const secondAt = Math.min(...NODES.map((n) => r.chunks.find((c) => c.text.includes(`${n.padEnd(7)} | second`))!.at));
    // Every node's first line was on the screen while its command was still sleeping.
    expect(secondAt - firstAt).toBeGreaterThan(1500);
    expect(r.ms - firstAt).toBeGreaterThan(1500);
  });

  it('passes one node\'s output through unprefixed, and exits 1 naming the nodes where the command failed', async () => {
    const one = await cli(['exec', 'spark-1', '-c', CONFIG, '--', 'echo only']);
    expect(one).toMatchObject({ code: 0, stdout: 'only\n' });
    const r = await cli(['exec', 'all', '-c', CONFIG, '--', 'test -d /etc/millrace/kafka && echo has-kafka-config']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('kafka-1 | has-kafka-config\n');
    expect(r.stderr).toContain('error: the command failed on spark-1 (exit 1), hdfs-1 (exit 1); it succeeded on 1 other node');
    const json = await cli(['exec', '--json', 'all', '-c', CONFIG, '--', 'echo out; echo err >&2; exit 3']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(3);
    for (const row of JSON.parse(json.stdout) as { code: number; stdout: string; stderr: string }[]) expect(row).toMatchObject({ code: 3, stdout: 'out', stderr: 'err' });
  });
});

describe('topics, produce from stdin, consume by partition and offset', () => {
  const topic = randomName('itest-conv');
  const N = 120;
  const ORIGINS = ['LAS', 'PHL', 'SFO', 'JFK', 'ORD'];
  const record = (i: number): string => JSON.stringify({ date: `2001-01-0${1 + (i % 9)}T10:${String(i % 60).padStart(2, '0')}`, delay: i, distance: 100 + i, origin: ORIGINS[i % 5], destination: 'BOS' });
  afterAll(async () => {
    await cli(['topics', 'delete', topic, '-c', CONFIG]);
    await cli(['topics', 'delete', `${topic}.dlq`, '-c', CONFIG]);
  });

  it('creates a topic with configs, reads them back, alters them and refuses an unknown one', async () => {
    const created = await cli(['topics', 'create', topic, '--partitions', '3', '--topic-config', 'retention.ms=3600000', '--topic-config', 'cleanup.policy=delete', '-c', CONFIG]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const describe1 = JSON.parse((await cli(['topics', 'describe', '--json', topic, '-c', CONFIG])).stdout) as { config: Record<string, string>; partitions: unknown[] };
    expect(describe1.partitions).toHaveLength(3);
    expect(describe1.config).toEqual({ 'retention.ms': '3600000', 'cleanup.policy': 'delete', 'min.insync.replicas': '1' });
    const dlq = JSON.parse((await cli(['topics', 'describe', '--json', `${topic}.dlq`, '-c', CONFIG])).stdout) as { config: Record<string, string> };
    expect(dlq.config).toEqual({ 'min.insync.replicas': '1' });

    const alter = await cli(['topics', 'alter', topic, '--topic-config', 'retention.ms=7200000', '--topic-config', 'max.message.bytes=2000000', '--delete-config', 'cleanup.policy', '-c', CONFIG]);
    expect(alter.code).toBe(0);
    const describe2 = JSON.parse((await cli(['topics', 'describe', '--json', topic, '-c', CONFIG])).stdout) as { config: Record<string, string> };
    expect(describe2.config).toEqual({ 'retention.ms': '7200000', 'max.message.bytes': '2000000', 'min.insync.replicas': '1' });

    const unknown = await cli(['topics', 'alter', topic, '--topic-config', 'retention.mss=1', '-c', CONFIG]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: Kafka refused the config of itest-conv-\S+: retention.mss=1: /);
    expect(unknown.stderr).not.toMatch(/internal error|\n\s+at /);
    // Of several settings, the refused one is named.
    const badValue = await cli(['topics', 'create', randomName('itest-conv-bad'), '--no-dlq', '--topic-config', 'retention.ms=1000', '--topic-config', 'cleanup.policy=sometimes', '-c', CONFIG]);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toMatch(/^error: Kafka refused the config of itest-conv-bad-\S+: cleanup.policy=sometimes: /);
    // Nothing reached Kafka's config after the refusal.
    expect((JSON.parse((await cli(['topics', 'describe', '--json', topic, '-c', CONFIG])).stdout) as { config: unknown }).config).toEqual(describe2.config);
    const syntax = await cli(['topics', 'alter', topic, '--topic-config', 'retention.ms', '-c', CONFIG]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('error: --topic-config retention.ms: expected key=value');
  });

  it('produces JSON Lines piped to stdin, invalid ones to the DLQ, and consumes exactly those records back', async () => {
    const lines = Array.from({ length: N }, (_, i) => record(i));
    lines.splice(10, 0, '{"delay":"late"}');
    lines.splice(50, 0, 'not json at all');
    const r = await cliTimed(['produce', '--json', '--spec', SPEC, '--topic', topic, '--source', '-', '-c', CONFIG], lines.join('\n') + '\n');
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ topic, read: N + 2, sent: N, dlq: 2, errors: 0 });
    const back = await cli(['consume', '--json', topic, '--from-beginning', '-n', String(N), '-c', CONFIG], { timeoutMs: 120_000 });
    expect(back.code).toBe(0);
    const msgs = back.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: { delay: number; origin: string; event_id: string } });
    expect(msgs.map((m) => m.value.delay).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    for (const m of msgs) expect(m.key).toBe(m.value.origin);
    expect(new Set(msgs.map((m) => m.value.event_id)).size).toBe(N);
    expect(msgs.every((m) => /^stdin#\d+$/.test(m.value.event_id))).toBe(true);
    const dlq = await cli(['consume', '--json', `${topic}.dlq`, '--from-beginning', '-n', '2', '-c', CONFIG], { timeoutMs: 120_000 });
    expect(dlq.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key).sort()).toEqual(['stdin#10', 'stdin#50']);
  });

  it('reads one partition from an offset, printing key<TAB>value, and the exact offsets with --json', async () => {
    const all = await cli(['consume', '--json', topic, '--from-beginning', '-n', String(N), '-c', CONFIG], { timeoutMs: 120_000 });
    const msgs = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: string; key: string; value: unknown });
    const byPartition = new Map<number, typeof msgs>();
    for (const m of msgs) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
    const [p, inP] = [...byPartition].sort((a, b) => b[1].length - a[1].length)[0]!;
    inP.sort((a, b) => Number(a.offset) - Number(b.offset));
    expect(inP.map((m) => Number(m.offset))).toEqual(inP.map((_, i) => i));
    expect(inP.length).toBeGreaterThanOrEqual(5);

    const keyed = await cli(['consume', topic, '--partition', String(p), '--offset', '2', '--print-key', '-n', '3', '-c', CONFIG], { timeoutMs: 120_000 });
    expect(keyed.code).toBe(0);
    expect(keyed.stdout).toBe(inP.slice(2, 5).map((m) => `${m.key}\t${JSON.stringify(m.value)}\n`).join(''));
    const json = await cli(['consume', '--json', topic, '-p', String(p), '-o', String(inP.length - 2), '-n', '2', '-c', CONFIG], { timeoutMs: 120_000 });
    expect(json.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { partition: number; offset: string }).offset)).toEqual([String(inP.length - 2), String(inP.length - 1)]);
    const earliest = await cli(['consume', '--json', topic, '-p', String(p), '-o', 'earliest', '-n', '1', '-c', CONFIG], { timeoutMs: 120_000 });
    expect(JSON.parse(earliest.stdout)).toMatchObject({ partition: p, offset: '0', key: inP[0]!.key });

    const out = await cli(['consume', topic, '-p', String(p), '-o', String(inP.length + 5), '-c', CONFIG]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`error: ${topic}[${p}] holds offsets 0 to ${inP.length - 1}; ${inP.length + 5} is outside them`);
    const noPartition = await cli(['consume', topic, '-p', '7', '-c', CONFIG]);
    expect(noPartition.code).toBe(2);
    expect(noPartition.stderr).toContain(`error: ${topic} has no partition 7`);
  });
});

/** A jar (a zip with a manifest) holding one text entry. */
function tinyJar(file: string, entry: string, text: string): void {
  execFileSync('python3', ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\\n")\n    z.writestr(sys.argv[2], sys.argv[3])', file, entry, text]);
}

describe('a messy CSV export, through from: mappings (issue 16)', () => {
  const topic = randomName('itest-messy');
  const TRIPS = path.join(REPO, 'tests/fixtures/specs/valid-from-columns.yaml');
  afterAll(async () => {
    await cli(['topics', 'delete', topic, '-c', CONFIG]);
    await cli(['topics', 'delete', `${topic}.dlq`, '-c', CONFIG]);
  });

  it('produces every record of a file with a byte-order mark, CRLF and headers of spaces and symbols, with exact counts and the mapping in --json', async () => {
    expect((await cli(['topics', 'create', topic, '-c', CONFIG])).code).toBe(0);
    const N = 200;
    const rows = Array.from({ length: N }, (_, i) => `2024-06-${String(1 + (i % 28)).padStart(2, '0')}T08:30:00Z,"Gate ""${i % 7}"", Terminal",${i % 5 === 0 ? '' : (i / 4).toFixed(2)},r${i}`);
    // Three bad rows among them: a missing required date, a cost that is no number, a short row.
    rows.splice(60, 0, ',"Nowhere",1.00,x', '2024-06-02T08:30:00Z,"Somewhere",twelve,x', '2024-06-02T08:30:00Z,"Short"');
    const file = path.join(TEST_DIR, `${topic}.csv`);
    fs.writeFileSync(file, `\uFEFFFlight Date,Airport Name,Cost Total $,Remarks\r\n${rows.join('\r\n')}\r\n`);
    try {
      const r = await cli(['produce', '--json', '--spec', TRIPS, '--topic', topic, '--source', file, '-c', CONFIG]);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { read: number; sent: number; dlq: number; errors: number; columns: { matches: { field: string; column?: string; how: string }[]; unused: string[] } };
      expect({ read: summary.read, sent: summary.sent, dlq: summary.dlq, errors: summary.errors }).toEqual({ read: N + 3, sent: N, dlq: 3, errors: 0 });
      expect(summary.columns.matches.map((m) => `${m.column ?? '-'} > ${m.field} (${m.how})`)).toEqual(['Flight Date > flight_date (from)', 'Airport Name > airport (from)', 'Cost Total $ > cost_total (from)', '- > trip_id (none)']);
      expect(summary.columns.unused).toEqual(['Remarks']);
      const back = await cli(['consume', '--json', topic, '--from-beginning', '-n', String(N), '-c', CONFIG], { timeoutMs: 120_000 });
      expect(back.code).toBe(0);
      const events = back.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: { flight_date: string; airport: string; cost_total: number | null; trip_id: string } }).value);
      expect(events).toHaveLength(N);
      expect(new Set(events.map((e) => e.trip_id)).size).toBe(N);
      expect(events.filter((e) => e.cost_total === null)).toHaveLength(N / 5);
      expect(events.find((e) => e.trip_id === `${topic}.csv#9`)).toEqual({ flight_date: '2024-06-10T08:30:00.000Z', airport: 'Gate "2", Terminal', cost_total: 2.25, trip_id: `${topic}.csv#9` });
      const dlq = await cli(['consume', '--json', `${topic}.dlq`, '--from-beginning', '-n', '3', '-c', CONFIG], { timeoutMs: 120_000 });
      const reasons = dlq.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: { reason: string } }).value.reason).sort();
      expect(reasons).toEqual(['CSV row has 2 columns, the header has 4', expect.stringMatching(/^field "cost_total": expected double, got .*twelve/), 'missing required field "flight_date"']);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe('submit with dependencies and resources', () => {
  const repo = `/tmp/${randomName('itest-m2')}`;
  afterAll(() => cli(['exec', 'spark-1', '-c', CONFIG, '--', `rm -rf ${repo}`]));

  /**
   * --packages is resolved by spark-submit on the master node. Maven Central is reachable from
   * this machine's nodes only through a TLS-intercepting egress proxy whose CA the nodes' JVM does
   * not trust, so the package comes from a Maven repository laid out on the master node (put
   * there with copy-file) and named with spark.jars.repositories: the same resolution, offline.
   */
  async function mavenRepoOnMaster(dir: string): Promise<void> {
    const at = `${repo}/org/millrace/itest/conv-tiny/1.0`;
    expect((await cli(['exec', 'spark-1', '-c', CONFIG, '--', `mkdir -p ${at} && chmod -R 755 ${repo}`])).code).toBe(0);
    const pom = path.join(dir, 'conv-tiny-1.0.pom');
    fs.writeFileSync(pom, '<project><modelVersion>4.0.0</modelVersion><groupId>org.millrace.itest</groupId><artifactId>conv-tiny</artifactId><version>1.0</version><packaging>jar</packaging></project>\n');
    const jar = path.join(dir, 'conv-tiny-1.0.jar');
    tinyJar(jar, 'millrace/conv-tiny.txt', 'from a package');
    for (const f of [pom, jar]) expect((await cli(['copy-file', '-c', CONFIG, '--mode', '644', f, `spark-1:${at}/`])).code).toBe(0);
  }

  it('ships --py-files, --files and --jars, resolves --packages, and sets driver and executor memory and cores', async () => {
    const dir = path.join(work, 'job');
    fs.mkdirSync(dir);
    await mavenRepoOnMaster(dir);
    tinyJar(path.join(dir, 'conv-extra.jar'), 'millrace/conv-extra.txt', 'shipped with --jars');
    fs.writeFileSync(path.join(dir, 'conv_helper.py'), 'def greeting():\n    return "hello from conv_helper"\n');
    fs.writeFileSync(path.join(dir, 'conv_data.txt'), 'shipped-data-42\n');
    fs.writeFileSync(
      path.join(dir, 'conv_job.py'),
      `from pyspark import SparkFiles
from pyspark.sql import SparkSession
import conv_helper

spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
conf = sc.getConf()
print("HELPER", conv_helper.greeting())
with open(SparkFiles.get("conv_data.txt")) as f:
    print("DRIVER_FILE", f.read().strip())

def on_executor(_):
    import conv_helper as h
    from pyspark import SparkFiles as F
    with open(F.get("conv_data.txt")) as f:
        return [h.greeting() + "|" + f.read().strip()]

print("EXECUTOR", sc.parallelize([0], 1).mapPartitions(on_executor).collect()[0])

def executor_jars(_):
    import os
    from pyspark import SparkFiles as F
    return [",".join(sorted(f for f in os.listdir(F.getRootDirectory()) if f.endswith(".jar")))]

print("EXECUTOR_JARS", sc.parallelize([0], 1).mapPartitions(executor_jars).collect()[0])
print("CONF", conf.get("spark.executor.memory"), conf.get("spark.driver.memory"), conf.get("spark.cores.max"), conf.get("spark.executor.cores"))
print("DRIVER_HEAP_MB", sc._jvm.java.lang.Runtime.getRuntime().maxMemory() // (1024 * 1024))
for i in sc._jsc.sc().statusTracker().getExecutorInfos():
    print("STORAGE_MB", i.port(), i.totalOnHeapStorageMemory() // (1024 * 1024))
print("JARS", conf.get("spark.jars", ""))
spark.stop()
`,
    );
    const r = await cli(
      [
        'submit', '-c', CONFIG,
        '--py-files', path.join(dir, 'conv_helper.py'),
        '--files', path.join(dir, 'conv_data.txt'),
        '--jars', path.join(dir, 'conv-extra.jar'),
        '--packages', 'org.millrace.itest:conv-tiny:1.0',
        '--conf', `spark.jars.repositories=file://${repo}`,
        '--driver-memory', '512m', '--executor-memory', '768m', '--total-executor-cores', '1', '--executor-cores', '1',
        path.join(dir, 'conv_job.py'),
      ],
      { timeoutMs: 5 * 60_000 },
    );
    if (r.code !== 0) throw new Error(`submit failed (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
    const line = (tag: string): string => r.stdout.split('\n').find((l) => l.startsWith(`${tag} `))?.slice(tag.length + 1) ?? '';
    expect(line('HELPER')).toBe('hello from conv_helper');
    expect(line('DRIVER_FILE')).toBe('shipped-data-42');
    expect(line('EXECUTOR')).toBe('hello from conv_helper|shipped-data-42');
    expect(line('CONF')).toBe('768m 512m 1 1');
    // The JVMs really got those sizes: the driver's heap, and storage memory of (heap - 300 MiB) x 0.6 per JVM.
    const heap = Number(line('DRIVER_HEAP_MB'));
    expect(heap).toBeGreaterThan(400);
    expect(heap).toBeLessThanOrEqual(512);
    const storage = r.stdout.split('\n').filter((l) => l.startsWith('STORAGE_MB ')).map((l) => Number(l.split(' ')[2]));
    expect(storage).toHaveLength(2); // the driver and one executor
    expect(Math.max(...storage)).toBeGreaterThan(200); // the 768m executor: ~270 MiB (a 1g default would give ~430)
    expect(Math.max(...storage)).toBeLessThan(330);
    expect(Math.min(...storage)).toBeLessThan(150); // the 512m driver: ~120 MiB
    // The resolved package, the shipped jar and the Kafka connector jars, all on one --jars list.
    const jars = line('JARS').split(',');
    expect(jars.some((j) => j.endsWith('/org.millrace.itest_conv-tiny-1.0.jar'))).toBe(true);
    expect(jars.some((j) => j.endsWith('/deps/conv-extra.jar'))).toBe(true);
    expect(jars.some((j) => /spark-sql-kafka/.test(j))).toBe(true);
    const onExecutor = line('EXECUTOR_JARS').split(',');
    expect(onExecutor).toEqual(expect.arrayContaining(['org.millrace.itest_conv-tiny-1.0.jar', 'conv-extra.jar']));
  });

  it('refuses bad memory, a missing --files file and a file: URI before connecting, with exit 2', async () => {
    const job = path.join(REPO, 'spark-jobs/check_pi.py');
    const cases: [string[], string][] = [
      [['--executor-memory', '2 gigs'], 'error: --executor-memory 2 gigs: expected a size such as 512m or 2g'],
      [['--files', path.join(work, 'nope.csv')], `error: --files ${path.join(work, 'nope.csv')}: no such file on this machine`],
      [['--py-files', 'file:///tmp/x.py'], 'error: --py-files file:///tmp/x.py: a file: URI is ambiguous here'],
      [['--total-executor-cores', '0'], 'error: --total-executor-cores 0: expected a whole number of cores, 1 or more'],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['submit', '-c', CONFIG, ...flags, job]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});
