import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { parsePipelineSpecText } from '../../../lib/pipeline-spec';
import { fromKafkaJsAcl, toKafkaJsAcl } from '../../../producers/kafka-client';
import { ACL_OPERATIONS, AclBinding } from '../../../producers/kafka-types';
import { formatSummary, ProgressMeter } from '../../../producers/progress';
import { FetchLike, httpSource } from '../../../producers/sources/http';
import { syntheticRecord, syntheticSource } from '../../../producers/sources/synthetic';
import type { SourceItem } from '../../../producers/sources/types';
import { autoReplicationFactor, formatAcl, formatTopicDescription, planTopics } from '../../../producers/topic-plan';

const spec = parsePipelineSpecText(`
name: t
topic: t
id: event_id
eventTime: at
fields:
  - { name: at, type: timestamp, required: true }
  - { name: n, type: int }
  - { name: big, type: long }
  - { name: x, type: double }
  - { name: flag, type: boolean }
  - { name: code, type: string }
`);

describe('topics create plan', () => {
  it('creates the topic and its DLQ, and grants the pipeline principal exactly what it needs', () => {
    const plan = planTopics({ name: 'flights', partitions: 3, brokers: 1, dlq: true, principal: 'pipeline' });
    expect(plan.topics).toEqual([
      { name: 'flights', partitions: 3, replicationFactor: 1, config: { 'min.insync.replicas': '1' } },
      { name: 'flights.dlq', partitions: 3, replicationFactor: 1, config: { 'min.insync.replicas': '1' } },
    ]);
    expect(plan.acls.map(formatAcl)).toEqual([
      'ALLOW User:pipeline READ on topic flights',
      'ALLOW User:pipeline WRITE on topic flights',
      'ALLOW User:pipeline DESCRIBE on topic flights',
      'ALLOW User:pipeline READ on topic flights.dlq',
      'ALLOW User:pipeline WRITE on topic flights.dlq',
      'ALLOW User:pipeline DESCRIBE on topic flights.dlq',
      'ALLOW User:pipeline READ on group pipeline-*',
    ]);
    expect(plan.acls.every((a) => a.host === '*')).toBe(true);
  });

  it('skips the DLQ with --no-dlq and sizes auto replication to the brokers, at most 3', () => {
    const plan = planTopics({ name: 'x', partitions: 6, replicationFactor: undefined, brokers: 5, dlq: false, principal: 'etl' });
    expect(plan.topics).toEqual([{ name: 'x', partitions: 6, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }]);
    expect(plan.acls.at(-1)).toMatchObject({ resourceType: 'group', resourceName: 'etl-', patternType: 'prefixed', principal: 'User:etl' });
    expect([0, 1, 2, 3, 9].map(autoReplicationFactor)).toEqual([1, 1, 2, 3, 3]);
  });

  it("scopes a principal's groups to <principal>-, so pipe's grant does not cover pipeline's groups", () => {
    const group = (principal: string): string => planTopics({ name: 't', partitions: 1, brokers: 1, dlq: false, principal }).acls.find((a) => a.resourceType === 'group')!.resourceName;
    const covers = (principal: string, groupId: string): boolean => groupId.startsWith(group(principal));
    expect(group('pipe')).toBe('pipe-');
    expect(covers('pipe', 'pipeline-ingest-events')).toBe(false);
    // Control: the owner's groups, and pipe's own.
    expect(covers('pipeline', 'pipeline-ingest-events')).toBe(true);
    expect(covers('pipe', 'pipe-consume-1')).toBe(true);
  });

  it('refuses to grant a wildcard or an unmappable principal', () => {
    for (const principal of ['*', 'pipe*', 'User:x', 'a,OU=kafka-broker'])
      expect(() => planTopics({ name: 't', partitions: 1, brokers: 1, dlq: false, principal })).toThrow(principal.includes('*') ? /is a wildcard, not a principal/ : /is not a usable principal name/);
    expect(planTopics({ name: 't', partitions: 1, brokers: 1, dlq: false, principal: 'etl' }).acls).toHaveLength(4);
  });

  it('describes a topic for people', () => {
    const text = formatTopicDescription(
      { name: 'flights', partitions: [{ partition: 0, leader: 1, replicas: [1], isr: [1] }], config: { 'retention.ms': '604800000', 'min.insync.replicas': '1' } },
      planTopics({ name: 'flights', partitions: 1, brokers: 1, dlq: false, principal: 'pipeline' }).acls.slice(0, 1),
    );
    expect(text).toBe(
      'flights: 1 partitions, replication factor 1\n  partition 0: leader 1, replicas [1], isr [1]\n  config: min.insync.replicas=1, retention.ms=604800000\n  acls:\n    ALLOW User:pipeline READ on topic flights',
    );
  });
});

describe('kafkajs ACL mapping', () => {
  it('maps every operation and round-trips', () => {
    for (const operation of ACL_OPERATIONS) {
      const a: AclBinding = { resourceType: 'group', resourceName: 'pipeline', patternType: 'prefixed', principal: 'User:pipeline', host: '*', operation, permission: 'allow' };
      expect(fromKafkaJsAcl(toKafkaJsAcl(a))).toEqual(a);
    }
    expect(toKafkaJsAcl({ resourceType: 'topic', resourceName: 'f', patternType: 'literal', principal: 'User:p', host: '*', operation: 'write', permission: 'deny' })).toEqual({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: 'f',
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: 'User:p',
      host: '*',
      operation: AclOperationTypes.WRITE,
      permissionType: AclPermissionTypes.DENY,
    });
  });
});

