/**
 * A window of at most `max` unfinished tasks: `add` waits for room before it starts one. It is
 * the producer's backpressure, kept apart from any Kafka client so every implementation of
 * BatchProducer bounds its in-flight batches the same way.
 *
 * With a floor, the window also lets tasks in past `max` while their weights (a batch's messages)
 * add up to less than the floor: a producer that acknowledges by flushing (librdkafka's,
 * flush-confirmer.ts) needs a few thousand messages in flight whatever the batch size.
 */
export class InFlightWindow<T> {
  private readonly running = new Set<Promise<T>>();
  private weight = 0;

  constructor(
    private readonly max: number,
    private readonly floor = 0,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`in-flight limit must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.running.size;
  }

  /** Waits until fewer than `max` tasks run (or their weights are under the floor), then starts `start` (which must not reject). */
  async add(start: () => Promise<T>, weight = 1): Promise<{ result: Promise<T> }> {
    // Re-checked after every wake-up: another caller may have taken the freed slot first.
    while (this.running.size >= this.max && this.weight >= this.floor) await Promise.race(this.running);
    const result = start();
    this.running.add(result);
    this.weight += weight;
    const done = (): void => {
      this.running.delete(result);
      this.weight -= weight;
    };
    result.then(done, done);
    return { result };
  }

  /** Resolves once every task started so far, and any started meanwhile, has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
