/** Kafka on the real broker: TLS verified against the cluster CA, plaintext refused, 1,000 messages round-trip. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKafkaClient } from '../../producers/kafka-client';
import { ADDRESSES, BROKER, ensureBaseCluster, kafkaAs, PLAINTEXT_REFUSED, randomName, stateDir } from './harness';

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
