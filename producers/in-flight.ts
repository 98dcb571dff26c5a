/**
 * A window of at most `max` unfinished tasks: `add` waits for room before it starts one. It is
 * the producer's backpressure, kept apart from any Kafka client so every implementation of
 * BatchProducer bounds its in-flight batches the same way.
 */
export class InFlightWindow<T> {
  private readonly running = new Set<Promise<T>>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`in-flight limit must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.running.size;
  }

  /** Waits until fewer than `max` tasks run, then starts `start` (which must not reject). */
  async add(start: () => Promise<T>): Promise<{ result: Promise<T> }> {
    // Re-checked after every wake-up: another caller may have taken the freed slot first.
    while (this.running.size >= this.max) await Promise.race(this.running);
    const result = start();
    this.running.add(result);
    const done = (): void => void this.running.delete(result);
    result.then(done, done);
    return { result };
  }

  /** Resolves once every task started so far, and any started meanwhile, has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
