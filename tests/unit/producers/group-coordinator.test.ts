/**
 * A consumer's wait for its group's coordinator: ridden through while the brokers create it,
 * bounded, and never for a group the principal may not use. Through the in-memory Kafka, which
 * joins groups with the same ride-through as the kafkajs client; and the kafkajs side's reading
 * of the broker's answers from its log records.
 */
import { TimeoutError } from '../../../lib/errors';
import { createLogger, setRootLogger } from '../../../lib/logger';
import { runConsume } from '../../../consumers/consume';
import { coordinatorAnswer, createKafkaClient } from '../../../producers/kafka-client';
import { CoordinatorNotReady, GroupRefused, judgeCoordinatorAnswers } from '../../../producers/group-coordinator';
import { fakeKafka } from './fake-kafka';
import { ERROR, scriptedBroker } from './scripted-broker';

const seed = async (kafka: ReturnType<typeof fakeKafka>): Promise<void> => kafka.produce('flights', Array.from({ length: 3 }, (_, i) => ({ value: `{"event_id":"e${i}"}` })));

describe('waiting for the group coordinator', () => {
  it('rides through "coordinator not available" while the brokers create it, then consumes', async () => {
    const kafka = fakeKafka({ coordinatorNotReadyFor: 3 });
    await seed(kafka);
    const got = await kafka.consume('flights', 'pipeline-itest', 3, 10_000);
    expect(got.map((m) => m.value)).toEqual(['{"event_id":"e0"}', '{"event_id":"e1"}', '{"event_id":"e2"}']);
    expect(kafka.joinAttempts).toEqual(['pipeline-itest', 'pipeline-itest', 'pipeline-itest', 'pipeline-itest']);
  });

  it('does so for `millrace consume` too (a tail right after `up`)', async () => {
    const kafka = fakeKafka({ coordinatorNotReadyFor: 2 });
    await seed(kafka);
    const lines: string[] = [];
    const r = await runConsume({ client: kafka, topic: 'flights', groupId: 'pipeline-consume-1', fromBeginning: true, commit: false, count: 3, format: 'raw', signal: new AbortController().signal, write: (l) => lines.push(l) });
    expect(r.messages).toBe(3);
    expect(lines).toHaveLength(3);
    expect(kafka.joinAttempts).toHaveLength(3);
  });

  it('gives up after its own bound, naming the group, the brokers and their last answer', async () => {
    const kafka = fakeKafka({ coordinatorNotReadyFor: Infinity, coordinatorWaitMs: 100 });
    await seed(kafka);
    const error = await kafka.consume('flights', 'pipeline-late', 1, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(
      /^timed out after \d+s waiting for a coordinator for consumer group "pipeline-late" on 127\.0\.0\.11:9093; last error: 127\.0\.0\.11:9093 answered "The group coordinator is not available" for consumer group "pipeline-late"$/,
    );
    expect((error as TimeoutError).hint).toMatch(/__consumer_offsets.*millrace status/);
    expect(kafka.joinAttempts.length).toBeGreaterThan(2);
  });

  it('refuses a group the principal may not use at once, as an authorization failure, without waiting', async () => {
    const kafka = fakeKafka({ refusedGroups: /^not-my-group/, coordinatorWaitMs: 60_000 });
    await seed(kafka);
    const started = Date.now();
    const error = await kafka.consume('flights', 'not-my-group-1', 1, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupRefused);
    expect((error as Error).message).toBe('the brokers refused consumer group "not-my-group-1": 127.0.0.11:9093 answered "Not authorized to access group: Group authorization failed"');
    expect((error as Error).message).toMatch(/authoriz/i);
    expect(kafka.joinAttempts).toEqual(['not-my-group-1']);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('judges the answers: any refusal is final, a last "not available" or "loading" is worth waiting for, anything else is not', () => {
    const a = (error: string): { broker: string; error: string } => ({ broker: 'b:9093', error });
    expect(judgeCoordinatorAnswers('g', [a('The group coordinator is not available'), a('Not authorized to access group: Group authorization failed')])).toBeInstanceOf(GroupRefused);
    expect(judgeCoordinatorAnswers('g', [a('The group coordinator is not available')])).toBeInstanceOf(CoordinatorNotReady);
    expect(judgeCoordinatorAnswers('g', [a("The coordinator is loading and hence can't process requests for this group")])).toBeInstanceOf(CoordinatorNotReady);
    expect(judgeCoordinatorAnswers('g', [a('The request timed out')])).toBeUndefined();
    expect(judgeCoordinatorAnswers('g', [])).toBeUndefined();
  });

  it("reads the broker's answer from kafkajs's error record of a failed FindCoordinator response, and nothing else", () => {
    const entry = (log: Record<string, unknown>) => ({ namespace: 'Connection', level: 1, label: 'ERROR', log: { timestamp: 't', logger: 'kafkajs', message: '', ...log } });
    expect(coordinatorAnswer(entry({ message: 'Response GroupCoordinator(key: 10, version: 2)', broker: '127.0.0.31:9093', clientId: 'c', error: 'The group coordinator is not available', correlationId: 3 }))).toEqual({
      broker: '127.0.0.31:9093',
      error: 'The group coordinator is not available',
    });
    expect(coordinatorAnswer(entry({ message: 'Response Metadata(key: 3, version: 6)', broker: 'b', error: 'x' }))).toBeUndefined();
    expect(coordinatorAnswer(entry({ message: 'Crash: KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator' }))).toBeUndefined();
  });
});

describe('the kafkajs client, against a broker that scripts its FindCoordinator answers', () => {
  let logged: string[] = [];
  beforeEach(() => {
    logged = [];
    setRootLogger(createLogger('info', { write: (line: string) => void logged.push(line) }));
  });
  afterAll(() => setRootLogger(createLogger()));

  const consumeFrom = async (answer: (n: number) => number, waitMs: number): Promise<{ error: unknown; lookups: string[] }> => {
    const broker = await scriptedBroker(answer);
    // retries: 0, as a connection's own retries do not extend the wait (the tests' connections have 1).
    const client = createKafkaClient({ brokers: [broker.address], clientId: 'unit', retries: 0, connectionTimeoutMs: 2000, groupCoordinatorWaitMs: waitMs });
    try {
      return { error: await client.consume('flights', 'pipeline-unit', 1, 60_000).then(() => undefined, (e: unknown) => e), lookups: broker.lookups };
    } finally {
      await client.close();
      await broker.close();
    }
  };

  it('asks again while the coordinator is not available, and takes a refusal that follows as final', async () => {
    const { error, lookups } = await consumeFrom((n) => (n < 2 ? ERROR.coordinatorNotAvailable : ERROR.groupAuthorizationFailed), 30_000);
    expect(error).toBeInstanceOf(GroupRefused);
    expect((error as Error).message).toMatch(/^the brokers refused consumer group "pipeline-unit": 127\.0\.0\.1:\d+ answered "Not authorized to access group: Group authorization failed"$/);
    expect(lookups).toEqual(['pipeline-unit', 'pipeline-unit', 'pipeline-unit']);
    // Progress while it waits, on stderr through the logger.
    expect(logged.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'waiting for a coordinator for consumer group pipeline-unit: The group coordinator is not available',
      'waiting for a coordinator for consumer group pipeline-unit: The group coordinator is not available',
    ]);
  });

  it('refuses a group at once, without waiting', async () => {
    const { error, lookups } = await consumeFrom(() => ERROR.groupAuthorizationFailed, 30_000);
    expect(error).toBeInstanceOf(GroupRefused);
    expect(lookups).toEqual(['pipeline-unit']);
  });

  it('gives up after groupCoordinatorWaitMs when the coordinator never comes, naming the group and the broker', async () => {
    const { error, lookups } = await consumeFrom(() => ERROR.coordinatorNotAvailable, 1500);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/waiting for a coordinator for consumer group "pipeline-unit" on 127\.0\.0\.1:\d+; last error: 127\.0\.0\.1:\d+ answered "The group coordinator is not available"/);
    expect(lookups.length).toBeGreaterThanOrEqual(2);
  });
});
