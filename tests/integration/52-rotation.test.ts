/**
 * Certificate rotation on the real cluster (issue 12, point 5) and verify's expiry row (point 10).
 *
 * A broker certificate valid for one day, put in place by `up`, makes verify's expiry row for it
 * fail (the other certificate rows pass: the control). Then a producer sends a fixed number of
 * records, in small batches, while `millrace certs rotate` re-issues every certificate and
 * restarts every service one node at a time, the Kafka broker included. Afterwards: every record
 * is in the topic (at least once: the producer resends a batch whose send failed while the broker
 * was down, and a batch the broker wrote before the failure was seen can come twice; the test
 * counts both), the broker presents a certificate with a new serial, verify passes, and the
 * client certificates behave as documented for a same-CA rotation: the old one still works (the
 * same CA; nothing is revoked), and so does the re-issued one.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { createKafkaClient } from '../../producers/kafka-client';
import type { KafkaClient, KafkaConnection } from '../../producers/kafka-types';
import { clientCredentials } from '../../provisioning/cluster-state';
import { ClusterCa, sanFor } from '../../provisioning/pki/cluster-ca';
import { pemCertificates } from '../../provisioning/pki/expiry';
import { ADDRESSES, BROKER, cli, CLUSTER, CONFIG, ensureBaseCluster, node, randomName, stateDir } from './harness';

interface VerifyJson {
  ok: boolean;
  checks: { check: string; target: string; ok: boolean; detail: string }[];
}

const BROKER_ROW = 'certificate expiry: O=millrace, OU=kafka-broker, CN=kafka-1';
const PRINCIPAL = 'rotation-producer';
const RECORDS = 1500;
const BATCH = 5;
/** Between batches while the rotation runs: 300 batches take at least 3 minutes, longer than the rotation. */
const PACE_MS = 600;

/** The serial and expiry of the certificate the broker presents to a client, read over the wire from this machine. */
function brokerCertificate(): { serial: string; notAfter: Date } {
  const pem = execFileSync('sh', ['-c', `timeout 20 openssl s_client -connect ${BROKER} </dev/null 2>/dev/null | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'`]).toString();
  const cert = pemCertificates(pem)[0];
  if (!cert) throw new Error(`the broker at ${BROKER} presented no certificate`);
  return { serial: cert.serialNumber, notAfter: cert.notAfter };
}

async function verifyJson(): Promise<{ code: number | null; rows: VerifyJson['checks']; stderr: string }> {
  const r = await cli(['verify', '--json', '-c', CONFIG], { timeoutMs: 5 * 60_000 });
  const parsed = JSON.parse(r.stdout) as VerifyJson;
  return { code: r.code, rows: parsed.checks, stderr: r.stderr };
}

const connection = (tls: { certPem: string; keyPem: string; caPem: string }, clientId: string): KafkaConnection => ({
  brokers: [BROKER],
  clientId,
  tls: { caPem: tls.caPem, certPem: tls.certPem, keyPem: tls.keyPem },
  connectionTimeoutMs: 5000,
  retries: 2,
});

/** When a unit last entered the active state on a node, epoch ms. */
async function activeSince(nodeName: keyof typeof ADDRESSES, unit: string): Promise<number> {
  const host = await node(nodeName);
  try {
    const out = await host.execOrThrow(`systemctl show -p ActiveEnterTimestamp --value ${unit} | xargs -I{} date -d {} +%s%3N`);
    return Number(out.trim());
  } finally {
    await host.close();
  }
}

beforeAll(ensureBaseCluster, 20 * 60_000);

