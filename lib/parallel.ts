import { AggregateFailure } from './errors';

export type Settled<T> = { where: string; ok: true; value: T } | { where: string; ok: false; error: unknown };

/** Runs fn over items with at most `limit` at once and gathers every result, failures included. */
export async function mapSettled<I, T>(
  items: readonly I[],
  limit: number,
  where: (item: I) => string,
  fn: (item: I) => Promise<T>,
): Promise<Settled<T>[]> {
  const results: Settled<T>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      const item = items[i] as I;
      try {
        results[i] = { where: where(item), ok: true, value: await fn(item) };
      } catch (error) {
        results[i] = { where: where(item), ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Like mapSettled, but throws one error naming every item that failed. */
export async function mapAll<I, T>(
  what: string,
  items: readonly I[],
  limit: number,
  where: (item: I) => string,
  fn: (item: I) => Promise<T>,
): Promise<T[]> {
  const results = await mapSettled(items, limit, where, fn);
  const failures = results.flatMap((r) => (r.ok ? [] : [{ where: r.where, error: r.error }]));
  if (failures.length) throw new AggregateFailure(what, failures);
  return results.map((r) => (r as { value: T }).value);
}

/** At most `size` tasks at once; the others wait their turn, first come first served. */
export class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot take it in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}

/** Reports an item's current step; the provisioner calls it, the CLI shows it. */
export type Report = (message: string) => void;

/** Runs a per-host pipeline over hosts and gathers every outcome; the CLI's runner adds live progress. */
export type HostRunner = <I, T>(
  title: string,
  items: readonly I[],
  name: (item: I) => string,
  fn: (item: I, report: Report) => Promise<T>,
) => Promise<Settled<T>[]>;
