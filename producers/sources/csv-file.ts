/** A CSV file with a header row, streamed in chunks through the incremental parser. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError } from '../../lib/errors';
import { CsvParser, CsvRow } from '../csv';
import type { ReadOptions, RecordSource, SourceItem } from './types';

/** Turns parsed rows into records keyed by the header; a row of the wrong width is unparseable. */
export function csvRecords(header: string[], row: CsvRow): { record: Record<string, unknown> } | { unparseable: string; raw: string } {
  if (row.error) return { unparseable: row.error, raw: row.raw };
  if (row.cells.length !== header.length) return { unparseable: `CSV row has ${row.cells.length} columns, the header has ${header.length}`, raw: row.raw };
  return { record: Object.fromEntries(header.map((h, i) => [h, row.cells[i]])) };
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
      stream.setEncoding('utf8');
      const parser = new CsvParser();
      let header: string[] | undefined;
      let position = 0;
      function* items(rows: CsvRow[]): Generator<SourceItem> {
        for (const row of rows) {
          if (!header) {
            if (row.error) throw new UsageError(`${where}: cannot read the CSV header: ${row.error}`, { hint: 'the first line must name the columns' });
            // Strip a UTF-8 byte order mark, which spreadsheet exports put before the first name.
            header = row.cells.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
            continue;
          }
          const p = position++;
          if (p >= skip) yield { position: p, ...csvRecords(header, row) };
        }
      }
      try {
        for await (const chunk of stream) {
          if (signal.aborted) return;
          yield* items(parser.push(chunk as string));
        }
        if (!signal.aborted) yield* items(parser.end());
      } finally {
        stream.destroy();
      }
    },
  };
}