describe('certificate expiry and rotation on the live cluster', () => {
  const topic = randomName('itest-rotation');
  let oldClient: { certPem: string; keyPem: string; caPem: string };
  let shortSerial: string;

  beforeAll(async () => {
    const r = await cli(['topics', 'create', topic, '--partitions', '1', '--no-dlq', '--principal', PRINCIPAL, '-c', CONFIG]);
    expect(r.code).toBe(0);
    oldClient = await clientCredentials(CLUSTER, PRINCIPAL);
  });

  it('a broker certificate that expires within a day fails its verify row; the other certificates pass', async () => {
    // By the API, as `up` would issue it, but valid for one day; `up` then puts it on the broker.
    const kafka = readInventory(CLUSTER).nodes.find((n) => n.name === 'kafka-1')!;
    const ca = await ClusterCa.open(path.join(stateDir(), 'pki'), CLUSTER);
    const short = await ca.issue({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', days: 1, fresh: true, ...sanFor([kafka.name, 'localhost'], [kafka.privateAddress, kafka.publicAddress, kafka.sshAddress]) });
    shortSerial = pemCertificates(short.certPem)[0]!.serialNumber;
    const up = await cli(['up', '--json', '-c', CONFIG]);
    expect(up.code).toBe(0);
    expect(brokerCertificate().serial).toBe(shortSerial);

    const v = await verifyJson();
    const certRows = v.rows.filter((r) => r.check.startsWith('certificate expiry'));
    const broker = certRows.filter((r) => r.check === BROKER_ROW);
    expect(broker).toEqual([{ check: BROKER_ROW, target: 'kafka-1', ok: false, detail: expect.stringMatching(new RegExp(`^expires in \\d+ hour\\(s\\) .*under 14 days: run \`millrace certs rotate\`; serial ${shortSerial}; presented on port 9093`)) }]);
    // Control: every other certificate (the CA on each node, HDFS's, the KMS's, Spark's) passes,
    // and the only failing row of the whole verify is this one.
    const others = certRows.filter((r) => r.check !== BROKER_ROW);
    expect(others.length).toBeGreaterThanOrEqual(4);
    expect(others.filter((r) => !r.ok)).toEqual([]);
    expect(v.rows.filter((r) => !r.ok).map((r) => r.check)).toEqual([BROKER_ROW]);
    expect(v.code).toBe(1);
  }, 6 * 60_000);

  it('`certs rotate` while a producer runs: no record lost, a new broker serial, verify passes, old and new client certificates work', async () => {
    const producer = createKafkaClient(connection(oldClient, 'itest-rotation-producer'));
    const started = Date.now();
    let failedSends = 0;
    let sent = 0;
    let rotationDone = false;
    // A fixed number of records, paced to span the rotation; a batch that fails (the broker
    // restarting) is sent again until it is acknowledged, as any producer that loses nothing does.
    const producing = (async (): Promise<void> => {
      for (let i = 0; i < RECORDS; i += BATCH) {
        const batch = Array.from({ length: BATCH }, (_, j) => ({ key: `k${(i + j) % 7}`, value: JSON.stringify({ seq: i + j }) }));
        for (;;) {
          try {
            await producer.produce(topic, batch);
            break;
          } catch {
            failedSends++;
            if (Date.now() - started > 5 * 60_000) throw new Error(`batch ${i} still not acknowledged after 5 minutes`);
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        sent = i + BATCH;
        // Paced until the rotation is over, then the rest at once.
        if (!rotationDone) await new Promise((r) => setTimeout(r, PACE_MS));
      }
    })();
    // Let it get going before the rotation starts.
    while (sent < 50) await new Promise((r) => setTimeout(r, 100));
    const kafkaBefore = await activeSince('kafka-1', 'millrace-kafka.service');
    const rotation = await cli(['certs', 'rotate', '--yes', '--json', '-c', CONFIG], { timeoutMs: 10 * 60_000 });
    rotationDone = true;
    const sentDuringRotation = sent;
    await producing;
    const producedUntil = Date.now();
    await producer.close();
    expect(rotation.stderr).not.toMatch(/BEGIN .*PRIVATE KEY|error:/);
    expect(rotation.code).toBe(0);
    const result = JSON.parse(rotation.stdout) as { mode: string; passes: { pass: string; nodes: { node: string; restarted: string[] }[] }[]; reissuedNodeCertificates: string[]; reissuedClients: string[] };
    expect(result.mode).toBe('leaves');
    expect(result.reissuedNodeCertificates).toEqual(expect.arrayContaining(['kafka-broker kafka-1', 'node hdfs-1', 'spark spark-1']));
    expect(result.reissuedClients).toEqual(expect.arrayContaining([`${PRINCIPAL} (825 days)`, 'pipeline (825 days)']));
    // One rolling pass over every node, each restarting its services.
    expect(result.passes.map((p) => [p.pass, p.nodes.map((n) => [n.node, n.restarted.length > 0])])).toEqual([
      ['renew', [['kafka-1', true], ['spark-1', true], ['hdfs-1', true]]],
    ]);
    // The broker really restarted while the producer was sending.
    const kafkaAfter = await activeSince('kafka-1', 'millrace-kafka.service');
    expect(kafkaAfter).toBeGreaterThan(kafkaBefore);
    expect(kafkaAfter).toBeGreaterThan(started);
    expect(kafkaAfter).toBeLessThan(producedUntil);
    expect(sentDuringRotation).toBeLessThan(RECORDS);

    // Every record is in the topic: at least once (see the header for why not exactly once).
    const reader = createKafkaClient(connection(await clientCredentials(CLUSTER, PRINCIPAL), 'itest-rotation-reader'));
    try {
      const [offsets] = await reader.topicOffsets(topic);
      const total = Number(offsets!.high) - Number(offsets!.low);
      expect(total).toBeGreaterThanOrEqual(RECORDS);
      const got = await reader.consume(topic, `${PRINCIPAL}-check-${Date.now()}`, total, 120_000);
      const seqs = got.map((m) => (JSON.parse(m.value) as { seq: number }).seq);
      const distinct = new Set(seqs);
      const missing = Array.from({ length: RECORDS }, (_, i) => i).filter((i) => !distinct.has(i));
      process.stderr.write(
        `52-rotation: ${RECORDS} records sent (${sentDuringRotation} before the rotation ended), ${failedSends} failed send(s) retried; topic holds ${total}, ${distinct.size} distinct, ${total - distinct.size} duplicate(s)\n`,
      );
      expect(missing).toEqual([]);
      expect(got).toHaveLength(total);
      expect(distinct.size).toBe(RECORDS);
    } finally {
      await reader.close();
    }

    // The broker presents a new certificate (a new serial), good for the full term again.
    const now = brokerCertificate();
    expect(now.serial).not.toBe(shortSerial);
    expect(now.notAfter.getTime() - Date.now()).toBeGreaterThan(800 * 86_400_000);

    // Same CA: the client certificate from before the rotation still works (nothing is revoked,
    // as documented), and so does the re-issued one, which is a new certificate.
    const renewed = await clientCredentials(CLUSTER, PRINCIPAL);
    expect(pemCertificates(renewed.certPem)[0]!.serialNumber).not.toBe(pemCertificates(oldClient.certPem)[0]!.serialNumber);
    for (const [what, tls] of [['old', oldClient], ['re-issued', renewed]] as const) {
      const c: KafkaClient = createKafkaClient(connection(tls, `itest-rotation-${what}`));
      try {
        await c.produce(topic, [{ value: JSON.stringify({ seq: -1, what }) }]);
      } finally {
        await c.close();
      }
    }

    // verify passes again, the broker row included, now with the new serial.
    const v = await verifyJson();
    const broker = v.rows.find((r) => r.check === BROKER_ROW);
    expect(broker).toEqual({ check: BROKER_ROW, target: 'kafka-1', ok: true, detail: expect.stringMatching(new RegExp(`^expires in 82\\d days .*; serial ${now.serial}; presented on port 9093`)) });
    expect(v.rows.filter((r) => !r.ok)).toEqual([]);
    expect(v.code).toBe(0);
  }, 10 * 60_000);

  it('`certs rotate --ca`: every node trusts both CAs, then switches; old-CA client certificates work until --finish, then are refused', async () => {
    const pki = path.join(stateDir(), 'pki');
    const oldCa = pemCertificates(fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8'))[0]!;
    const rotate = async (...args: string[]): Promise<{ mode: string; passes: { pass: string; nodes: { node: string; restarted: string[] }[] }[]; ca: { serial: string }; previousCa?: { serial: string }; nextCa?: { serial: string } }> => {
      const r = await cli(['certs', 'rotate', ...args, '--yes', '--json', '-c', CONFIG], { timeoutMs: 10 * 60_000 });
      expect(`${args.join(' ')}: exit ${r.code}`).toBe(`${args.join(' ')}: exit 0`);
      return JSON.parse(r.stdout);
    };
    // The broker's certificate verified against one CA alone, from this machine.
    const brokerVerifiesWith = (caFile: string): boolean =>
      /Verification: OK/.test(execFileSync('sh', ['-c', `timeout 20 openssl s_client -connect ${BROKER} -CAfile ${caFile} -verify_return_error -brief </dev/null 2>&1 || true`]).toString());
    const oldCaFile = path.join(stateDir(), '..', '..', 'rotation-old-ca.pem');
    fs.writeFileSync(oldCaFile, oldCa.toString('pem') + '\n');

    const staged = await rotate('--ca', '--trust-only');
    expect(staged.passes.map((p) => p.pass)).toEqual(['trust']);
    expect(staged.ca.serial).toBe(oldCa.serialNumber);
    expect(staged.nextCa).toBeDefined();
    // The broker still presents the old CA's certificate, and trusts both now.
    expect(brokerVerifiesWith(oldCaFile)).toBe(true);
    // A client signed by the old CA, trusting both (what `credentials` writes now).
    const oldCaClient = await clientCredentials(CLUSTER, PRINCIPAL);
    expect(pemCertificates(oldCaClient.caPem)).toHaveLength(2);

    const switched = await rotate('--ca');
    // It goes over the trust pass again (a no-op: every node trusts both CAs already), then switches.
    expect(switched.passes.map((p) => [p.pass, p.nodes.flatMap((n) => n.restarted).length > 0])).toEqual([
      ['trust', false],
      ['switch', true],
    ]);
    expect(switched.ca.serial).toBe(staged.nextCa!.serial);
    expect(switched.previousCa?.serial).toBe(oldCa.serialNumber);
    expect(brokerVerifiesWith(path.join(pki, 'ca.crt'))).toBe(true);
    expect(brokerVerifiesWith(oldCaFile)).toBe(false);
    const newCaClient = await clientCredentials(CLUSTER, PRINCIPAL);
    expect(pemCertificates(newCaClient.certPem)[0]!.issuer).toBe(pemCertificates(fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8'))[0]!.subject);

    const produceAs = async (tls: typeof oldCaClient, what: string): Promise<void> => {
      const c = createKafkaClient({ ...connection(tls, `itest-rotation-${what}`), retries: 0 });
      try {
        await c.produce(topic, [{ value: JSON.stringify({ seq: -2, what }) }]);
      } finally {
        await c.close();
      }
    };
    // The overlap: the old CA's client certificate still gets in, and so does the new one.
    await produceAs({ ...oldCaClient, caPem: newCaClient.caPem }, 'old-ca-during-overlap');
    await produceAs(newCaClient, 'new-ca');

    const finished = await rotate('--finish');
    expect(finished.passes.map((p) => p.pass)).toEqual(['finish']);
    expect(finished.previousCa).toBeUndefined();
    // After --finish the old CA's client certificate is refused; the new one still works (control).
    await expect(produceAs({ ...oldCaClient, caPem: newCaClient.caPem }, 'old-ca-after-finish')).rejects.toThrow(/Closed connection|Connection error|ECONNRESET|certificate|handshake|SSL/i);
    await produceAs({ ...newCaClient, caPem: (await clientCredentials(CLUSTER, PRINCIPAL)).caPem }, 'new-ca-after-finish');
    fs.rmSync(oldCaFile, { force: true });
  }, 12 * 60_000);

  it('status lists the certificates in the cluster state with their expiry', async () => {
    const r = await cli(['status', '--json', '-c', CONFIG]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { healthy: boolean; certificates: { what: string; daysLeft: number; serial: string }[] };
    expect(s.healthy).toBe(true);
    const whats = s.certificates.map((c) => c.what);
    expect(whats).toEqual(expect.arrayContaining(['CA', 'kafka-broker kafka-1', 'node kafka-1', 'node hdfs-1', 'spark spark-1', `client ${PRINCIPAL}`, 'client pipeline']));
    expect(s.certificates.find((c) => c.what === 'kafka-broker kafka-1')!.serial).toBe(brokerCertificate().serial);
    expect(fs.existsSync(path.join(stateDir(), 'pki', 'ca-previous.crt'))).toBe(false);
  }, 2 * 60_000);
});
