/**
 * One send at a time per partition. kafkajs's idempotent producer is only correct when no two
 * sends in flight touch the same partition and each send reaches one broker:
 * - it numbers a send's records when the send starts and takes the numbers back when the send
 *   fails, so a second send to the same partition meanwhile (after a leader change, to the new
 *   leader) gets numbers the broker refuses (OUT_OF_ORDER_SEQUENCE_NUMBER, fatal);
 * - a send that spans brokers retries only the brokers that have not answered, so records whose
 *   partition moved to a broker that already answered are dropped while the send resolves.
 * Both happen during a rolling restart with replicated topics. So the batch producer splits every
 * batch by partition and sends each part in its partition's lane; lanes of different partitions
 * run side by side.
 */
export class PartitionLanes {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `send` after every earlier send in the same lane has finished. */
  run<T>(lane: string, send: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(lane) ?? Promise.resolve();
    const mine = previous.then(send, send);
    const tail = mine.catch(() => undefined);
    this.tails.set(lane, tail);
    // Forget an idle lane, so a long run over many partitions keeps no chain per partition ever used.
    void tail.then(() => {
      if (this.tails.get(lane) === tail) this.tails.delete(lane);
    });
    return mine;
  }
}

/** Groups messages by the partition `partitionOf` gives each, keeping their order within a partition. */
export function byPartition<M>(messages: readonly M[], partitionOf: (message: M) => number): Map<number, M[]> {
  const out = new Map<number, M[]>();
  for (const m of messages) {
    const p = partitionOf(m);
    const group = out.get(p);
    if (group) group.push(m);
    else out.set(p, [m]);
  }
  return out;
}
