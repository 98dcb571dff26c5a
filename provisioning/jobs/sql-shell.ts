/**
 * `millrace sql` with no query: Spark's own SQL shell (bin/spark-sql) on the Spark master node,
 * as spark, with the pipeline's lake tables already there as views. The shell is the same client
 * as a submitted job (spark-defaults.conf brings the security settings), with an in-memory
 * catalog: the views live as long as the session, and no Hive metastore is made anywhere.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { cmd, q } from '../../lib/shell';
import { type RemoteHost, runAs } from '../remote-host';
import type { ClusterFacts } from '../service';
import { HADOOP_CONF, LAKE } from '../services/hadoop-conf';
import { APPS_DIR, masterUrl, SPARK_CONF } from '../services/spark';
import { clientFsShell } from '../verify/hdfs';

/** The lake's tables a session sees, in this order (the same as spark-jobs/sql.py's). */
export const LAKE_TABLES = ['events', 'quarantine', 'predictions', 'quality'] as const;

/** A pipeline's part of the lake: one directory per table. */
export function pipelineLake(pipeline: string): string {
  return `${LAKE}/${pipeline}`;
}

/** A Spark SQL string literal (backslash is its escape character). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The statements the shell runs first: each table a temporary view over its Parquet directory,
 * then column names on for the answers (turned on last, so the views print nothing).
 */
export function sqlShellInit(tables: Record<string, string>): string {
  return [...Object.entries(tables).map(([name, dir]) => `CREATE OR REPLACE TEMPORARY VIEW ${name} USING parquet OPTIONS (path ${sqlString(dir)});`), 'SET spark.sql.cli.print.header=true;']
    .map((l) => `${l}\n`)
    .join('');
}

/**
 * The tables there are, from `hdfs dfs -ls -C <pipeline's lake>` (one path per line): those of
 * LAKE_TABLES that are directories there. A pipeline with nothing landed yet has none.
 */
export function tablesIn(listing: string, root: string): Record<string, string> {
  const present = new Set(
    listing
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((p) => path.posix.basename(p)),
  );
  return Object.fromEntries(LAKE_TABLES.filter((t) => present.has(t)).map((t) => [t, `${root}/${t}`]));
}

/**
 * The session driver's log configuration: warnings and errors to stderr, so that stdout holds the
 * answers alone (the node's log4j2.properties sends the daemons' logs to stdout, for the journal).
 * Hadoop's native-code and OpenSSL-cipher fallbacks are expected here (the PyPI Spark carries no
 * native Hadoop; the JCE cipher is used): their warnings, with a stack trace, are left out.
 */
export const SHELL_LOG4J = [
  '# Rendered by millrace for one spark-sql session: the driver logs to stderr.',
  'rootLogger.level = warn',
  'rootLogger.appenderRef.stderr.ref = console',
  'appender.console.type = Console',
  'appender.console.name = console',
  'appender.console.target = SYSTEM_ERR',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex',
  'logger.native.name = org.apache.hadoop.util.NativeCodeLoader',
  'logger.native.level = error',
  'logger.cipher.name = org.apache.hadoop.crypto.OpensslCipher',
  'logger.cipher.level = error',
  '',
].join('\n');

export interface SqlShellPlan {
  workDir: string;
  init: { path: string; content: string };
  log4j: { path: string; content: string };
  /** The shell command that runs on the master node as root and execs spark-sql as spark. */
  command: string;
  appName: string;
}

/** Pure: the session's directory, its init file and the command that starts the shell. */
export function planSqlShell(facts: ClusterFacts, pipeline: string, tables: Record<string, string>, id = crypto.randomBytes(3).toString('hex')): SqlShellPlan {
  const appName = `millrace-sql-${pipeline}`;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const workDir = `${APPS_DIR}/${stamp}-${appName.replace(/[^\w.-]/g, '_')}-${id}`;
  const init = { path: `${workDir}/init.sql`, content: sqlShellInit(tables) };
  const log4j = { path: `${workDir}/log4j2.properties`, content: SHELL_LOG4J };
  const shell = [
    `${facts.home.spark}/bin/spark-sql`,
    '--master',
    masterUrl(facts),
    '--name',
    appName,
    // As `millrace sql <query>` runs: two cores, UTC, and no metastore (the views are the session's).
    ...['spark.cores.max=2', 'spark.sql.session.timeZone=UTC', 'spark.sql.catalogImplementation=in-memory'].flatMap((c) => ['--conf', c]),
    '--driver-java-options',
    `-Dlog4j2.configurationFile=${log4j.path}`,
    '-i',
    init.path,
  ];
  const command = [
    `chown -R spark:spark ${q(workDir)}`,
    `cd ${q(workDir)}`,
    `exec ${runAs('spark', `${cmd('env', `SPARK_CONF_DIR=${SPARK_CONF}`, `HADOOP_CONF_DIR=${HADOOP_CONF}`)} ${cmd(...shell)}`)}`,
  ].join(' && ');
  return { workDir, init, log4j, command, appName };
}

/** Lists the pipeline's tables on the node as spark, and writes the session's init file there. */
export async function prepareSqlShell(host: RemoteHost, facts: ClusterFacts, pipeline: string): Promise<SqlShellPlan & { tables: Record<string, string> }> {
  const root = pipelineLake(pipeline);
  const r = await host.exec(clientFsShell(facts, 'spark', '-ls', '-C', root));
  if (r.code !== 0 && !/No such file or directory/.test(r.stderr))
    throw new MillraceError(`listing ${root} as spark on ${host.name} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`, {
      hint: 'check the HDFS service with `millrace status`, and the lake with `millrace hdfs -- -ls /lake`',
    });
  const tables = r.code === 0 ? tablesIn(r.stdout, root) : {};
  const plan = planSqlShell(facts, pipeline, tables);
  await host.execOrThrow(`mkdir -p ${q(plan.workDir)} && chmod 700 ${q(plan.workDir)}`, { what: 'create the session directory' });
  for (const f of [plan.init, plan.log4j]) await host.putFile(f.path, f.content, { mode: 0o600, owner: 'root' });
  return { ...plan, tables };
}
