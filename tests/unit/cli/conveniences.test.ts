/** issue 11's node and Spark conveniences: copy-file's arguments, exec's line prefixes, submit's dependency and resource flags. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadTargets, parseMode, parseOwner, planCopy } from '../../../cli/commands/copy-file';
import { LinePrefixer, selectNodes } from '../../../cli/commands/ops';
import { UsageError } from '../../../lib/errors';
import type { Inventory } from '../../../lib/inventory';
import { planSubmit } from '../../../provisioning/jobs/submit';
import { parseMemory, parseSubmitExtras } from '../../../provisioning/jobs/submit-options';
import { factsFor } from '../../fixtures/facts';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-conv-cli-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('copy-file arguments', () => {
  it('tells the nodes\' side (<where>:/abs) from a local path, and refuses two of a kind', () => {
    expect(planCopy('./app.conf', 'kafka:/etc/app.conf')).toEqual({ direction: 'up', local: './app.conf', where: 'kafka', remote: '/etc/app.conf' });
    expect(planCopy('kafka-1:/var/log/x.log', 'out/')).toEqual({ direction: 'down', where: 'kafka-1', remote: '/var/log/x.log', local: 'out/' });
    expect(planCopy('./a:b', 'all:/tmp/')).toMatchObject({ direction: 'up', local: './a:b', where: 'all' });
    expect(usage(() => planCopy('a', 'b')).message).toBe('neither a nor b names nodes');
    expect(usage(() => planCopy('kafka-1:/a', 'spark-1:/b')).message).toBe('copy-file copies between this machine and nodes, not between nodes');
    expect(usage(() => planCopy('x', 'kafka-1:tmp/x')).message).toBe('kafka-1:tmp/x: the path on the nodes must be absolute');
  });

  it('checks --mode and --owner', () => {
    expect(parseMode('644')).toBe(0o644);
    expect(parseMode('0600')).toBe(0o600);
    expect(usage(() => parseMode('888')).message).toBe('--mode 888: expected octal permission bits such as 644 or 0600');
    expect(usage(() => parseMode('4755')).exitCode).toBe(2);
    expect(parseOwner('kafka')).toEqual({ owner: 'kafka', group: 'kafka' });
    expect(parseOwner('spark:hadoop')).toEqual({ owner: 'spark', group: 'hadoop' });
    expect(usage(() => parseOwner('root; rm -rf /')).message).toBe('--owner root; rm -rf /: expected user or user:group');
  });

  it('puts one node\'s download where asked and several into per-node directories', () => {
    const file = path.join(dir, 'f.txt');
    fs.writeFileSync(file, 'x');
    expect(downloadTargets(dir, '/etc/hosts', ['kafka-1'])).toEqual([{ node: 'kafka-1', path: path.join(dir, 'hosts') }]);
    expect(downloadTargets(path.join(dir, 'h'), '/etc/hosts', ['kafka-1'])).toEqual([{ node: 'kafka-1', path: path.join(dir, 'h') }]);
    expect(usage(() => downloadTargets(path.join(dir, 'no/such/h'), '/etc/hosts', ['kafka-1'])).message).toBe(`${path.join(dir, 'no/such')}: no such directory here`);
    expect(downloadTargets(path.join(dir, 'all'), '/etc/hosts', ['a', 'b'])).toEqual([
      { node: 'a', path: path.join(dir, 'all', 'a', 'hosts'), mkdir: path.join(dir, 'all', 'a') },
      { node: 'b', path: path.join(dir, 'all', 'b', 'hosts'), mkdir: path.join(dir, 'all', 'b') },
    ]);
    expect(usage(() => downloadTargets(file, '/etc/hosts', ['a', 'b'])).message).toMatch(/is a file, and copying from 2 nodes needs a directory/);
  });

  it('selects nodes by name, role or all, and names what exists when nothing matches', () => {
    const inv = {
      cluster: 'demo',
      nodes: [
        { name: 'kafka-1', roles: ['kafka'] },
        { name: 'spark-1', roles: ['spark-master', 'spark-worker'] },
      ],
    } as unknown as Inventory;
    expect(selectNodes(inv, 'all').map((n) => n.name)).toEqual(['kafka-1', 'spark-1']);
    expect(selectNodes(inv, 'spark-worker').map((n) => n.name)).toEqual(['spark-1']);
    expect(usage(() => selectNodes(inv, 'datanode')).message).toBe('no node of cluster demo has the role datanode');
    const unknown = usage(() => selectNodes(inv, 'kafka-9'));
    expect(unknown.message).toBe('no node named "kafka-9" in cluster demo');
    expect(unknown.hint).toMatch(/^name a node \(kafka-1, spark-1\), a role \(kafka, .*\) or all$/);
  });
});

describe('exec line prefixes', () => {
  it('writes whole lines with the node\'s prefix, however the chunks are cut, and the last partial line at the end', () => {
    const out: string[] = [];
    const p = new LinePrefixer('kafka-1 | ', (s) => out.push(s));
    p.push('one\ntw');
    p.push('o\n');
    p.push('three');
    expect(out).toEqual(['kafka-1 | one\n', 'kafka-1 | two\n']);
    p.end();
    expect(out.join('')).toBe('kafka-1 | one\nkafka-1 | two\nkafka-1 | three\n');
    const raw: string[] = [];
    const pass = new LinePrefixer('', (s) => raw.push(s));
    pass.push('no newline');
    pass.end();
    expect(raw).toEqual(['no newline']);
  });
});

describe('submit dependency and resource flags', () => {
  it('validates memory sizes, cores and Maven coordinates up front (exit 2)', () => {
    expect(parseMemory('--driver-memory', '512m')).toBe('512m');
    expect(parseMemory('--driver-memory', '2GB')).toBe('2g');
    for (const bad of ['512', '2 gigs', '-1g', '0m', '1.5g'])
      expect(usage(() => parseSubmitExtras({ executorMemory: bad })).message).toBe(`--executor-memory ${bad}: expected a size such as 512m or 2g`);
    expect(usage(() => parseSubmitExtras({ totalExecutorCores: '0' })).message).toBe('--total-executor-cores 0: expected a whole number of cores, 1 or more');
    expect(usage(() => parseSubmitExtras({ executorCores: 'two' })).exitCode).toBe(2);
    expect(usage(() => parseSubmitExtras({ totalExecutorCores: '1', executorCores: '2' })).message).toBe('--executor-cores 2 is more than --total-executor-cores 1');
    expect(usage(() => parseSubmitExtras({ packages: ['commons-lang3'] })).message).toBe('--packages commons-lang3: expected Maven coordinates group:artifact:version');
    expect(parseSubmitExtras({ packages: ['a.b:c:1.0,d:e:2.0', 'a.b:c:1.0'] }).packages).toEqual(['a.b:c:1.0', 'd:e:2.0']);
  });

  it('takes local files (which must exist) and URIs, and refuses file: and clashing names', () => {
    const helper = path.join(dir, 'helper.py');
    const data = path.join(dir, 'lookup.csv');
    fs.writeFileSync(helper, 'X = 1\n');
    fs.writeFileSync(data, 'a,b\n');
    const e = parseSubmitExtras({ pyFiles: [helper], files: [`${data},hdfs:///data/x.csv`], jars: ['local:/opt/x.jar'] });
    expect(e.pyFiles).toEqual([{ local: helper }]);
    expect(e.files).toEqual([{ local: data }, { uri: 'hdfs:///data/x.csv' }]);
    expect(e.jars).toEqual([{ uri: 'local:/opt/x.jar' }]);
    const missing = usage(() => parseSubmitExtras({ files: ['/no/such/file.csv'] }));
    expect(missing.message).toBe('--files /no/such/file.csv: no such file on this machine');
    expect(missing.hint).toMatch(/local:\/path/);
    expect(usage(() => parseSubmitExtras({ jars: [helper] })).message).toBe(`--jars ${helper}: expected a .jar file`);
    expect(usage(() => parseSubmitExtras({ pyFiles: [dir] })).message).toBe(`--py-files ${dir} is not a regular file`);
    expect(usage(() => parseSubmitExtras({ files: ['file:///etc/hosts'] })).message).toBe('--files file:///etc/hosts: a file: URI is ambiguous here');
    fs.mkdirSync(path.join(dir, 'other'));
    fs.writeFileSync(path.join(dir, 'other', 'lookup.csv'), '');
    expect(usage(() => parseSubmitExtras({ files: [data, path.join(dir, 'other', 'lookup.csv')] })).message).toMatch(/^two files named lookup.csv/);
  });

  it('uploads local files beside the job and passes everything to spark-submit, the job package and connector jars included', () => {
    const helper = path.join(dir, 'helper.py');
    const data = path.join(dir, 'lookup.csv');
    const jar = path.join(dir, 'udf.jar');
    fs.writeFileSync(jar, 'PK');
    const extras = parseSubmitExtras({
      pyFiles: [helper],
      files: [data],
      jars: [jar, 'hdfs:///jars/x.jar'],
      packages: ['com.google.code.findbugs:jsr305:3.0.2'],
      driverMemory: '512m',
      executorMemory: '1g',
      totalExecutorCores: '2',
      executorCores: '1',
    });
    const plan = planSubmit(factsFor(), { job: path.resolve('spark-jobs/lake_stats.py'), args: [], extras }, 'abc123');
    const w = plan.workDir;
    expect(plan.uploads.map((u) => u.path)).toEqual(expect.arrayContaining([`${w}/deps/helper.py`, `${w}/deps/lookup.csv`, `${w}/deps/udf.jar`]));
    expect(plan.uploads.find((u) => u.path === `${w}/deps/helper.py`)!.content.toString()).toBe('X = 1\n');
    expect(plan.command).toContain(
      `--conf spark.jars.ivy=/var/lib/millrace/spark/apps/.ivy2 --driver-memory 512m --executor-memory 1g --total-executor-cores 2 --executor-cores 1 --packages com.google.code.findbugs:jsr305:3.0.2 --py-files ${w}/millrace_pipeline.zip,${w}/deps/helper.py --files ${w}/deps/lookup.csv`,
    );
    const join = `jars="\${jars:+$jars,}"${w}/deps/udf.jar,hdfs:///jars/x.jar && exec runuser`;
    expect(plan.command).toContain(join);
    // What the shell makes of it: the connector jars first, then the job's.
    expect(execFileSync('sh', ['-c', `jars=/c/a.jar,/c/b.jar && ${join.replace(/ && exec runuser$/, '')} && printf %s "$jars"`]).toString()).toBe(`/c/a.jar,/c/b.jar,${w}/deps/udf.jar,hdfs:///jars/x.jar`);
    expect(execFileSync('sh', ['-c', `jars= && ${join.replace(/ && exec runuser$/, '')} && printf %s "$jars"`]).toString()).toBe(`${w}/deps/udf.jar,hdfs:///jars/x.jar`);
    expect(plan.command).toContain('${jars:+--jars "$jars"}');
  });
});
