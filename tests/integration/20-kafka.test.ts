/**
 * Kafka on the real broker: TLS verified against the cluster CA, plaintext refused, 1,000 messages
 * round-trip; and the second producer backend, librdkafka (kafka.client: librdkafka, and auto's
 * choice where it loads), on the same mTLS broker and ACLs; `produce` through each.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKafkaClient } from '../../producers/kafka-client';
import type { BatchResult } from '../../producers/kafka-types';
import { ADDRESSES, BROKER, cli, CONFIG, configWithClient, ensureBaseCluster, FLIGHTS_SPEC, kafkaAs, PLAINTEXT_REFUSED, randomName, stateDir } from './harness';

/** openssl s_client's report (it writes to stderr), whether or not the handshake succeeded. */
function sClient(caFile: string): string {
  try {
    return execFileSync('sh', ['-c', `openssl s_client -connect ${BROKER} -CAfile ${caFile} -verify_return_error -verify_ip ${ADDRESSES['kafka-1']} -brief </dev/null 2>&1`]).toString();
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? e);
  }
}

describe('Kafka', () => {
  // Kafka's listeners as the base config has them, whatever the files before this one left.
  beforeAll(ensureBaseCluster);

  it('completes a TLS handshake on 9093 that verifies against the cluster CA', () => {
    const out = sClient(path.join(stateDir(), 'pki', 'ca.crt'));
    expect(out).toMatch(/Verification: OK/);
    expect(out).toMatch(/Protocol version: TLSv1\.[23]/);
  });

  it('fails verification against a CA that is not the cluster\'s', () => {
    const otherCa = path.join(stateDir(), 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-out', otherCa, '-days', '1', '-subj', '/CN=other'], { stdio: 'pipe' });
    const out = sClient(otherCa);
    expect(out).not.toMatch(/Verification: OK/);
    expect(out).toMatch(/verify error|certificate verify failed/i);
    fs.rmSync(otherCa, { force: true });
  });

  it('refuses a plaintext Kafka client', async () => {
    const plain = createKafkaClient({ brokers: [BROKER], clientId: 'plaintext-probe', connectionTimeoutMs: 3000, retries: 0 });
    await expect(plain.listTopics()).rejects.toThrow(PLAINTEXT_REFUSED);
    await plain.close();
  });

  it('creates a topic over TLS, produces 1,000 messages and consumes all 1,000', async () => {
    const client = createKafkaClient(await kafkaAs('admin'));
    const topic = randomName('itest-roundtrip');
    try {
      expect(await client.createTopic(topic, 3, 1)).toBe(true);
      const sent = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 17}`, value: JSON.stringify({ i }) }));
      await client.produce(topic, sent);
      const got = await client.consume(topic, randomName('itest-group'), 1000, 60_000);
      expect(got).toHaveLength(1000);
      const values = new Set(got.map((m) => (JSON.parse(m.value) as { i: number }).i));
      expect(values.size).toBe(1000);
      expect(Math.min(...values)).toBe(0);
      expect(Math.max(...values)).toBe(999);
    } finally {
      await client.deleteTopic(topic).catch(() => undefined);
      await client.close();
    }
  });
});

describe('Kafka through librdkafka (kafka.client: librdkafka, @confluentinc/kafka-javascript)', () => {
  beforeAll(ensureBaseCluster);

  it('loads on this machine: scripts/setup.sh built its native part', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rd = require('@confluentinc/kafka-javascript') as { librdkafkaVersion: string };
    expect(rd.librdkafkaVersion).toMatch(/^2\./);
  });

  it('produces 1,000 keyed messages over mTLS, each once, every key on the partition kafkajs gives it (Java\'s murmur2), headers and timestamps kept, as kafkajs keeps them', async () => {
    const admin = createKafkaClient(await kafkaAs('admin'));
    const rd = createKafkaClient({ ...(await kafkaAs('admin')), client: 'librdkafka' });
    const viaRd = randomName('itest-librdkafka');
    const viaJs = randomName('itest-kafkajs');
    try {
      for (const t of [viaRd, viaJs]) expect(await admin.createTopic(t, 3, 1)).toBe(true);
      // Each its own timestamp (CreateTime), as millrace produce stamps its events: a day ago, plus i ms.
      const t0 = Date.now() - 86_400_000;
      const sent = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 37}`, value: JSON.stringify({ i }), headers: { n: String(i) }, timestamp: t0 + i }));
      const producer = await rd.batchProducer({ maxInFlight: 4 });
      const results: Promise<BatchResult>[] = [];
      for (let i = 0; i < sent.length; i += 100) results.push((await producer.send(viaRd, sent.slice(i, i + 100))).result);
      await producer.close();
      const settled = await Promise.all(results);
      expect(settled.filter((r) => !r.ok)).toEqual([]);
      expect(settled.reduce((n, r) => n + r.count, 0)).toBe(1000);
      await admin.produce(viaJs, sent);
      const got = await admin.consume(viaRd, randomName('itest-group'), 1000, 60_000);
      const reference = await admin.consume(viaJs, randomName('itest-group'), 1000, 60_000);
      expect(new Set(got.map((m) => (JSON.parse(m.value) as { i: number }).i)).size).toBe(1000);
      expect(got).toHaveLength(1000);
      expect(got.every((m) => m.headers?.n === String((JSON.parse(m.value) as { i: number }).i))).toBe(true);
      const stampedAsSent = (ms: typeof got): number => ms.filter((m) => m.timestamp === String(t0 + (JSON.parse(m.value) as { i: number }).i)).length;
      expect([stampedAsSent(got), stampedAsSent(reference)]).toEqual([1000, 1000]);
      const partitionOf = (ms: typeof got): Record<string, number> => Object.fromEntries(ms.map((m) => [m.key!, m.partition]));
      expect(new Set(got.map((m) => m.partition)).size).toBe(3);
      expect(partitionOf(got)).toEqual(partitionOf(reference));
    } finally {
      for (const t of [viaRd, viaJs]) await admin.deleteTopic(t).catch(() => undefined);
      await rd.close();
      await admin.close();
    }
  });

  it('a principal without an ACL for the topic is refused, as a failed batch that names the authorization, not after minutes of retries', async () => {
    const admin = createKafkaClient(await kafkaAs('admin'));
    const intruder = createKafkaClient({ ...(await kafkaAs('itest-intruder')), client: 'librdkafka' });
    const topic = randomName('itest-librdkafka-acl');
    try {
      expect(await admin.createTopic(topic, 1, 1)).toBe(true);
      const started = Date.now();
      const producer = await intruder.batchProducer({ retryTimeoutMs: 60_000 });
      const { result } = await producer.send(topic, [{ value: 'x' }]);
      const r = await result;
      await producer.close();
      expect(r.ok).toBe(false);
      expect(String(!r.ok && r.error)).toMatch(/authoriz/i);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((await admin.topicOffsets(topic))[0]!.high).toBe('0');
    } finally {
      await admin.deleteTopic(topic).catch(() => undefined);
      await intruder.close();
      await admin.close();
    }
  });

  // The default (auto) is librdkafka here, where scripts/setup.sh built its native part; kafkajs
  // is what auto falls back to elsewhere. Each sends through `millrace produce`, as users do.
  it.each([
    ['auto (the default)', undefined, 'librdkafka'],
    ['librdkafka', 'librdkafka', 'librdkafka'],
    ['kafkajs', 'kafkajs', 'kafkajs'],
  ] as const)('`millrace produce` with kafka.client %s sends 5,000 flights events through %s, and the topic grows by exactly 5,000', async (_name, client, library) => {
    const config = client ? configWithClient(client) : CONFIG;
    expect((await cli(['topics', 'create', 'flights', '-c', config])).code).toBe(0);
    const admin = createKafkaClient(await kafkaAs('admin'));
    try {
      const total = async (): Promise<bigint> => (await admin.topicOffsets('flights')).reduce((n, p) => n + BigInt(p.high), 0n);
      const before = await total();
      const r = await cli(['produce', '--json', '--spec', FLIGHTS_SPEC, '--source', 'vega:flights-3m.parquet', '--skip', '2900000', '--limit', '5000', '--rate', 'max', '--source-name', randomName(`itest-${library}`), '-c', config]);
      expect(r.stderr.slice(-2000)).not.toMatch(/error:|warn/i);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(expect.objectContaining({ sent: 5000, client: library }));
      expect((await total()) - before).toBe(5000n);
    } finally {
      await admin.close();
    }
  });
});
