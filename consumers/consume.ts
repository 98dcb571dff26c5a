/**
 * The core of `millrace consume`: tail a topic (formatted, raw values, or JSON envelopes), stop
 * after --count or at the end of what the topic held at the start (--to-end), or verify it: read
 * what the topic held at the start and tally ids.
 */
import type { KafkaClient, ReceivedMessage } from '../producers/kafka-types';
import { formatMessage, messageEnvelope } from './format';
import { keyedLine } from './position';
import { CatchUp, VerifyReport, VerifyTally } from './verify';

/** keyed: `key<TAB>value` (--print-key). */
export type ConsumeFormat = 'human' | 'raw' | 'json' | 'keyed';

export interface ConsumeRun {
  client: KafkaClient;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  /** Read only this partition, from startOffset (see consumers/position.ts). */
  partition?: number;
  startOffset?: string;
  /** Commit offsets (when the user named the group); throwaway groups don't. */
  commit: boolean;
  /** Stop after this many messages. */
  count?: number;
  /** Stop once every partition is read up to its end offset taken at the start (verify implies it). */
  toEnd?: { idleMs: number };
  /** Verify mode: the JSON field with the event id, and how long to wait without messages. */
  verify?: { idField: string; idleMs: number };
  format: ConsumeFormat;
  signal: AbortSignal;
  write(line: string): void;
}

export interface ConsumeResult {
  messages: number;
  interrupted: boolean;
  /** With --to-end or --verify: whether every partition was read to its end offset. */
  caughtUp?: boolean;
  verify?: VerifyReport & { caughtUp: boolean };
}

export function renderMessage(m: ReceivedMessage, format: ConsumeFormat): string {
  return format === 'raw' ? m.value : format === 'keyed' ? keyedLine(m.key, m.value) : format === 'json' ? messageEnvelope(m) : formatMessage(m);
}

export async function runConsume(run: ConsumeRun): Promise<ConsumeResult> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  run.signal.addEventListener('abort', onAbort, { once: true });
  let messages = 0;
  const tally = run.verify ? new VerifyTally(run.verify.idField) : undefined;
  let catchUp: CatchUp | undefined;
  const idleMs = run.verify?.idleMs ?? run.toEnd?.idleMs;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (idleMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => stop.abort(), idleMs);
  };
  try {
    if (idleMs !== undefined) {
      // The end offsets now are what "everything" means; messages produced later don't count.
      const ends = await run.client.topicOffsets(run.topic);
      // One partition from an offset: only it counts, and from there.
      const read = run.partition === undefined ? ends : ends.filter((e) => e.partition === run.partition).map((e) => ({ ...e, low: run.startOffset ?? e.low }));
      catchUp = new CatchUp(read);
      if (catchUp.done) stop.abort();
    }
    armIdle();
    await run.client.tail({
      topic: run.topic,
      groupId: run.groupId,
      fromBeginning: run.fromBeginning,
      partition: run.partition,
      startOffset: run.startOffset,
      commit: run.commit,
      signal: stop.signal,
      onMessage: (m) => {
        if (stop.signal.aborted) return;
        messages++;
        armIdle();
        if (tally) tally.add(m);
        else run.write(renderMessage(m, run.format));
        const caughtUp = catchUp?.seen(m.partition, m.offset) ?? false;
        if (caughtUp || (run.count !== undefined && messages >= run.count)) stop.abort();
      },
    });
  } finally {
    clearTimeout(idle);
    run.signal.removeEventListener('abort', onAbort);
  }
  const result: ConsumeResult = { messages, interrupted: run.signal.aborted };
  if (catchUp) result.caughtUp = catchUp.done;
  if (tally) result.verify = { ...tally.result(), caughtUp: catchUp?.done ?? false };
  return result;
}
