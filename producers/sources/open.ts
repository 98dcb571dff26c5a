/**
 * Turns the --source/--format flags into a record source: a file (JSON Lines, a JSON array, CSV
 * or Parquet), an http(s) URL polled at an interval, or the synthetic generator.
 * `-` reads standard input (JSON Lines by default, or --format csv|json).
 * `vega:<file>` names a file of the vega-datasets package, e.g. `vega:flights-3m.parquet`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError } from '../../lib/errors';
import type { PipelineSpec } from '../../lib/pipeline-spec';
import { vegaDataDir } from '../vega';
import { csvFileSource, csvStreamSource } from './csv-file';
import { FetchLike, httpSource, parseHttpBody } from './http';
import { jsonlFileSource, jsonlStreamSource } from './jsonl';
import { parquetFileSource } from './parquet';
import { syntheticSource } from './synthetic';
import type { ReadOptions, RecordSource, SourceItem } from './types';

export const FILE_FORMATS = ['jsonl', 'json', 'csv', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export type SourcePlan =
  | { kind: 'file'; path: string; format: FileFormat }
  | { kind: 'http'; url: string }
  | { kind: 'synthetic' }
  | { kind: 'stdin'; format: StdinFormat };

/** What standard input can carry: Parquet needs a seekable file. */
export const STDIN_FORMATS = ['jsonl', 'json', 'csv'] as const;
export type StdinFormat = (typeof STDIN_FORMATS)[number];
/** The name stdin records carry in their ids (`stdin#<position>`) unless --source-name says otherwise. */
export const STDIN_NAME = 'stdin';

const EXTENSIONS: Record<string, FileFormat> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json', '.csv': 'csv', '.parquet': 'parquet', '.pq': 'parquet' };

/** Decides what --source names, without touching the disk beyond resolving `vega:`. */
export function planSource(source: string, format?: string): SourcePlan {
  if (source === 'synthetic') return { kind: 'synthetic' };
  if (source === '-') {
    if (format === undefined) return { kind: 'stdin', format: 'jsonl' };
    if (!(STDIN_FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--source - reads standard input, which cannot carry ${format}`, {
        hint: format === 'parquet' ? 'Parquet needs a file: pass its path as --source' : `pass --format ${STDIN_FORMATS.join('|')} (default jsonl)`,
      });
    return { kind: 'stdin', format: format as StdinFormat };
  }
  if (/^https?:\/\//i.test(source)) {
    try {
      new URL(source);
    } catch {
      throw new UsageError(`--source ${source} is not a valid URL`);
    }
    return { kind: 'http', url: source };
  }
  const file = source.startsWith('vega:') ? path.join(vegaDataDir(), source.slice('vega:'.length)) : source;
  if (format !== undefined) {
    if (!(FILE_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${format} is not one of ${FILE_FORMATS.join(', ')}`);
    return { kind: 'file', path: file, format: format as FileFormat };
  }
  const inferred = EXTENSIONS[path.extname(file).toLowerCase()];
  if (!inferred)
    throw new UsageError(`cannot tell the format of ${file} from its extension`, { hint: `pass --format ${FILE_FORMATS.join('|')}` });
  return { kind: 'file', path: file, format: inferred };
}

/** A JSON array file (vega's flights-200k.json, say): parsed whole, so meant for moderate sizes. */
function jsonArrayFileSource(file: string, name = path.basename(file)): RecordSource {
  return jsonArraySource(() => fs.promises.readFile(file, 'utf8'), name);
}

function jsonArraySource(readAll: () => Promise<string>, name: string): RecordSource {
  return {
    name,
    textValues: false,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      const items = parseHttpBody(await readAll());
      for (let p = skip; p < items.length && !signal.aborted; p++) yield { position: p, ...items[p]! };
    },
  };
}

export interface OpenSourceOptions {
  pollIntervalMs: number;
  seed: number;
  invalidEvery?: number;
  /** Overrides the name used in ids; default the file's base name, the URL's host and path, or synthetic-<seed>. */
  name?: string;
  fetch?: FetchLike;
  /** Standard input, for `--source -` (default process.stdin). */
  stdin?: Readable;
}

async function readAllText(stream: Readable): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  return text;
}

export function openSource(plan: SourcePlan, spec: PipelineSpec, o: OpenSourceOptions): RecordSource {
  let source: RecordSource;
  if (plan.kind === 'synthetic') source = syntheticSource(spec, { seed: o.seed, invalidEvery: o.invalidEvery });
  else if (plan.kind === 'stdin') {
    const stdin = o.stdin ?? process.stdin;
    const name = o.name ?? STDIN_NAME;
    source = plan.format === 'jsonl' ? jsonlStreamSource(() => stdin, name) : plan.format === 'csv' ? csvStreamSource(() => stdin, name, 'standard input') : jsonArraySource(() => readAllText(stdin), name);
  } else if (plan.kind === 'http') source = httpSource({ url: plan.url, pollIntervalMs: o.pollIntervalMs, fetch: o.fetch });
  else {
    if (!fs.existsSync(plan.path)) throw new UsageError(`${plan.path}: no such file`, { hint: 'check the --source path' });
    const open = { jsonl: jsonlFileSource, json: jsonArrayFileSource, csv: csvFileSource, parquet: parquetFileSource }[plan.format];
    source = open(plan.path);
  }
  return o.name ? { ...source, name: o.name, read: source.read.bind(source) } : source;
}
