import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { csvFileSource, CsvRow, csvRows } from '../../../producers/sources/csv-file';
import { parseHttpBody } from '../../../producers/sources/http';
import { jsonlFileSource, parseJsonLine } from '../../../producers/sources/jsonl';
import { planSource } from '../../../producers/sources/open';
import type { RecordSource, SourceItem } from '../../../producers/sources/types';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-sources-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function readAll(source: RecordSource, skip = 0): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read({ skip, signal: new AbortController().signal })) items.push(item);
  return items;
}

async function parse(chunks: string[]): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const r of csvRows(Readable.from(chunks))) rows.push(r);
  return rows;
}

describe('CSV rows (csv-parse)', () => {
  it('handles quoted commas, doubled quotes, line breaks in quotes, CRLF and blank lines', async () => {
    const rows = await parse(['a,b,c\r\n', '"x, y","say ""hi""",3\n', '\n   \n', '"multi\nline",,"",\n', 'last,row,no-newline']);
    expect(rows.map((r) => r.cells)).toEqual([['a', 'b', 'c'], ['x, y', 'say "hi"', '3'], ['multi\nline', '', '', ''], ['last', 'row', 'no-newline']]);
    expect(rows[1]!.raw).toBe('"x, y","say ""hi""",3');
    expect(rows.every((r) => r.error === undefined)).toBe(true);
  });

  it('gives the same rows whatever the chunk boundaries', async () => {
    const text = 'a,b\r\n"1,\r\n2","q""q"\r\n3,4\r\n';
    const whole = await parse([text]);
    for (let cut = 1; cut < text.length; cut++) expect(await parse([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(whole.map((r) => r.cells)).toEqual([['a', 'b'], ['1,\r\n2', 'q"q'], ['3', '4']]);
  });

  it('keeps a stray quote as text, so the row stays whole and the rows after it are read; a quote never closed is a row with an error, in its place', async () => {
    expect(await parse(['"ab"c,d\n', 'ok,row\n', 'x,"never closed\n'])).toEqual([
      { cells: ['"ab"c', 'd'], raw: '"ab"c,d' },
      { cells: ['ok', 'row'], raw: 'ok,row' },
      { cells: [], raw: 'x,"never closed', error: expect.stringMatching(/^CSV: Quote Not Closed/) },
    ]);
  });
});

describe('CSV file source', () => {
  it('keys cells by the header, counts positions past blank lines, and reports bad rows for the DLQ', async () => {
    const file = write('flights.csv', '\uFEFFdate,delay,origin\n2001-01-01T00:01,33,"LAS"\n\n2001-01-01T00:02,"1,5",ATL\nonly,two\n2001-01-01T00:03,"7"x,SFO\n2001-01-01T00:04,8,PHL\n');
    const source = csvFileSource(file);
    expect(source.name).toBe('flights.csv');
    expect(source.textValues).toBe(true);
    expect(await readAll(source)).toEqual([
      { position: 0, record: { date: '2001-01-01T00:01', delay: '33', origin: 'LAS' } },
      { position: 1, record: { date: '2001-01-01T00:02', delay: '1,5', origin: 'ATL' } },
      { position: 2, unparseable: 'CSV row has 2 columns, the header has 3', raw: 'only,two' },
      // A stray quote stays in the cell: the value, not the row, is what the spec refuses (validate.ts).
      { position: 3, record: { date: '2001-01-01T00:03', delay: '"7"x', origin: 'SFO' } },
      { position: 4, record: { date: '2001-01-01T00:04', delay: '8', origin: 'PHL' } },
    ]);
    expect((await readAll(source, 3)).map((i) => i.position)).toEqual([3, 4]);
  });
});

describe('JSON Lines', () => {
  it('parses objects and reports what is not one', () => {
    expect(parseJsonLine('{"a":1}')).toEqual({ record: { a: 1 } });
    expect(parseJsonLine('[1,2]')).toEqual({ unparseable: 'not a JSON object (got array)', raw: '[1,2]' });
    expect(parseJsonLine('null')).toEqual({ unparseable: 'not a JSON object (got null)', raw: 'null' });
    expect(parseJsonLine('42')).toEqual({ unparseable: 'not a JSON object (got number)', raw: '42' });
    let message = '';
    try {
      JSON.parse('{"a":');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(parseJsonLine('{"a":')).toEqual({ unparseable: `invalid JSON: ${message}`, raw: '{"a":' });
  });

  it('streams a file, skipping blank lines without using up positions', async () => {
    const file = write('events.jsonl', '{"a":1}\n\n  \n{"a":2}\r\nnot json\n{"a":3}');
    expect(await readAll(jsonlFileSource(file))).toEqual([
      { position: 0, record: { a: 1 } },
      { position: 1, record: { a: 2 } },
      { position: 2, unparseable: expect.stringMatching(/^invalid JSON: /), raw: 'not json' },
      { position: 3, record: { a: 3 } },
    ]);
    expect(await readAll(jsonlFileSource(file), 3)).toEqual([{ position: 3, record: { a: 3 } }]);
  });

  it('reads HTTP bodies as a JSON array or as JSON Lines', () => {
    expect(parseHttpBody('[{"a":1}, 2]')).toEqual([{ record: { a: 1 } }, { unparseable: 'not a JSON object (got number)', raw: '2' }]);
    expect(parseHttpBody('{"a":1}\n{"a":2}\n')).toEqual([{ record: { a: 1 } }, { record: { a: 2 } }]);
    expect(parseHttpBody('  ')).toEqual([]);
  });
});

describe('planSource', () => {
  it('infers the format from the extension, and names synthetic, URLs and vega files', () => {
    expect(planSource('a/b.JSONL')).toEqual({ kind: 'file', path: 'a/b.JSONL', format: 'jsonl' });
    expect(planSource('x.ndjson')).toMatchObject({ format: 'jsonl' });
    expect(planSource('x.csv')).toMatchObject({ format: 'csv' });
    expect(planSource('x.data', 'csv')).toMatchObject({ format: 'csv' });
    expect(planSource('synthetic')).toEqual({ kind: 'synthetic' });
    expect(planSource('https://example.test/feed')).toEqual({ kind: 'http', url: 'https://example.test/feed' });
    expect(planSource('vega:flights-3m.parquet')).toMatchObject({ kind: 'file', format: 'parquet', path: expect.stringMatching(/vega-datasets[/\\]data[/\\]flights-3m\.parquet$/) });
  });

  it('asks for --format when the extension says nothing', () => {
    expect(() => planSource('data.txt')).toThrow('cannot tell the format of data.txt from its extension');
    expect(() => planSource('x.txt', 'xml')).toThrow('--format xml is not one of jsonl, json, csv, parquet');
  });
});
