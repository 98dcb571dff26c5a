/**
 * Turns the --source/--format flags into a record source: a file (JSON Lines, a JSON array, CSV
 * or Parquet), an http(s) URL polled at an interval, or the synthetic generator.
 * `vega:<file>` names a file of the vega-datasets package, e.g. `vega:flights-3m.parquet`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../lib/errors';
import type { PipelineSpec } from '../../lib/pipeline-spec';
import { vegaDataDir } from '../vega';
import { csvFileSource } from './csv-file';
import { FetchLike, httpSource, parseHttpBody } from './http';
import { jsonlFileSource } from './jsonl';
import { parquetFileSource } from './parquet';
import { syntheticSource } from './synthetic';
import type { ReadOptions, RecordSource, SourceItem } from './types';

export const FILE_FORMATS = ['jsonl', 'json', 'csv', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export type SourcePlan =
  | { kind: 'file'; path: string; format: FileFormat }
  | { kind: 'http'; url: string }
  | { kind: 'synthetic' };

const EXTENSIONS: Record<string, FileFormat> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json', '.csv': 'csv', '.parquet': 'parquet', '.pq': 'parquet' };

/** Decides what --source names, without touching the disk beyond resolving `vega:`. */
export function planSource(source: string, format?: string): SourcePlan {
  if (source === 'synthetic') return { kind: 'synthetic' };
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
  return {
    name,
    textValues: false,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      const items = parseHttpBody(await fs.promises.readFile(file, 'utf8'));
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
}

export function openSource(plan: SourcePlan, spec: PipelineSpec, o: OpenSourceOptions): RecordSource {
  let source: RecordSource;
  if (plan.kind === 'synthetic') source = syntheticSource(spec, { seed: o.seed, invalidEvery: o.invalidEvery });
  else if (plan.kind === 'http') source = httpSource({ url: plan.url, pollIntervalMs: o.pollIntervalMs, fetch: o.fetch });
  else {
    if (!fs.existsSync(plan.path)) throw new UsageError(`${plan.path}: no such file`, { hint: 'check the --source path' });
    const open = { jsonl: jsonlFileSource, json: jsonArrayFileSource, csv: csvFileSource, parquet: parquetFileSource }[plan.format];
    source = open(plan.path);
  }
  return o.name ? { ...source, name: o.name, read: source.read.bind(source) } : source;
}
