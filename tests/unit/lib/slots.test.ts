import { Slots } from '../../../lib/parallel';

describe('Slots, the limit on commands at once over one SSH connection', () => {
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('runs at most its size at once, the others in the order they came, and frees a slot on failure too', async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const gates: (() => void)[] = [];
    const task = (i: number, fail = false) =>
      slots.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await new Promise<void>((r) => gates.push(r));
        running--;
        if (fail) throw new Error(`task ${i} failed`);
        return i;
      });
    const all = [task(0, true), task(1), task(2), task(3), task(4)].map((p) => p.catch((e: Error) => e.message));
    await tick();
    expect(started).toEqual([0, 1]);
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    expect(await Promise.all(all)).toEqual(['task 0 failed', 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});
