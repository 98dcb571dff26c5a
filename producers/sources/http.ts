/**
 * An HTTP endpoint polled at an interval. Each answer is a JSON array of objects or JSON Lines.
 * Positions run on across polls, so ids are stable only while the endpoint serves the same
 * sequence; records that carry their own id (the spec's `id` field) are stable regardless.
 */
import { MillraceError } from '../../lib/errors';
import { logger } from '../../lib/logger';
import { withRetry } from '../../lib/retry';
import { parseJsonLine, ParsedLine, toRecord } from './jsonl';
import type { ReadOptions, RecordSource, SourceItem } from './types';

export type FetchLike = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export interface HttpSourceOptions {
  url: string;
  pollIntervalMs: number;
  /** Injected by tests; the global fetch otherwise. */
  fetch?: FetchLike;
  /** Attempts per poll before the source gives up. */
  retries?: number;
  retryBackoffMs?: number;
}

/** Splits one response body into records: a JSON array when it is one, JSON Lines otherwise. */
export function parseHttpBody(body: string): ParsedLine[] {
  const text = body.trim();
  if (text === '') return [];
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return parsed.map((v) => toRecord(v, JSON.stringify(v)));
    } catch {
      // Not one JSON array after all (e.g. JSON Lines whose first line is an array): read it by line.
    }
  }
  return text.split(/\r?\n/).filter((l) => l.trim() !== '').map(parseJsonLine);
}

/** Waits `ms`, or less if the signal aborts; never rejects. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function httpSource(options: HttpSourceOptions): RecordSource {
  const url = new URL(options.url);
  const doFetch: FetchLike = options.fetch ?? ((u, init) => fetch(u, init));
  const log = logger().child({ source: `${url.host}${url.pathname}` });
  return {
    name: `${url.host}${url.pathname}`,
    textValues: false,
    async *read({ skip, signal }: ReadOptions): AsyncIterable<SourceItem> {
      let position = 0;
      while (!signal.aborted) {
        const body = await withRetry(
          async () => {
            let res: Awaited<ReturnType<FetchLike>>;
            try {
              res = await doFetch(options.url, { signal, headers: { accept: 'application/json, application/x-ndjson' } });
            } catch (error) {
              if (signal.aborted) return '';
              throw new MillraceError(`GET ${options.url} failed: ${(error as Error).message}`, { retriable: true, cause: error });
            }
            if (!res.ok)
              throw new MillraceError(`GET ${options.url} answered HTTP ${res.status}`, { retriable: res.status >= 500 || res.status === 429, hint: 'check the --source URL' });
            return res.text();
          },
          {
            retries: options.retries ?? 3,
            backoff: options.retryBackoffMs ?? 500,
            onRetry: (error, attempt) => log.warn({ attempt }, (error as Error).message),
          },
        );
        for (const parsed of parseHttpBody(body)) {
          const p = position++;
          if (p >= skip) yield { position: p, ...parsed };
        }
        await abortableSleep(options.pollIntervalMs, signal);
      }
    },
  };
}
