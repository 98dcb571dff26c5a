/**
 * A Kafka client's close is bounded (producers/kafka-client.ts disconnectWithin): kafkajs's
 * disconnect waits for every request queued on a connection, which can last until the broker drops
 * the idle connection (10 minutes). A disconnect that never ends is left after the wait, with a
 * warning; one that ends is waited for, silently; one that fails is reported as failed.
 */
import { createLogger, setRootLogger } from '../../../lib/logger';
import { disconnectWithin } from '../../../producers/kafka-client';

describe('disconnectWithin', () => {
  const logged: string[] = [];
  beforeAll(() => setRootLogger(createLogger('info', { write: (line: string) => void logged.push(line) })));
  afterAll(() => setRootLogger(createLogger()));
  beforeEach(() => (logged.length = 0));

  it('leaves a disconnect that never ends after the wait, with a warning naming the client', async () => {
    const started = Date.now();
    await disconnectWithin('producer', () => new Promise<void>(() => undefined), 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(logged.join('\n')).toMatch(/the Kafka producer did not disconnect within 0.3 s/);
  });

  it('waits for a disconnect that ends, and says nothing', async () => {
    let done = false;
    await disconnectWithin('admin client', () => new Promise<void>((r) => setTimeout(() => ((done = true), r()), 50)), 5000);
    expect(done).toBe(true);
    expect(logged).toEqual([]);
  });

  it('passes on a disconnect that fails', async () => {
    await expect(disconnectWithin('producer', () => Promise.reject(new Error('socket gone')), 5000)).rejects.toThrow('socket gone');
  });
});