describe('synthetic source', () => {
  it('fills every field by type, the same for the same seed and position', () => {
    const r = syntheticRecord(spec, 5, { seed: 42 });
    expect(r).toEqual(syntheticRecord(spec, 5, { seed: 42 }));
    expect(r).not.toEqual(syntheticRecord(spec, 5, { seed: 43 }));
    expect(r.at).toBe('2024-01-01T00:00:05.000Z');
    expect(Number.isInteger(r.n) && (r.n as number) >= 0 && (r.n as number) < 1000).toBe(true);
    expect(Number.isInteger(r.big)).toBe(true);
    expect(typeof r.x).toBe('number');
    expect(typeof r.flag).toBe('boolean');
    expect(r.code).toMatch(/^[A-Z]{3}$/);
    expect(Object.keys(r)).toEqual(['at', 'n', 'big', 'x', 'flag', 'code']);
  });

  it('keeps string fields to a small vocabulary, so keys repeat', () => {
    const codes = new Set([...Array(2000).keys()].map((p) => syntheticRecord(spec, p, { seed: 1, cardinality: 10 }).code));
    expect(codes.size).toBeLessThanOrEqual(10);
    expect(codes.size).toBeGreaterThan(5);
  });

  it('makes every n-th record invalid when asked', async () => {
    const items: SourceItem[] = [];
    const stop = new AbortController();
    for await (const i of syntheticSource(spec, { seed: 1, invalidEvery: 3 }).read({ skip: 1, signal: stop.signal })) {
      items.push(i);
      if (items.length === 6) stop.abort();
    }
    expect(items.map((i) => i.position)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(items.filter((i) => 'record' in i && typeof i.record.at === 'object').map((i) => i.position)).toEqual([2, 5]);
  });
});

describe('HTTP source', () => {
  it('polls, numbers records across polls, and retries a failing poll', async () => {
    const bodies = ['[{"a":1},{"a":2}]', 'ERR503', '{"a":3}\nnope\n'];
    const calls: string[] = [];
    const fetch: FetchLike = async (url) => {
      calls.push(url);
      const body = bodies.shift() ?? '';
      if (body === 'ERR503') return { ok: false, status: 503, text: async () => '' };
      return { ok: true, status: 200, text: async () => body };
    };
    const source = httpSource({ url: 'http://127.0.0.1:8080/feed', pollIntervalMs: 1, fetch, retryBackoffMs: 1 });
    expect(source.name).toBe('127.0.0.1:8080/feed');
    const stop = new AbortController();
    const items: SourceItem[] = [];
    for await (const i of source.read({ skip: 1, signal: stop.signal })) {
      items.push(i);
      if (items.length === 3) stop.abort();
    }
    expect(items).toEqual([
      { position: 1, record: { a: 2 } },
      { position: 2, record: { a: 3 } },
      { position: 3, unparseable: expect.stringMatching(/^invalid JSON: /), raw: 'nope' },
    ]);
    expect(calls).toHaveLength(3);
  });

  it('gives up on a client error with the status in the message', async () => {
    const fetch: FetchLike = async () => ({ ok: false, status: 404, text: async () => '' });
    const read = async (): Promise<void> => {
      for await (const _ of httpSource({ url: 'http://127.0.0.1/none', pollIntervalMs: 1, fetch }).read({ skip: 0, signal: new AbortController().signal })) void _;
    };
    await expect(read()).rejects.toThrow('GET http://127.0.0.1/none answered HTTP 404');
  });
});

describe('progress text', () => {
  it('shows the current and average rate, DLQ and errors', () => {
    const m = new ProgressMeter(0);
    expect(m.line({ read: 1000, sent: 990, dlq: 10, errors: 0 }, 1000)).toBe('sent 990  990/s (avg 990/s)  dlq 10  errors 0  read 1,000  1s');
    expect(m.line({ read: 5000, sent: 4990, dlq: 10, errors: 0 }, 2000)).toBe('sent 4,990  4,000/s (avg 2,495/s)  dlq 10  errors 0  read 5,000  2s');
  });

  it('summarizes a run, with where to resume when interrupted', () => {
    expect(
      formatSummary({ topic: 'flights', dlqTopic: 'flights.dlq', source: 'f.parquet', read: 12, sent: 10, dlq: 2, errors: 0, seconds: 2, rate: 5, firstId: 'f.parquet#0', lastId: 'f.parquet#11', nextPosition: 12, interrupted: true }),
    ).toBe(
      'interrupted; flushed what was read. produced from f.parquet in 2.0s\n  sent    10 to flights (5 events/s)\n  dlq     2 to flights.dlq\n  errors  0\n  ids     f.parquet#0 … f.parquet#11\n  resume  --skip 12',
    );

    // The library that produced, when the producer said (kafka.client: auto comes to one of them).
    expect(formatSummary({ topic: 'f', dlqTopic: 'f.dlq', source: 's', read: 1, sent: 1, dlq: 0, errors: 0, seconds: 1, rate: 1, firstId: null, lastId: null, nextPosition: 1, interrupted: false, client: 'librdkafka' }).split('\n')[0]).toBe(
      'produced from s in 1.0s with librdkafka',
    );
  });
});
