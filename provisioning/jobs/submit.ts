/**
 * Spark applications, run from the operator's machine with the driver on the Spark master node
 * (over SSH, as the spark user), so the operator needs neither Spark nor Java. The node's
 * spark-defaults.conf brings the security settings and the Kafka client settings; submit adds
 * the Kafka connector jars, the job's Python package and the pipeline spec.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { cmd, q } from '../../lib/shell';
import { type RemoteHost, runAs } from '../remote-host';
import type { ClusterFacts } from '../service';
import { HADOOP_CONF } from '../services/hadoop-conf';
import { APPS_DIR, masterUrl, PYTHON_UNBUFFERED, SPARK_CONF } from '../services/spark';
import type { Dependency, SubmitExtras } from './submit-options';

export { APPS_DIR };
/** A Python package next to a job (spark-jobs/millrace_pipeline/) ships with it as --py-files. */
export const JOB_PACKAGE = 'millrace_pipeline';
/** The line a driver prints once the master has accepted the application. */
const CONNECTED = /Connected to Spark cluster with app ID (app-[\w-]+)/;

export interface SubmitRequest {
  /** Local path of a .py or .jar file. */
  job: string;
  args: string[];
  /** A pipeline spec, already validated, given to the job as JSON with `--spec <path>`. */
  spec?: unknown;
  /** Jar entry point (--class) for .jar jobs. */
  mainClass?: string;
  name?: string;
  conf?: Record<string, string>;
  /** --py-files, --files, --jars, --packages and resources (see submit-options.ts). */
  extras?: SubmitExtras;
}

/** Where a submission's shipped files go on the node, beside the job. */
export const DEPS_DIR = 'deps';

export interface SubmitPlan {
  workDir: string;
  uploads: { path: string; content: Buffer | string }[];
  /** A shell command that runs on the master node as root and starts the driver as spark. */
  command: string;
  appName: string;
}

