/**
 * The core of `millrace produce`: read a source, validate each record against the spec, pace,
 * batch, and send valid events to the topic and invalid ones to `<topic>.dlq`. Every record read
 * ends up counted once: sent, dlq, or errors (its batch failed, or was left unsent after another
 * failed). An abort (Ctrl-C) stops the reading, and what was read is still flushed before the summary.
 */
import type { PipelineSpec } from '../lib/pipeline-spec';
import type { BatchProducer, BatchResult, OutgoingMessage } from './kafka-types';
import { RateSchedule, ReplaySchedule } from './pacing';
import { abortableSleep } from './sources/http';
import type { RecordSource, SourceItem } from './sources/types';
import { ColumnMapper, type ColumnMapping, mappingIsNews } from './columns';
import { dlqMessage, eventMessage, validateRecord, Validation } from './validate';

export interface ProduceSettings {
  topic: string;
  dlqTopic: string;
  /** Overrides the spec's key field. */
  keyField?: string;
  /** Events per second; undefined for as fast as the brokers take them. */
  rate?: number;
  /** Replays the spec's eventTime at this many times real time. */
  replaySpeed?: number;
  /** Stop after this many records read (valid or not). */
  limit?: number;
  /** Start at this source position. */
  skip: number;
  batchSize: number;
  /** A batch that has not filled up is sent after this long. */
  lingerMs: number;
}

export interface Clock {
  now(): number;
  /** Resolves after ms, or early when the signal aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep: abortableSleep };

/** Live counters, read by the progress display while the run goes on. */
export interface ProduceStats {
  read: number;
  sent: number;
  dlq: number;
  errors: number;
}

export interface ProduceSummary extends ProduceStats {
  topic: string;
  dlqTopic: string;
  source: string;
  seconds: number;
  /** Events acknowledged per second over the run. */
  rate: number;
  /** Ids of the acknowledged events with the lowest and highest source positions. */
  firstId: string | null;
  lastId: string | null;
  /** Where a re-run would continue: pass it as --skip. */
  nextPosition: number;
  interrupted: boolean;
  /** Which source column filled which field (of the first records' columns), when a name differs. */
  columns?: ColumnMapping;
  /** Batches sent again after a transient failure (a broker restarting), each counted once per re-send (kafkajs; librdkafka re-sends inside itself). */
  retriedBatches?: number;
  /** The library that produced (kafka.client; auto resolves to one of these). */
  client?: 'kafkajs' | 'librdkafka';
  error?: string;
}

export interface ProduceRun {
  spec: PipelineSpec;
  settings: ProduceSettings;
  source: RecordSource;
  producer: BatchProducer;
  /** Ctrl-C: stop reading, flush, summarize. */
  signal: AbortSignal;
  clock?: Clock;
  stats?: ProduceStats;
}

/** Sleeps shorter than this are saved up: timers cannot wait 0.02 ms, the schedule absorbs it. */
const MIN_SLEEP_MS = 2;
/** Records between turns of the event loop, so timers and signals get to run at full speed. */
const YIELD_EVERY = 1000;

/**
 * A batch being filled: its messages, and the acknowledged ids it would add to the summary (those
 * with the lowest and highest source positions). Nothing else of a record is kept: the messages
 * are dropped once handed to the client, so an in-flight epoch holds no per-record objects of ours.
 */
interface Filling {
  messages: OutgoingMessage[];
  first?: { position: number; id: string };
  last?: { position: number; id: string };
  timer?: NodeJS.Timeout;
}

export function newStats(): ProduceStats {
  return { read: 0, sent: 0, dlq: 0, errors: 0 };
}

export async function runProduce(run: ProduceRun): Promise<{ summary: ProduceSummary; failure?: unknown }> {
  const { spec, settings, source, producer, signal } = run;
  const clock = run.clock ?? systemClock;
  const stats = run.stats ?? newStats();
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) stop.abort();

  let failure: unknown;
  let batchFailed = false;
  let first: { position: number; id: string } | undefined;
  let last: { position: number; id: string } | undefined;
  const pending = new Set<Promise<void>>();
  const buffers = new Map<string, Filling>();
  /**
   * Batches sent by their linger timer that still wait for room in the producer's window. Reading
   * waits for them as it waits for a full batch: otherwise a slow or dead broker lets reading run
   * ahead into a queue of small batches without bound.
   */
  const lingering = new Set<Promise<void>>();

