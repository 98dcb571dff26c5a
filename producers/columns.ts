/**
 * Which source column fills which spec field. A field's `from:` names its column; otherwise the
 * column with the field's own name; otherwise, tolerantly, the one whose name is the same after
 * case, spaces, punctuation and symbols are set aside ("Flight Date" fills flight_date, "Cost
 * Total $" fills cost_total). Tolerance that cannot decide (two columns read the same) decides
 * nothing: the field stays unfilled and the mapping says which columns to choose from with `from:`.
 *
 * A source's records share their columns (a CSV header, a Parquet schema), so the mapping is made
 * once per set of column names and shown to the user (`produce` prints it when a name differs).
 */
import type { PipelineSpec } from '../lib/pipeline-spec';

/** A column name with case, spacing, punctuation and symbols set aside: "Flight Date" → "flightdate". */
export function looseName(name: string): string {
  return name
    .replace(/^\uFEFF/, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

export interface ColumnMatch {
  field: string;
  /** The source column that fills it, if any. */
  column?: string;
  how: 'from' | 'name' | 'loose' | 'none';
  /** Why a field has no column: more than one read the same. */
  ambiguous?: string[];
}

export interface ColumnMapping {
  matches: ColumnMatch[];
  /** Source columns no field takes. */
  unused: string[];
}

/** The spec's fields (and its id, when records may carry it) matched to these column names. */
export function mapColumns(spec: PipelineSpec, columns: readonly string[]): ColumnMapping {
  const fields = [...spec.fields.map((f) => ({ name: f.name, from: f.from })), ...(spec.fields.some((f) => f.name === spec.id) ? [] : [{ name: spec.id, from: undefined }])];
  const exact = new Set(columns);
  const byLoose = new Map<string, string[]>();
  for (const c of columns) byLoose.set(looseName(c), [...(byLoose.get(looseName(c)) ?? []), c]);
  // Exact names first, so a column named exactly for one field is never taken by another's loose match.
  const taken = new Set(fields.map((f) => f.from ?? f.name).filter((w) => exact.has(w)));
  const matches = fields.map((f): ColumnMatch => {
    const wanted = f.from ?? f.name;
    const how = f.from !== undefined ? 'from' : 'name';
    if (exact.has(wanted)) return { field: f.name, column: wanted, how };
    const loose = (byLoose.get(looseName(wanted)) ?? []).filter((c) => !taken.has(c));
    if (loose.length > 1) return { field: f.name, how: 'none', ambiguous: loose };
    if (loose.length === 0) return { field: f.name, how: 'none' };
    taken.add(loose[0]!);
    return { field: f.name, column: loose[0]!, how: f.from !== undefined ? 'from' : 'loose' };
  });
  return { matches, unused: columns.filter((c) => !taken.has(c)) };
}

/** Whether a mapping is worth showing: some field is filled by a column of another name, or by none for a reason. */
export function mappingIsNews(m: ColumnMapping): boolean {
  return m.matches.some((x) => (x.column !== undefined && x.column !== x.field) || x.ambiguous);
}

/** One line per field, for the produce summary: `"Flight Date" → date (loose match)`. */
export function formatMapping(m: ColumnMapping): string[] {
  const lines = m.matches.map((x) =>
    x.column !== undefined
      ? `${JSON.stringify(x.column)} → ${x.field}${x.how === 'from' ? ' (from:)' : x.how === 'loose' ? ' (loose match)' : ''}`
      : x.ambiguous
        ? `${x.field}: not filled; ${x.ambiguous.map((c) => JSON.stringify(c)).join(' and ')} both match (set from: on the field)`
        : `${x.field}: no column`,
  );
  if (m.unused.length) lines.push(`not used: ${m.unused.map((c) => JSON.stringify(c)).join(', ')}`);
  return lines;
}

interface Prepared {
  mapping: ColumnMapping;
  /** [column, field] for each filled field. */
  pairs: [string, string][];
  /** Every filled field has its column's name: records pass through as they are. */
  identity: boolean;
}

/** Renames each record's columns to the spec's field names; one mapping per distinct set of columns. */
export class ColumnMapper {
  private readonly mappings = new Map<string, Prepared>();
  private last: { columns: string[]; prepared: Prepared } | undefined;
  /** The first mapping made (a source's records usually share one). */
  first: ColumnMapping | undefined;

  constructor(private readonly spec: PipelineSpec) {}

  map(record: Record<string, unknown>): Record<string, unknown> {
    const columns = Object.keys(record);
    // The same columns as the record before (a CSV header, a Parquet schema): no lookup.
    const last = this.last;
    const p = last && last.columns.length === columns.length && columns.every((c, i) => c === last.columns[i]) ? last.prepared : this.prepare(columns);
    if (p.identity) return record;
    const out: Record<string, unknown> = {};
    for (const [c, f] of p.pairs) out[f] = record[c];
    return out;
  }

  private prepare(columns: string[]): Prepared {
    const key = columns.join('\u0000');
    let p = this.mappings.get(key);
    if (!p) {
      const mapping = mapColumns(this.spec, columns);
      const pairs = mapping.matches.flatMap((x): [string, string][] => (x.column !== undefined ? [[x.column, x.field]] : []));
      p = { mapping, pairs, identity: pairs.every(([c, f]) => c === f) };
      // JSON records may each leave out other optional keys: keep the cache bounded.
      if (this.mappings.size >= 1024) this.mappings.clear();
      this.mappings.set(key, p);
      this.first ??= mapping;
    }
    this.last = { columns, prepared: p };
    return p;
  }
}
