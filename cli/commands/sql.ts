/** `millrace sql`: Spark SQL over the lake's tables, run as a Spark job on the cluster (spark-jobs/sql.py). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { assetPath } from '../../lib/assets';
import { UsageError } from '../../lib/errors';
import { loadPipelineSpec } from '../../lib/pipeline-spec';
import { configFor, globals, output } from '../context';
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

export function registerSql(program: Command): void {
  program
    .command('sql [query]')
    .description("run a Spark SQL query over the lake's tables (events, quarantine, predictions, quality) on the cluster and print the rows")
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

Output: an aligned table with a row count (NULL for nulls), CSV with a header line, or JSON
({columns: [{name, type}], rows: [[...]], row_count, truncated, tables}). Timestamps are UTC in
ISO 8601, decimals are text. Exit codes: 0 done, 1 the job failed, 2 a bad query or option.

Examples:
  millrace sql "SELECT count(*) AS events FROM events"
  millrace sql --format csv "SELECT origin, avg(delay) AS delay FROM events GROUP BY origin ORDER BY delay DESC" > delays.csv
  millrace sql --file daily.sql --json | jq '.rows'`,
    )
    .action(async function (this: Command, query: string | undefined, opts: { spec: string; file?: string; format: string; limit: string }) {
      // Everything is checked before connecting.
      const format = (globals(this).json ? 'json' : opts.format) as SqlFormat;
      if (!SQL_FORMATS.includes(format)) throw new UsageError(`--format ${opts.format}: expected one of ${SQL_FORMATS.join(', ')}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${opts.limit}: expected a whole number of rows, at least 1`);
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