/** Pure: everything a submission puts on the node and the command that starts it. */
export function planSubmit(facts: ClusterFacts, req: SubmitRequest, id = crypto.randomBytes(3).toString('hex')): SubmitPlan {
  const base = path.basename(req.job);
  const isJar = base.endsWith('.jar');
  if (!isJar && !base.endsWith('.py')) throw new MillraceError(`${req.job}: a job is a .py or .jar file`, { hint: 'pass a PySpark script or an application jar' });
  const appName = req.name ?? base.replace(/\.(py|jar)$/, '');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const workDir = `${APPS_DIR}/${stamp}-${appName.replace(/[^\w.-]/g, '_')}-${id}`;
  const uploads: SubmitPlan['uploads'] = [{ path: `${workDir}/${base}`, content: fs.readFileSync(req.job) }];
  const pkgDir = path.join(path.dirname(req.job), JOB_PACKAGE);
  const withPackage = !isJar && fs.existsSync(path.join(pkgDir, '__init__.py'));
  if (withPackage)
    for (const f of fs.readdirSync(pkgDir).filter((f) => f.endsWith('.py'))) uploads.push({ path: `${workDir}/${JOB_PACKAGE}/${f}`, content: fs.readFileSync(path.join(pkgDir, f)) });
  const extras = req.extras;
  const shipped = (deps: Dependency[] = []): string[] =>
    deps.map((d) => {
      if ('uri' in d) return d.uri;
      const remote = `${workDir}/${DEPS_DIR}/${path.basename(d.local)}`;
      if (!uploads.some((u) => u.path === remote)) uploads.push({ path: remote, content: fs.readFileSync(d.local) });
      return remote;
    });
  const pyFiles = [...(withPackage ? [`${workDir}/${JOB_PACKAGE}.zip`] : []), ...shipped(extras?.pyFiles)];
  const files = shipped(extras?.files);
  const userJars = shipped(extras?.jars);
  const r = extras?.resources ?? {};
  const conf = { ...req.conf };
  // Resolved packages are cached on the master node across submissions (spark's home is not writable).
  if (extras?.packages.length && conf['spark.jars.ivy'] === undefined) conf['spark.jars.ivy'] = `${APPS_DIR}/.ivy2`;
  const args = [...req.args];
  if (req.spec !== undefined) {
    uploads.push({ path: `${workDir}/spec.json`, content: JSON.stringify(req.spec, null, 2) });
    args.push('--spec', `${workDir}/spec.json`);
  }
  const submit = [
    `${facts.home.spark}/bin/spark-submit`,
    '--master',
    masterUrl(facts),
    '--name',
    appName,
    ...Object.entries(conf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
    ...(isJar && req.mainClass ? ['--class', req.mainClass] : []),
    ...(r.driverMemory ? ['--driver-memory', r.driverMemory] : []),
    ...(r.executorMemory ? ['--executor-memory', r.executorMemory] : []),
    ...(r.totalExecutorCores ? ['--total-executor-cores', String(r.totalExecutorCores)] : []),
    ...(r.executorCores ? ['--executor-cores', String(r.executorCores)] : []),
    ...(extras?.packages.length ? ['--packages', extras.packages.join(',')] : []),
    ...(pyFiles.length ? ['--py-files', pyFiles.join(',')] : []),
    ...(files.length ? ['--files', files.join(',')] : []),
  ];
  const connectors = `${facts.home.spark}/connectors/kafka`;
  const command = [
    `cd ${q(workDir)}`,
    ...(withPackage ? [`python3 -m zipfile -c ${q(`${JOB_PACKAGE}.zip`)} ${q(`${JOB_PACKAGE}/`)}`] : []),
    `chown -R spark:spark ${q(workDir)}`,
    // The connector jars are found on the node, so a new Spark version needs no change here.
    `jars=$(ls ${q(connectors)}/*.jar 2>/dev/null | paste -sd, -)`,
    // spark-submit takes one --jars: the job's own jars join the connector jars.
    ...(userJars.length ? [`jars="\${jars:+$jars,}"${q(userJars.join(','))}`] : []),
    `exec ${runAs('spark', `${cmd('env', `SPARK_CONF_DIR=${SPARK_CONF}`, `HADOOP_CONF_DIR=${HADOOP_CONF}`, ...Object.entries(PYTHON_UNBUFFERED).map(([k, v]) => `${k}=${v}`))} ${cmd(...submit)} \${jars:+--jars "$jars"} ${cmd(`${workDir}/${base}`, ...args)}`)}`,
  ].join(' && ');
  return { workDir, uploads, command, appName };
}

async function upload(host: RemoteHost, plan: SubmitPlan): Promise<void> {
  const dirs = [...new Set([`${plan.workDir}/${JOB_PACKAGE}`, ...plan.uploads.map((u) => path.posix.dirname(u.path))])];
  await host.execOrThrow(`mkdir -p ${dirs.map(q).join(' ')} && chmod 700 ${q(plan.workDir)}`, { what: 'create the application directory' });
  for (const u of plan.uploads) await host.putFile(u.path, u.content, { mode: 0o600, owner: 'root' });
}

/** Runs the driver in the foreground, streaming its output; resolves with its exit code. */
export async function submitAttached(host: RemoteHost, plan: SubmitPlan, out: { stdout: (s: string) => void; stderr: (s: string) => void }): Promise<number> {
  await upload(host, plan);
  const r = await host.exec(plan.command, { onStdout: out.stdout, onStderr: out.stderr });
  return r.code ?? 1;
}

export interface Detached {
  appId?: string;
  workDir: string;
  pid: number;
  log: string;
}

/**
 * Starts the driver in its own session on the node, so it outlives the SSH connection, and
 * waits until the master has accepted it (or the driver died) to report its application id.
 */
export async function submitDetached(host: RemoteHost, plan: SubmitPlan, timeoutMs = 120_000): Promise<Detached> {
  await upload(host, plan);
  const log = `${plan.workDir}/driver.log`;
  const pid = Number(
    (await host.execOrThrow(`setsid sh -c ${q(plan.command)} > ${q(log)} 2>&1 < /dev/null & echo $! > ${q(`${plan.workDir}/driver.pid`)}; cat ${q(`${plan.workDir}/driver.pid`)}`)).trim(),
  );
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = (await host.exec(`cat ${q(log)}`)).stdout;
    const m = CONNECTED.exec(text);
    if (m?.[1]) {
      await host.exec(`echo ${q(m[1])} > ${q(`${plan.workDir}/app-id`)}`);
      return { appId: m[1], workDir: plan.workDir, pid, log };
    }
    if ((await host.exec(`kill -0 ${pid}`)).code !== 0)
      throw new MillraceError(`${host.name}: the driver of ${plan.appName} exited before the master accepted it:\n${text.trim().split('\n').slice(-12).join('\n')}`, {
        hint: `the whole log is ${log} on ${host.name} (millrace ssh ${host.name})`,
      });
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { workDir: plan.workDir, pid, log };
}
