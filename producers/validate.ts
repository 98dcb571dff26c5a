/**
 * Checks one source record against the pipeline spec and builds the Kafka messages: the event
 * for the topic, or the dead-letter message with the reason. Pure, so every reason's exact text
 * is unit-tested; the reasons are what an operator reads in `<topic>.dlq`.
 */
import type { FieldType, PipelineSpec } from '../lib/pipeline-spec';
import type { OutgoingMessage } from './kafka-types';

/** On dead-letter messages, and on scored events (the scoring job copies produced_at into it). */
export const HEADER_PRODUCED_AT = 'millrace-produced-at';
/** On dead-letter messages. */
export const HEADER_SOURCE = 'millrace-source';
export const HEADER_REASON = 'millrace-reason';

export interface ValidEvent {
  id: string;
  key?: string;
  /** The wire object: the spec's fields in order (null when absent), then the id field. */
  value: Record<string, string | number | boolean | null>;
  /** Epoch ms of the spec's eventTime field, when the record carries it. */
  eventTimeMs?: number;
}

export type Validation = { ok: true; event: ValidEvent } | { ok: false; reason: string };

export interface RecordContext {
  source: string;
  position: number;
  /** The record's values are text (CSV cells): numbers and booleans are parsed from it. */
  textValues: boolean;
  /** Overrides the spec's key field. */
  keyField?: string;
}

type Converted = { ok: true; value: string | number | boolean } | { ok: false; problem: string };

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
// Date, optional time with optional fraction, optional zone; no zone means UTC (as in Parquet
// timestamps that are not adjusted to UTC, which carry wall-clock time).
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The id a record without one gets: stable for the same source and position across runs. */
export function assignedId(source: string, position: number): string {
  return `${source}#${position}`;
}

export function validateRecord(spec: PipelineSpec, record: Record<string, unknown>, ctx: RecordContext): Validation {
  const problems: string[] = [];
  const value: ValidEvent['value'] = {};
  let eventTimeMs: number | undefined;
  for (const field of spec.fields) {
    if (field.name === spec.id) continue;
    const raw = record[field.name];
    if (isMissing(raw, ctx.textValues)) {
      if (field.required) problems.push(`missing required field "${field.name}"`);
      value[field.name] = null;
      continue;
    }
    if (field.type === 'timestamp') {
      // The epoch ms is kept for the eventTime (replay's pacing): no parse of the text back.
      const t = timestampMs(raw);
      if (typeof t === 'number') {
        value[field.name] = isoTimestamp(t);
        if (field.name === spec.eventTime) eventTimeMs = t;
      } else problems.push(`field "${field.name}": ${t?.problem ?? `expected timestamp, got ${describeValue(raw)}`}`);
      continue;
    }
    const c = convert(field.type, raw, ctx.textValues);
    if (c.ok) value[field.name] = c.value;
    else problems.push(`field "${field.name}": ${c.problem}`);
  }
  const id = eventId(spec.id, record[spec.id], ctx);
  if (!id.ok) problems.push(`field "${spec.id}": ${id.problem}`);
  if (problems.length > 0 || !id.ok) return { ok: false, reason: problems.join('; ') };
  value[spec.id] = id.value;

  const keyField = ctx.keyField ?? spec.key;
  const key = keyField === undefined ? undefined : value[keyField];
  const event: ValidEvent = { id: id.value, value };
  if (key !== undefined && key !== null) event.key = String(key);
  if (eventTimeMs !== undefined) event.eventTimeMs = eventTimeMs;
  return { ok: true, event };
}

function isMissing(raw: unknown, textValues: boolean): boolean {
  if (raw === undefined || raw === null) return true;
  // An empty CSV cell is an absent value; an empty JSON string is a string.
  return textValues && raw === '';
}

function eventId(name: string, raw: unknown, ctx: RecordContext): { ok: true; value: string } | { ok: false; problem: string } {
  if (raw === undefined || raw === null || (ctx.textValues && raw === '')) return { ok: true, value: assignedId(ctx.source, ctx.position) };
  if (typeof raw === 'string') return raw === '' ? { ok: false, problem: 'the id is empty' } : { ok: true, value: raw };
  if ((typeof raw === 'number' && Number.isSafeInteger(raw)) || typeof raw === 'bigint') return { ok: true, value: String(raw) };
  return { ok: false, problem: `expected a string or integer id, got ${describeValue(raw)}` };
}

export function convert(type: FieldType, raw: unknown, textValues: boolean): Converted {
  const wrong = (): Converted => ({ ok: false, problem: `expected ${type}, got ${describeValue(raw)}` });
  switch (type) {
    case 'string':
      return typeof raw === 'string' ? { ok: true, value: raw } : wrong();
    case 'int':
    case 'long': {
      // The common case without BigInts: a JSON or Parquet number that is a safe integer.
      if (typeof raw === 'number' && Number.isSafeInteger(raw) && (type === 'long' || (raw >= INT_MIN && raw <= INT_MAX))) return { ok: true, value: raw === 0 ? 0 : raw };
      const n = toInteger(raw, textValues);
      if (n === undefined) return wrong();
      if (type === 'int' && (n < BigInt(INT_MIN) || n > BigInt(INT_MAX))) return { ok: false, problem: `${n} is out of range for int` };
      if (n < BigInt(Number.MIN_SAFE_INTEGER) || n > BigInt(Number.MAX_SAFE_INTEGER))
        return { ok: false, problem: `${n} is beyond ±2^53-1, which a JSON number cannot carry exactly` };
      return { ok: true, value: Number(n) };
    }
    case 'double': {
      if (typeof raw === 'number') return Number.isFinite(raw) ? { ok: true, value: raw } : { ok: false, problem: `${raw} is not a finite number` };
      if (typeof raw === 'bigint') return { ok: true, value: Number(raw) };
      if (textValues && typeof raw === 'string' && DECIMAL_TEXT.test(raw.trim())) return { ok: true, value: Number(raw.trim()) };
      return wrong();
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      const t = textValues && typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      return t === 'true' ? { ok: true, value: true } : t === 'false' ? { ok: true, value: false } : wrong();
    }
    case 'timestamp': {
      const t = timestampMs(raw);
      return typeof t === 'number' ? { ok: true, value: isoTimestamp(t) } : (t ?? wrong());
    }
  }
}

