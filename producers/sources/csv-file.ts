/**
 * A CSV file with a header row, streamed through csv-parse (RFC 4180: quoted cells may hold
 * commas, doubled quotes and line breaks). A malformed row goes to the dead-letter topic as it
 * stood in the file, with the reason; the rows after it are read as usual.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { UsageError } from '../../lib/errors';
import type { ReadOptions, RecordSource, SourceItem } from './types';

/** One parsed row: its cells and its text as it stood in the file (without the line ending). */
export interface CsvRow {
  cells: string[];
  raw: string;
  error?: string;
}

/** Turns parsed rows into records keyed by the header; a row of the wrong width is unparseable. */
export function csvRecords(header: string[], row: CsvRow): { record: Record<string, unknown> } | { unparseable: string; raw: string } {
  if (row.error) return { unparseable: row.error, raw: row.raw };
  if (row.cells.length !== header.length) return { unparseable: `CSV row has ${row.cells.length} columns, the header has ${header.length}`, raw: row.raw };
  return { record: Object.fromEntries(header.map((h, i) => [h, row.cells[i]])) };
}

const withoutLineEnding = (raw: string): string => raw.replace(/\r?\n$|\r$/, '');

/**
 * The rows of a CSV stream, in order. Blank and whitespace-only lines are skipped. A quote inside a
 * cell that does not start with one is kept as text (`relax_quotes`), so the row stays whole and
 * its value is judged by the spec; what csv-parse cannot read at all (a quoted cell never closed)
 * is a row with an error, in its place.
 */
export async function* csvRows(stream: Readable): AsyncGenerator<CsvRow> {
  // Rows csv-parse gave up on, with the line where it did: each goes out before the first row after it.
  const skipped: (CsvRow & { line: number })[] = [];
  const parser = parse({
    bom: true,
    // Any line ending, even mixed in one file (csv-parse would otherwise keep to the first one it sees).
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    raw: true,
    info: true,
    on_skip: (error: CsvError | undefined, raw?: string) => {
      const e = error as (CsvError & { raw?: string; lines?: number }) | undefined;
      skipped.push({ cells: [], raw: withoutLineEnding(e?.raw ?? raw ?? ''), error: `CSV: ${e?.message ?? 'unreadable row'}`, line: e?.lines ?? 0 });
      return undefined;
    },
  });
  const before = function* (line: number): Generator<CsvRow> {
    while (skipped.length && skipped[0]!.line < line) {
      const { line: _, ...row } = skipped.shift()!;
      yield row;
    }
  };
  stream.on('error', (e) => parser.destroy(e));
  stream.pipe(parser);
  for await (const r of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
    yield* before(r.info.lines);
    if (r.record.length === 1 && r.record[0]!.trim() === '') continue; // a whitespace-only line
    yield { cells: r.record, raw: withoutLineEnding(r.raw) };
  }
  yield* before(Infinity);
}

export function csvFileSource(file: string, name = path.basename(file)): RecordSource {
  return csvStreamSource(() => fs.createReadStream(file, { encoding: 'utf8' }), name, file);
}

/** CSV from any stream (a file, or standard input for `--source -`); `where` names it in errors. */
export function csvStreamSource(open: () => Readable, name: string, where = name): RecordSource {
  return {
    name,
    textValues: true,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      const stream = open();
      let header: string[] | undefined;
      let position = 0;
      try {
        for await (const row of csvRows(stream)) {
          if (signal.aborted) return;
          if (!header) {
            if (row.error) throw new UsageError(`${where}: cannot read the CSV header: ${row.error}`, { hint: 'the first line must name the columns' });
            header = row.cells.map((c) => c.trim());
            continue;
          }
          const p = position++;
          if (p >= skip) yield { position: p, ...csvRecords(header, row) };
        }
      } finally {
        stream.destroy();
      }
    },
  };
}
