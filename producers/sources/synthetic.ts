/**
 * Synthetic records driven by the spec's fields. Every value is a hash of (seed, position,
 * field), not the next draw of a running generator, so record N is the same whatever was skipped
 * before it and re-runs with the same seed give the same records and ids.
 */
import type { FieldSpec, PipelineSpec } from '../../lib/pipeline-spec';
import type { ReadOptions, RecordSource, SourceItem } from './types';

export interface SyntheticOptions {
  seed: number;
  /** Event time of record 0, epoch ms. Default 2024-01-01T00:00:00Z. */
  startMs?: number;
  /** Event-time step between records. Default 1000 ms. */
  stepMs?: number;
  /** Makes every n-th record invalid (its first field gets an object), to exercise the DLQ. */
  invalidEvery?: number;
  /** How many distinct values each string field takes. Default 40. */
  cardinality?: number;
}

export const SYNTHETIC_START_MS = Date.UTC(2024, 0, 1);

/** A 32-bit integer finalizer (from murmur3): spreads every input bit over the output. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) for (seed, position, field, draw). */
export function unitHash(seed: number, position: number, field: number, draw = 0): number {
  const lo = position >>> 0;
  const hi = Math.floor(position / 2 ** 32) >>> 0;
  const h = mix32(mix32(seed) ^ mix32(lo + 0x9e3779b9) ^ mix32(hi + Math.imul(field + 1, 0x27d4eb2f)) ^ mix32(draw + 0x165667b1));
  return h / 2 ** 32;
}

/** A short uppercase code such as an airport's: the k-th one for this field, the same every run. */
function code(seed: number, fieldIndex: number, k: number): string {
  let s = '';
  for (let i = 0; i < 3; i++) s += String.fromCharCode(65 + Math.floor(unitHash(seed, k, fieldIndex, 100 + i) * 26));
  return s;
}

function value(field: FieldSpec, fieldIndex: number, position: number, o: Required<Omit<SyntheticOptions, 'invalidEvery'>>): unknown {
  const u = unitHash(o.seed, position, fieldIndex);
  switch (field.type) {
    case 'string':
      return code(o.seed, fieldIndex, Math.floor(u * o.cardinality));
    case 'int':
      return Math.floor(u * 1000);
    case 'long':
      return Math.floor(u * 1e12);
    case 'double':
      return Math.round(u * 1e6) / 1000;
    case 'boolean':
      return u < 0.5;
    case 'timestamp':
      return new Date(o.startMs + position * o.stepMs).toISOString();
  }
}

/** The record at a position; pure, so tests and `skip` need no iteration. */
export function syntheticRecord(spec: PipelineSpec, position: number, options: SyntheticOptions): Record<string, unknown> {
  const o = { startMs: SYNTHETIC_START_MS, stepMs: 1000, cardinality: 40, ...options };
  const fields = spec.fields.filter((f) => f.name !== spec.id);
  const record: Record<string, unknown> = {};
  fields.forEach((f, i) => (record[f.name] = value(f, i, position, o)));
  const first = fields[0];
  if (first && o.invalidEvery && o.invalidEvery > 0 && position % o.invalidEvery === o.invalidEvery - 1) record[first.name] = { invalid: true };
  return record;
}

export function syntheticSource(spec: PipelineSpec, options: SyntheticOptions): RecordSource {
  return {
    name: `synthetic-${options.seed}`,
    textValues: false,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      // Endless: the producer's --limit or Ctrl-C ends it.
      for (let position = skip; !signal.aborted; position++) yield { position, record: syntheticRecord(spec, position, options) };
    },
  };
}