function toInteger(raw: unknown, textValues: boolean): bigint | undefined {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') return Number.isInteger(raw) ? BigInt(raw) : undefined;
  if (textValues && typeof raw === 'string' && INTEGER_TEXT.test(raw.trim())) return BigInt(raw.trim());
  return undefined;
}

/** The largest |epoch ms| a Date holds. */
const MAX_DATE_MS = 8.64e15;

/** A timestamp's epoch ms (whole), a problem, or undefined when the value's type is wrong. */
function timestampMs(raw: unknown): number | { ok: false; problem: string } | undefined {
  if (raw instanceof Date || isDate(raw)) {
    const ms = raw.getTime();
    return Number.isNaN(ms) ? { ok: false, problem: 'is an invalid date' } : ms;
  }
  // Epoch milliseconds, as JavaScript and Kafka write them; a fraction is dropped, as Date does.
  if (typeof raw === 'number') return Number.isFinite(raw) && Math.abs(raw) <= MAX_DATE_MS ? Math.trunc(raw) + 0 : undefined;
  if (typeof raw !== 'string') return undefined;
  const ms = parseIsoTimestamp(raw.trim());
  return ms === undefined || Math.abs(ms) > MAX_DATE_MS ? { ok: false, problem: `${JSON.stringify(truncate(raw))} is not an ISO-8601 timestamp` } : ms;
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY_MS = 86_400_000;
let cachedDayStart = NaN;
let cachedDayPrefix = '';

/**
 * `new Date(ms).toISOString()` for whole epoch ms, without a Date per value: the day's part
 * ("2001-01-01T", from toISOString itself) is kept while events stay on the same UTC day, and the
 * time of day is assembled from tables. toISOString cost ~1.4 µs a call here, the largest part of
 * validating a flight.
 */
export function isoTimestamp(ms: number): string {
  if (!(ms >= cachedDayStart && ms < cachedDayStart + DAY_MS)) {
    const start = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
    const iso = new Date(start).toISOString();
    cachedDayStart = start;
    cachedDayPrefix = iso.slice(0, iso.indexOf('T') + 1);
  }
  const t = ms - cachedDayStart;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor(t / 60_000) % 60;
  const s = Math.floor(t / 1000) % 60;
  return `${cachedDayPrefix}${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[t % 1000]}Z`;
}

/** Epoch ms of an ISO-8601 date or date-time (no zone = UTC); undefined if it is not a real one. */
export function parseIsoTimestamp(text: string): number | undefined {
  const m = ISO_TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x))) as number[];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (y === undefined || mo === undefined || d === undefined) return undefined;
  // Date.UTC rolls 2001-02-30 over into March; a round trip of the parts catches it.
  const local = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(local);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s)
    return undefined;
  const zone = m[8];
  if (zone === undefined || zone.toUpperCase() === 'Z') return local;
  const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  const offset = (Number(z?.[2]) * 60 + Number(z?.[3] ?? 0)) * (z?.[1] === '-' ? -1 : 1);
  return Number(z?.[2]) > 23 || Number(z?.[3] ?? 0) > 59 ? undefined : local - offset * 60_000;
}

/** Works for Dates made in another realm too (a library's, a worker's, Jest's sandbox). */
function isDate(v: unknown): v is Date {
  return Object.prototype.toString.call(v) === '[object Date]';
}

function truncate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isDate(v)) return 'date';
  if (typeof v === 'string') return `string ${JSON.stringify(truncate(v))}`;
  if (typeof v === 'bigint') return `integer ${v}`;
  if (typeof v === 'object') return 'object';
  return `${typeof v} ${String(v)}`;
}

/** JSON for payloads that may hold bigints (Parquet INT64) and Dates. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v));
}

/**
 * The event's message: its JSON, its key, and its production time as the record's own timestamp
 * (Kafka's CreateTime), which the Spark jobs read as produced_at. No headers: two cost the
 * librdkafka producer about 4 µs of CPU a message, a third of its cost, and ~60 bytes a record on
 * the wire and on the brokers' disks (bench: `npm run bench -- pipeline producer`).
 */
export function eventMessage(event: ValidEvent, producedAtMs: number): OutgoingMessage {
  const value = JSON.stringify(event.value);
  return event.key === undefined ? { value, timestamp: producedAtMs } : { key: event.key, value, timestamp: producedAtMs };
}

/** The dead-letter message: the reason, where the record came from, and the record as it was. */
export function dlqMessage(reason: string, source: string, position: number, payload: unknown, producedAtMs: number): OutgoingMessage {
  return {
    key: assignedId(source, position),
    value: toJson({ reason, source, position, payload }),
    headers: { [HEADER_REASON]: reason, [HEADER_SOURCE]: source, [HEADER_PRODUCED_AT]: String(producedAtMs) },
  };
}
