/**
 * Batches acknowledged by flushing, for a producer that reports failed messages only (librdkafka's
 * `delivery.report.only.error`). A delivery report per message cost the librdkafka backend ~5 µs of
 * the Node thread each (the package builds a JS object, a key Buffer and a callback per report),
 * about 40% of `millrace produce`'s time; no report for a message that arrived costs nothing.
 *
 * Without a report per message, a batch is known to be written when a flush that began after its
 * last message was handed over ends with nothing outstanding. So batches go to the producer in
 * epochs: the batches waiting are handed over, a flush confirms them, and the batches sent meanwhile
 * wait for the next epoch (their records are read and validated while the flush runs). A failed
 * message fails the batches of its epoch and topic: a failure report names its topic, not its batch
 * (a per-message handle for that would have to be freed by a report that never comes).
 */
import type { BatchResult, OutgoingMessage } from './kafka-types';
import { sleep } from '../lib/retry';

/** What the confirmer needs of a producer. */
export interface FlushableProducer {
  /** Hands one message over; throws the producer's refusal (see queueIsFull). */
  produce(topic: string, message: OutgoingMessage): void;
  /** True for the refusal that means "the producer's queue is full, offer it again shortly". */
  queueIsFull(error: unknown): boolean;
  /** Resolves when every message handed over so far is written or failed; rejects when timeoutMs passes first, or otherwise fails. */
  flush(timeoutMs: number): Promise<void>;
  /** True when flush's rejection was its timeout, not a failure. */
  flushTimedOut(error: unknown): boolean;
  /** The error a batch reports: the producer's own explanation added, e.g. the fatal error behind "Purged in queue". */
  explain(error: Error): Error;
}

export interface FlushConfirmerOptions {
  /** Every message is written or failed within this (librdkafka's message.timeout.ms); an epoch that is not is failed after it and a margin. */
  messageTimeoutMs: number;
  /** The wait before a full producer's queue is offered a message again. Default 5 ms. */
  queueFullPauseMs?: number;
  /** How long one flush call waits before it is called again. Default 10 s. */
  flushStepMs?: number;
  /** After a failure, how long the epoch waits for the rest of the failure reports (and the producer's error event). Default 200 ms. */
  failureSettleMs?: number;
}

interface Batch {
  topic: string;
  /** Until handed over: then dropped (the producer has its own copies), so an epoch waiting for its flush holds none. */
  messages: OutgoingMessage[];
  count: number;
  /** The batch's own failure: a message the producer refused at hand-over. */
  error?: Error;
  resolve: (result: BatchResult) => void;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export class FlushConfirmer {
  private waiting: Batch[] = [];
  private pumping = false;
  /** The first failure reported in the epoch being flushed, per topic. */
  private failures = new Map<string, Error>();

  constructor(
    private readonly producer: FlushableProducer,
    private readonly options: FlushConfirmerOptions,
  ) {}

  /** Resolves when the batch is written (or has failed); never rejects. */
  send(topic: string, messages: OutgoingMessage[]): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve) => {
      this.waiting.push({ topic, messages, count: messages.length, resolve });
      void this.pump();
    });
  }

  /** A failed message's report (the only kind of report the producer sends). */
  failed(topic: string, error: Error): void {
    if (!this.failures.has(topic)) this.failures.set(topic, error);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting.length > 0) {
        const epoch = this.waiting;
        this.waiting = [];
        for (const b of epoch) await this.handOver(b);
        const flushError = await this.flushAll();
        // A failure report is queued for this thread before its message stops counting as
        // outstanding, so before the flush ends; a turn of the event loop delivers it.
        await new Promise<void>((r) => setImmediate(r));
        if (this.failures.size > 0 || flushError || epoch.some((b) => b.error)) await sleep(this.options.failureSettleMs ?? 200);
        const failures = this.failures;
        this.failures = new Map();
        for (const b of epoch) {
          const error = b.error ?? failures.get(b.topic) ?? flushError;
          const count = b.count;
          b.resolve(error ? { ok: false, topic: b.topic, count, error: this.producer.explain(error) } : { ok: true, topic: b.topic, count });
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Hands the batch's messages over in order; a refusal other than a full queue ends the batch there. */
  private async handOver(b: Batch): Promise<void> {
    const { producer } = this;
    const { messages } = b;
    b.messages = [];
    for (let i = 0; i < messages.length; i++) {
      for (;;) {
        try {
          producer.produce(b.topic, messages[i]!);
          break;
        } catch (e) {
          if (!producer.queueIsFull(e)) {
            b.error = asError(e);
            return;
          }
          await sleep(this.options.queueFullPauseMs ?? 5);
        }
      }
    }
  }

  /** Flushes until nothing is outstanding; the error that ended it otherwise. */
  private async flushAll(): Promise<Error | undefined> {
    const limitMs = this.options.messageTimeoutMs + 30_000;
    const deadline = Date.now() + limitMs;
    for (;;) {
      try {
        await this.producer.flush(this.options.flushStepMs ?? 10_000);
        return undefined;
      } catch (e) {
        if (!this.producer.flushTimedOut(e)) return asError(e);
        if (Date.now() >= deadline) return new Error(`messages still unacknowledged ${limitMs / 1000} s after the flush began, past the message timeout (${this.options.messageTimeoutMs / 1000} s)`);
      }
    }
  }
}