  const settle = (r: BatchResult, batch: Pick<Filling, 'first' | 'last'>, isDlq: boolean): void => {
    if (!r.ok) {
      stats.errors += r.count;
      batchFailed = true;
      failure ??= r.error;
      stop.abort();
      return;
    }
    if (isDlq) stats.dlq += r.count;
    else stats.sent += r.count;
    if (batch.first && (!first || batch.first.position < first.position)) first = batch.first;
    if (batch.last && (!last || batch.last.position > last.position)) last = batch.last;
  };
  const flush = async (topic: string): Promise<void> => {
    const buf = buffers.get(topic);
    if (!buf || buf.messages.length === 0) return;
    const { messages, first: batchFirst, last: batchLast } = buf;
    buf.messages = [];
    buf.first = buf.last = undefined;
    clearTimeout(buf.timer);
    buf.timer = undefined;
    // After a failed batch the run is over: what is left is counted as errors, not sent. Sending it
    // would only wait out the client's retries once more per batch (the brokers are likely gone).
    if (batchFailed) {
      stats.errors += messages.length;
      return;
    }
    const { result } = await producer.send(topic, messages);
    const done = result.then((r) => settle(r, { first: batchFirst, last: batchLast }, topic === settings.dlqTopic));
    pending.add(done);
    void done.then(() => pending.delete(done));
  };
  const flushAll = async (): Promise<void> => {
    for (const topic of buffers.keys()) await flush(topic);
  };
  /** A promise only when the batch is full and goes out (no promise per record on the hot path). */
  const add = (topic: string, message: OutgoingMessage, position: number, id?: string): Promise<void> | undefined => {
    let buf = buffers.get(topic);
    if (!buf) buffers.set(topic, (buf = { messages: [] }));
    buf.messages.push(message);
    if (id !== undefined) {
      // Positions only grow within a run, so the batch's first id is its lowest and its last its highest.
      buf.first ??= { position, id };
      buf.last = { position, id };
    }
    if (buf.messages.length >= settings.batchSize) return flush(topic);
    // A slow source or a low rate must not leave events sitting in a half-full batch.
    buf.timer ??= setTimeout(() => {
      // After the batches its timer sent before, so that one at most waits for room in the window.
      const sent: Promise<void> = Promise.all(lingering)
        .then(() => flush(topic))
        .catch((error: unknown) => {
          failure ??= error;
          stop.abort();
        })
        .finally(() => lingering.delete(sent));
      lingering.add(sent);
    }, settings.lingerMs);
  };

  const started = clock.now();
  const rate = settings.rate === undefined ? undefined : new RateSchedule(settings.rate);
  const replay = settings.replaySpeed === undefined ? undefined : new ReplaySchedule(settings.replaySpeed);
  let nextPosition = settings.skip;
  const columns = new ColumnMapper(spec);
  try {
    if (settings.limit !== 0) {
      for await (const item of source.read({ skip: settings.skip, signal: stop.signal })) {
        if (stop.signal.aborted) break;
        const v = check(spec, source, settings, item, columns);
        // One clock read a record, unless it waited.
        let producedAt = clock.now();
        const wait = Math.max(rate?.next(producedAt) ?? 0, v.ok && replay ? replay.next(v.event.eventTimeMs, producedAt) : 0);
        if (wait >= MIN_SLEEP_MS) {
          if (wait >= settings.lingerMs) await flushAll();
          await clock.sleep(wait, stop.signal);
          // Not counted as read: a re-run with --skip nextPosition picks it up.
          if (stop.signal.aborted) break;
          producedAt = clock.now();
        }
        stats.read++;
        nextPosition = item.position + 1;
        const full = v.ok
          ? add(settings.topic, eventMessage(v.event, producedAt), item.position, v.event.id)
          : add(settings.dlqTopic, dlqMessage(v.reason, source.name, item.position, 'record' in item ? item.record : item.raw, producedAt), item.position);
        if (full) await full;
        if (lingering.size > 0) await Promise.all(lingering);
        if (settings.limit !== undefined && stats.read >= settings.limit) break;
        if (stats.read % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
      }
    }
  } catch (error) {
    failure ??= error;
  } finally {
    try {
      await Promise.all(lingering);
      await flushAll();
      await producer.flush();
      await Promise.all(pending);
    } catch (error) {
      failure ??= error;
    }
    for (const b of buffers.values()) clearTimeout(b.timer);
    signal.removeEventListener('abort', onAbort);
  }

  const seconds = Math.max(0, (clock.now() - started) / 1000);
  const summary: ProduceSummary = {
    topic: settings.topic,
    dlqTopic: settings.dlqTopic,
    source: source.name,
    ...stats,
    seconds: Math.round(seconds * 1000) / 1000,
    rate: seconds > 0 ? Math.round((stats.sent / seconds) * 10) / 10 : 0,
    firstId: first?.id ?? null,
    lastId: last?.id ?? null,
    nextPosition,
    interrupted: signal.aborted,
    ...(columns.first && mappingIsNews(columns.first) ? { columns: columns.first } : {}),
    ...(failure === undefined ? {} : { error: failure instanceof Error ? failure.message : String(failure) }),
  };
  return failure === undefined ? { summary } : { summary, failure };
}

function check(spec: PipelineSpec, source: RecordSource, settings: ProduceSettings, item: SourceItem, columns: ColumnMapper): Validation {
  if (!('record' in item)) return { ok: false, reason: item.unparseable };
  return validateRecord(spec, columns.map(item.record), { source: source.name, position: item.position, textValues: source.textValues, keyField: settings.keyField });
}
