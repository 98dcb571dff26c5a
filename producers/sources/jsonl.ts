/** JSON Lines: one JSON object per line, streamed line by line. Blank lines are skipped. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { ReadOptions, RecordSource, SourceItem } from './types';

export type ParsedLine = { record: Record<string, unknown> } | { unparseable: string; raw: string };

/** Parses one line; what is not a JSON object comes back with the reason for the DLQ. */
export function parseJsonLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { unparseable: `invalid JSON: ${(error as Error).message}`, raw: line };
  }
  return toRecord(value, line);
}

/** An object becomes a record; anything else is reported as what it is. */
export function toRecord(value: unknown, raw: string): ParsedLine {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { record: value as Record<string, unknown> };
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return { unparseable: `not a JSON object (got ${got})`, raw };
}

export function jsonlFileSource(file: string, name = path.basename(file)): RecordSource {
  return jsonlStreamSource(() => fs.createReadStream(file, { encoding: 'utf8' }), name);
}

/** JSON Lines from any stream (a file, or standard input for `--source -`), opened on first read. */
export function jsonlStreamSource(open: () => Readable, name: string): RecordSource {
  return {
    name,
    textValues: false,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      const stream = open();
      const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
      let position = 0;
      try {
        for await (const line of lines) {
          if (signal.aborted) return;
          if (line.trim() === '') continue;
          const p = position++;
          if (p < skip) continue;
          yield { position: p, ...parseJsonLine(line) };
        }
      } finally {
        lines.close();
        stream.destroy();
      }
    },
  };
}
