/** `millrace sql`: Spark SQL over the lake's tables, run as a Spark job on the cluster (spark-jobs/sql.py). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { assetPath } from '../../lib/assets';
import type { ClusterConfig } from '../../lib/config';
import { MillraceError, UsageError } from '../../lib/errors';
import { readInventory } from '../../lib/inventory';
import { loadPipelineSpec, type PipelineSpec } from '../../lib/pipeline-spec';
import { prepareSqlShell } from '../../provisioning/jobs/sql-shell';
import { configFor, globals, output } from '../context';
import { onMaster } from './jobs';
import { sshSession } from './ops';
import { runJobForResult } from '../spark-job';
import { formatTable } from '../table';

export interface SqlResult {
  columns: { name: string; type: string }[];
  /** Rows as lists in column order; values as sql.py makes them JSON (timestamps, decimals as text). */
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  /** Each registered table and its path in the lake. */
  tables: Record<string, string>;
}

export const SQL_FORMATS = ['table', 'csv', 'json'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

const cellText = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(v: unknown): string {
  const s = cellText(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The result as text: an aligned table (NULL for nulls) with a row count, or CSV with a header. */
export function formatSqlResult(r: SqlResult, format: Exclude<SqlFormat, 'json'>, limit: number): string {
  if (format === 'csv') return [r.columns.map((c) => csvField(c.name)), ...r.rows.map((row) => row.map(csvField))].map((l) => l.join(',')).join('\n');
  // One line per row: line breaks and tabs inside a value are shown escaped.
  const cell = (v: unknown): string => (v === null ? 'NULL' : cellText(v).replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t'));
  const body = formatTable([r.columns.map((c) => c.name), ...r.rows.map((row) => row.map(cell))]);
  const count = `(${r.row_count.toLocaleString('en-US')} row${r.row_count === 1 ? '' : 's'}${r.truncated ? `; more exist: the first ${limit.toLocaleString('en-US')} are shown, raise --limit for more` : ''})`;
  return `${body}\n${count}`;
}

/** The query from the argument or the file, checked before any connection is made. */
export function queryText(query: string | undefined, file: string | undefined): string {
  if (query !== undefined && file !== undefined) throw new UsageError('give the query as an argument or with --file, not both');
  let text = query;
  if (file !== undefined) {
    try {
      text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      throw new UsageError(`--file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { hint: 'pass the path of a file holding one SQL statement, or - for stdin' });
    }
  }
  if (text === undefined) throw new UsageError('no query', { hint: 'e.g. millrace sql "SELECT count(*) FROM events", or --file query.sql' });
  if (!text.trim().replace(/;\s*$/, '').trim()) throw new UsageError(`the query${file !== undefined ? ` in ${file}` : ''} is empty`);
  return text;
}

export { jobErrorText } from '../spark-job';

/** The options that shape a query's printed result, which a session (spark-sql prints its own) does not take. */
export function sessionRefuses(given: { format?: boolean; limit?: boolean; json?: boolean }): string[] {
  return [...(given.json ? ['--json'] : []), ...(given.format ? ['--format'] : []), ...(given.limit ? ['--limit'] : [])];
}

/**
 * `millrace sql` with no query: spark-sql on the Spark master node over SSH, the lake's tables
 * already views. On a terminal the session gets one on the node (line editing, history, Ctrl-C
 * cancels a statement); otherwise the statements come from stdin, and the answers go to stdout.
 */
async function sqlSession(config: ClusterConfig, spec: PipelineSpec): Promise<void> {
  const plan = await onMaster(config, (facts, master) => prepareSqlShell(master, facts, spec.name).then((p) => ({ ...p, command: master.rootCommand(p.command), node: master.name })));
  const node = readInventory(config.name).nodes.find((n) => n.name === plan.node)!;
  const tables = Object.keys(plan.tables);
  const tty = !!process.stdin.isTTY;
  process.stderr.write(
    `spark-sql on ${node.name} as spark, over the lake of ${spec.name}: ${tables.length ? tables.join(', ') : 'no tables yet (nothing has landed)'}\n` +
      (tty ? 'End each statement with ; and leave with quit; or Ctrl-D. The first statement waits for the application to start.\n' : ''),
  );
  const status = sshSession(config, node, [plan.command], { tty });
  if (status !== 0)
    throw new MillraceError(`the spark-sql session on ${node.name} ${status === null ? 'ended by a signal' : `exited with ${status}`}`, {
      hint: `its directory is ${plan.workDir} on ${node.name}; \`millrace logs ${node.name} spark-master\` shows the master's side`,
    });
}

export function registerSql(program: Command): void {
  program
    .command('sql [query]')
    .description("run a Spark SQL query over the lake's tables (events, quarantine, predictions, quality) on the cluster and print the rows; with no query, open spark-sql there")
    .option('--spec <pipeline.yaml>', "the pipeline whose tables are queried", assetPath('examples/pipelines/flights.yaml'))
    .option('-f, --file <query.sql>', 'read the query from a file (- for stdin) instead of the argument')
    .option('--format <format>', `output format: ${SQL_FORMATS.join(', ')} (--json is the same as --format json)`, 'table')
    .option('--limit <n>', 'at most this many rows are fetched and printed', '1000')
    .addHelpText(
      'after',
      `
The query runs as a Spark application with the driver on the Spark master node, as the pipeline's
principal, over the pipeline's part of the lake: each table is a view over its Parquet directory
(events, quarantine, predictions, and quality once it exists). A table with no data yet is not
there; the error says which tables are. One statement per run.

With no query and no --file, it opens Spark's own SQL shell (spark-sql) on the Spark master node
over SSH, as spark, with the same tables as views. On a terminal it is interactive; with stdin
redirected it runs the statements it reads (each ending with ;) and prints their answers.

Output: an aligned table with a row count (NULL for nulls), CSV with a header line, or JSON
({columns: [{name, type}], rows: [[...]], row_count, truncated, tables}). Timestamps are UTC in
ISO 8601, decimals are text. Exit codes: 0 done, 1 the job failed, 2 a bad query or option.

Examples:
  millrace sql "SELECT count(*) AS events FROM events"
  millrace sql --format csv "SELECT origin, avg(delay) AS delay FROM events GROUP BY origin ORDER BY delay DESC" > delays.csv
  millrace sql --file daily.sql --json | jq '.rows'
  millrace sql                                   # spark-sql on the master node
  echo 'SELECT count(*) FROM events;' | millrace sql`,
    )
    .action(async function (this: Command, query: string | undefined, opts: { spec: string; file?: string; format: string; limit: string }) {
      // Everything is checked before connecting.
      const format = (globals(this).json ? 'json' : opts.format) as SqlFormat;
      if (!SQL_FORMATS.includes(format)) throw new UsageError(`--format ${opts.format}: expected one of ${SQL_FORMATS.join(', ')}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${opts.limit}: expected a whole number of rows, at least 1`);
      if (query === undefined && opts.file === undefined) {
        const refused = sessionRefuses({ json: globals(this).json, format: this.getOptionValueSource('format') === 'cli', limit: this.getOptionValueSource('limit') === 'cli' });
        if (refused.length)
          throw new UsageError(`${refused.join(' and ')} ${refused.length > 1 ? 'are' : 'is'} for a query's result; with no query, millrace sql opens spark-sql, which prints its own`, {
            hint: 'give the query as an argument or with --file, e.g. millrace sql --json "SELECT count(*) FROM events"',
          });
        return sqlSession(configFor(this), loadPipelineSpec(path.resolve(opts.spec)));
      }
      const text = queryText(query, opts.file);
      const spec = loadPipelineSpec(path.resolve(opts.spec));
      const config = configFor(this);
      // As base64, so no shell on the way quotes the query's text.
      const args = ['--query-b64', Buffer.from(text, 'utf8').toString('base64'), '--limit', String(limit)];
      const result = await runJobForResult<SqlResult>(config, {
        job: 'sql.py',
        args,
        spec,
        name: `millrace-sql-${spec.name}`,
        what: 'the query',
        usageHint: `the query's tables are those of the pipeline ${spec.name} (--spec)`,
        resultKey: 'columns',
      });
      if (format !== 'json') process.stdout.write(formatSqlResult(result, format, limit) + '\n');
      else if (globals(this).json) output(this, '', result);
      else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    });
}
