/**
 * A Parquet file, read one row group at a time with hyparquet (pure JavaScript, no Spark or
 * Arrow needed on the operator's machine). hyparquet-compressors adds ZSTD, which the vega
 * flights file uses, and the other codecs hyparquet lacks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { MillraceError, UsageError } from '../../lib/errors';
import type { ReadOptions, RecordSource, SourceItem } from './types';

interface ParquetLib {
  hp: typeof import('hyparquet');
  compressors: typeof import('hyparquet-compressors')['compressors'];
  /** From hyparquet's Node entry, which its types (written for the browser entry) leave out. */
  fromFile(file: string): Promise<AsyncBuffer>;
}

/** hyparquet is ESM-only; CommonJS loads it through require(esm), which Node has from 20.19. */
async function loadParquetLib(): Promise<ParquetLib> {
  try {
    const [hp, c] = await Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
    const fromFile = (hp as { asyncBufferFromFile?: ParquetLib['fromFile'] }).asyncBufferFromFile;
    if (!fromFile) throw new Error('hyparquet was loaded without its Node.js entry point');
    return { hp, compressors: c.compressors, fromFile };
  } catch (error) {
    throw new MillraceError(`cannot load the Parquet reader (hyparquet): ${(error as Error).message}`, {
      hint: 'Parquet sources need Node.js 20.19 or later; run `node --version`',
      cause: error,
    });
  }
}

/** hyparquet's own file reader, so its promises come from its own realm (it tests `instanceof Promise`). */
async function openParquet(lib: ParquetLib, file: string): Promise<AsyncBuffer> {
  try {
    await fs.promises.access(file, fs.constants.R_OK);
  } catch (error) {
    throw new UsageError(`cannot open ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { hint: 'check the --source path', cause: error });
  }
  return lib.fromFile(file);
}

/** Row ranges of each row group, so a skip jumps over whole groups without decoding them. */
export function rowGroupRanges(metadata: Pick<FileMetaData, 'row_groups'>): { start: number; end: number }[] {
  let start = 0;
  return metadata.row_groups.map((g) => {
    const range = { start, end: start + Number(g.num_rows) };
    start = range.end;
    return range;
  });
}

/**
 * JSON-like values: safe INT64s as numbers (larger ones stay bigints, which the validator
 * reports), and dates rebuilt in this realm (hyparquet may live in another, e.g. under Jest).
 */
export function normalizeValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  // A Date of this realm is kept as it is: the common case, and one allocation less per value.
  if (typeof v === 'object' && v !== null && !(v instanceof Date) && Object.prototype.toString.call(v) === '[object Date]') return new Date((v as Date).getTime());
  return v;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export interface ParquetInfo {
  rows: number;
  rowGroups: number;
  columns: { name: string; type: string; codec: string }[];
}

/** Row count, row groups and each column's physical type and codec, from the footer alone. */
export async function parquetInfo(file: string): Promise<ParquetInfo> {
  const lib = await loadParquetLib();
  const md = await lib.hp.parquetMetadataAsync(await openParquet(lib, file));
  const first = md.row_groups[0]?.columns ?? [];
  return {
    rows: Number(md.num_rows),
    rowGroups: md.row_groups.length,
    columns: first.map((c) => ({ name: c.meta_data?.path_in_schema.join('.') ?? '?', type: c.meta_data?.type ?? '?', codec: c.meta_data?.codec ?? '?' })),
  };
}

/**
 * The rows of [rowStart, group.end) of one row group, read column by column (hyparquet's onChunk)
 * and made into records one at a time as they are consumed. hyparquet's own row objects
 * (parquetReadObjects) are made for the whole group at once, ~273k objects that outlive the young
 * generation: reading 1M flights took 2.4 s that way, most of it garbage collection, and 0.9 s
 * this way (2026-12-07, this machine). Flat schemas only: a nested column comes assembled from
 * several physical ones, and goes through parquetReadObjects.
 */
async function readGroupColumns(lib: ParquetLib, buffer: AsyncBuffer, metadata: FileMetaData, names: string[], group: { start: number; end: number }, rowStart: number): Promise<unknown[][]> {
  const rows = group.end - group.start;
  const columns = names.map(() => new Array<unknown>(rows));
  const index = new Map(names.map((n, i) => [n, i]));
  await lib.hp.parquetRead({
    file: buffer,
    metadata,
    compressors: lib.compressors,
    rowStart,
    rowEnd: group.end,
    onChunk: ({ columnName, columnData, rowStart: chunkStart }) => {
      const column = columns[index.get(columnName) ?? -1];
      if (!column) return;
      const at = chunkStart - group.start;
      for (let i = 0; i < columnData.length; i++) column[at + i] = columnData[i];
    },
  });
  return columns;
}

/** The top-level column names when every column is a flat primitive, in the file's order; undefined when one is nested. */
export function flatColumnNames(lib: Pick<ParquetLib['hp'], 'parquetSchema'>, metadata: FileMetaData): string[] | undefined {
  const tree = lib.parquetSchema(metadata);
  if (tree.children.some((c) => c.children.length > 0)) return undefined;
  return tree.children.map((c) => c.element.name);
}

export function parquetFileSource(file: string, name = path.basename(file)): RecordSource {
  return {
    name,
    textValues: false,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      const lib = await loadParquetLib();
      const buffer = await openParquet(lib, file);
      const metadata = await lib.hp.parquetMetadataAsync(buffer);
      const flat = flatColumnNames(lib.hp, metadata);
      for (const group of rowGroupRanges(metadata)) {
        if (signal.aborted) return;
        if (group.end <= skip) continue;
        const rowStart = Math.max(group.start, skip);
        if (flat) {
          // One row group's columns in memory at a time: 3M flights are 11 groups of ~273k rows.
          const columns = await readGroupColumns(lib, buffer, metadata, flat, group, rowStart);
          for (let row = rowStart - group.start; row < group.end - group.start; row++) {
            if (signal.aborted) return;
            const record: Record<string, unknown> = {};
            for (let c = 0; c < flat.length; c++) {
              const v = columns[c]![row];
              record[flat[c]!] = typeof v === 'bigint' || (typeof v === 'object' && v !== null) ? normalizeValue(v) : v;
            }
            yield { position: group.start + row, record };
          }
          continue;
        }
        const rows = await lib.hp.parquetReadObjects({ file: buffer, metadata, compressors: lib.compressors, rowStart, rowEnd: group.end });
        for (let i = 0; i < rows.length; i++) {
          if (signal.aborted) return;
          // The row is hyparquet's fresh object, ours to normalise in place (no copy per row).
          const record = rows[i] as Record<string, unknown>;
          for (const k in record) {
            const v = record[k];
            if (typeof v === 'bigint' || (typeof v === 'object' && v !== null)) record[k] = normalizeValue(v);
          }
          rows[i] = undefined as never;
          yield { position: rowStart + i, record };
        }
      }
    },
  };
}
