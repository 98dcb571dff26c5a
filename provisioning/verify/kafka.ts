/**
 * Kafka from the operator's side, as any client sees it: a plaintext client, a TLS client without
 * a certificate, and a client whose certificate names a principal with no ACLs are each refused,
 * while the admin principal gets in (the control that shows the brokers are up).
 */
import { createKafkaClient } from '../../producers/kafka-client';
import type { KafkaConnection } from '../../producers/kafka-types';
import type { VerifyRow } from './types';

export const INTRUDER_PRINCIPAL = 'millrace-verify-intruder';

export interface KafkaProbeInput {
  brokers: string[];
  caPem: string;
  admin: { certPem: string; keyPem: string };
  intruder: { certPem: string; keyPem: string };
}

async function attempt<T>(conn: KafkaConnection, fn: (c: ReturnType<typeof createKafkaClient>) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  const client = createKafkaClient({ connectionTimeoutMs: 4000, retries: 0, ...conn });
  try {
    return { ok: true, value: await fn(client) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 160) : String(error) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function verifyKafka(input: KafkaProbeInput): Promise<VerifyRow[]> {
  const target = input.brokers.join(',');
  const base = { brokers: input.brokers, clientId: 'millrace-verify' };
  const admin = await attempt({ ...base, tls: { caPem: input.caPem, ...input.admin } }, (c) => c.listTopics());
  const plain = await attempt(base, (c) => c.listTopics());
  const noCert = await attempt({ ...base, tls: { caPem: input.caPem } }, (c) => c.listTopics());
  const topic = `millrace-verify-${Date.now().toString(36)}`;
  const intruderCreate = await attempt({ ...base, tls: { caPem: input.caPem, ...input.intruder } }, (c) => c.createTopic(topic, 1, 1));
  const intruderList = await attempt({ ...base, tls: { caPem: input.caPem, ...input.intruder } }, (c) => c.listTopics());
  if (intruderCreate.ok) await attempt({ ...base, tls: { caPem: input.caPem, ...input.admin } }, (c) => c.deleteTopic(topic));
  const visible = intruderList.ok ? intruderList.value.filter((t) => !t.startsWith('__')) : [];
  return [
    { check: 'Kafka: the admin principal gets in (control)', target, ok: admin.ok, detail: admin.ok ? `${admin.value.length} topics visible` : admin.error },
    { check: 'Kafka: a plaintext client is refused', target, ok: !plain.ok, detail: plain.ok ? 'a PLAINTEXT client listed topics' : `refused: ${plain.error}` },
    { check: 'Kafka: a TLS client without a certificate is refused', target, ok: !noCert.ok, detail: noCert.ok ? 'a client without a certificate listed topics' : `refused: ${noCert.error}` },
    {
      check: 'Kafka: a principal without ACLs is refused',
      target,
      ok: !intruderCreate.ok && visible.length === 0,
      detail: intruderCreate.ok
        ? `User:${INTRUDER_PRINCIPAL} created a topic`
        : visible.length
          ? `User:${INTRUDER_PRINCIPAL} sees topics: ${visible.slice(0, 5).join(', ')}`
          : `User:${INTRUDER_PRINCIPAL} can neither create nor see topics (${intruderCreate.error})`,
    },
  ];
}
