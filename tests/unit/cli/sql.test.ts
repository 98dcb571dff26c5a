/** `millrace sql`: its output formats, the query's sources, the job's errors, and bad input to the built CLI. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatSqlResult, jobErrorText, queryText, SqlResult } from '../../../cli/commands/sql';
import { runCli, tempHome } from './built-cli';

const RESULT: SqlResult = {
  columns: [
    { name: 'origin', type: 'string' },
    { name: 'n', type: 'bigint' },
    { name: 'route', type: 'struct<a:string>' },
  ],
  rows: [
    ['MCI', 5, { a: 'x' }],
    ['say "hi", then\nleave', null, null],
  ],
  row_count: 2,
  truncated: false,
  tables: { events: '/lake/flights/events' },
};

describe('sql output', () => {
  it('prints an aligned table, NULL for nulls, objects as JSON, line breaks escaped, and the row count', () => {
    // One line per row: a line break inside a value is shown escaped.
    expect(formatSqlResult(RESULT, 'table', 1000).split('\n')).toEqual([
      'origin                 n     route',
      'MCI                    5     {"a":"x"}',
      'say "hi", then\\nleave  NULL  NULL',
      '(2 rows)',
    ]);
  });

  it('says when more rows exist than the limit', () => {
    expect(formatSqlResult({ ...RESULT, rows: [RESULT.rows[0]!], row_count: 1, truncated: true }, 'table', 1)).toMatch(/\(1 row; more exist: the first 1 are shown, raise --limit for more\)$/);
  });

  it('prints CSV with a header, quoting what needs it (RFC 4180), nulls empty', () => {
    expect(formatSqlResult(RESULT, 'csv', 1000)).toBe('origin,n,route\nMCI,5,"{""a"":""x""}"\n"say ""hi"", then\nleave",,');
  });
});

describe('sql query text', () => {
  it('takes the argument or a file, not both, and refuses an empty query', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'millrace-sql-test-'));
    try {
      const file = path.join(dir, 'q.sql');
      fs.writeFileSync(file, 'SELECT 1;\n');
      expect(queryText('SELECT 2', undefined)).toBe('SELECT 2');
      expect(queryText(undefined, file)).toBe('SELECT 1;\n');
      expect(() => queryText('SELECT 2', file)).toThrow(/not both/);
      expect(() => queryText(undefined, undefined)).toThrow(/no query/);
      expect(() => queryText(' ; ', undefined)).toThrow(/is empty/);
      expect(() => queryText(undefined, path.join(dir, 'missing.sql'))).toThrow(/missing.sql: no such file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the job's own error lines and drops Spark's log noise", () => {
    const stderr = [
      '26/12/04 10:00:00 INFO SparkContext: Running Spark version 4.0.1',
      "error: [TABLE_OR_VIEW_NOT_FOUND] The table or view `predictions` cannot be found.",
      "  the lake's tables for flights: events, quarantine",
      '26/12/04 10:00:01 INFO SparkContext: Successfully stopped SparkContext',
    ].join('\n');
    expect(jobErrorText(stderr)).toBe("[TABLE_OR_VIEW_NOT_FOUND] The table or view `predictions` cannot be found.\n  the lake's tables for flights: events, quarantine");
    expect(jobErrorText('INFO only\n')).toBe('');
    // As the command reads it: the driver's stdout (where spark-submit puts Python's stderr), then stderr.
    expect(jobErrorText(`MILLRACE_PROGRESS {}\n${stderr}\n\nINFO ShutdownHookManager: Shutdown hook called`)).toMatch(/^\[TABLE_OR_VIEW_NOT_FOUND\][^\n]*\n {2}the lake's tables for flights: events, quarantine$/);
  });
});

describe('sql bad input (built CLI): exit 2 before any connection', () => {
  let home: string;
  beforeAll(() => (home = tempHome('millrace-sql-')));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it.each([
    [['sql', '--json'], /--json is for a query's result; with no query, millrace sql opens spark-sql/],
    [['sql', '--format', 'csv', '--limit', '5'], /--format and --limit are for a query's result/],
    [['sql', '--format', 'xml', 'SELECT 1'], /--format xml: expected one of table, csv, json/],
    [['sql', '--limit', '0', 'SELECT 1'], /--limit 0: expected a whole number of rows/],
    [['sql', '--file', 'nope.sql'], /--file nope.sql: no such file/],
    [['sql', '--spec', 'nope.yaml', 'SELECT 1'], /nope.yaml/],
  ])('millrace %j', (args, message) => {
    const r = runCli(home, args as string[]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
  });
});
