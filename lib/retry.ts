import { MillraceError, TimeoutError } from './errors';

export interface RetryOptions {
  retries: number;
  /** Base delay in ms; doubles each attempt. */
  backoff?: number;
  /** Fraction of random jitter added to each delay (0..1). */
  jitter?: number;
  /** Decides whether an error is worth another try. Default: MillraceError.retriable. */
  isRetriable?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number) => void;
}

const defaultRetriable = (e: unknown): boolean => e instanceof MillraceError && e.retriable;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn, retrying only retriable errors. The final error names the number of attempts. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { retries, backoff = 500, jitter = 0.2, isRetriable = defaultRetriable } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (attempt > retries) {
        if (error instanceof Error && attempt > 1) error.message = `${error.message} (after ${attempt} attempts)`;
        throw error;
      }
      options.onRetry?.(error, attempt);
      const delay = backoff * 2 ** (attempt - 1);
      await sleep(delay + Math.random() * jitter * delay);
    }
  }
}

export interface WaitOptions {
  timeout: number;
  interval?: number;
  /** What we wait for, for the timeout message: "Kafka on kafka-1 to accept TLS connections". */
  what: string;
  hint?: string;
}

/** Polls check until it returns a truthy value; the timeout error says what it waited for. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const { timeout, interval = 1000, what } = options;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result) return result;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? `; last error: ${last.message}` : '';
      throw new TimeoutError(`timed out after ${Math.round(timeout / 1000)}s waiting for ${what}${detail}`, {
        hint: options.hint,
        cause: last,
      });
    }
    await sleep(interval);
  }
}
