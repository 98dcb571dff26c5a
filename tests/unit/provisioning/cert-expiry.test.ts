/**
 * Certificate expiry: the 14-day threshold with its controls, and verify's rows from what a node
 * shows (real certificates from a real CA, the node's output faked).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterCa, DAY } from '../../../provisioning/pki/cluster-ca';
import { daysLeft, EXPIRY_FAIL_DAYS, expiryVerdict, formatCertificates, stateCertificates } from '../../../provisioning/pki/expiry';
import { certificateRows, parseCertificateDump, readCertificatesCommand, verifyCertificates } from '../../../provisioning/verify/certs';
import { CA_PEM } from '../../../provisioning/services/tls-files';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const leaf = (pem: string): string => pem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!;

describe('the expiry threshold', () => {
  it(`fails under ${EXPIRY_FAIL_DAYS} days: 13 days fails, 15 passes, exactly 14 passes`, () => {
    expect(EXPIRY_FAIL_DAYS).toBe(14);
    const v13 = expiryVerdict(new Date(NOW + 13 * DAY), NOW);
    expect(v13.ok).toBe(false);
    expect(v13.detail).toMatch(/^expires in 13 day\(s\) \(2026-06-14T12:00:00Z\), under 14 days: run `millrace certs rotate`$/);
    expect(expiryVerdict(new Date(NOW + 15 * DAY), NOW)).toEqual({ ok: true, detail: 'expires in 15 days (2026-06-16T12:00:00Z)' });
    expect(expiryVerdict(new Date(NOW + 14 * DAY), NOW).ok).toBe(true);
    expect(expiryVerdict(new Date(NOW + 14 * DAY - 1000), NOW).ok).toBe(false);
  });

  it('says hours under a day, and EXPIRED after', () => {
    expect(expiryVerdict(new Date(NOW + 5 * 3_600_000), NOW).detail).toMatch(/^expires in 5 hour\(s\)/);
    expect(expiryVerdict(new Date(NOW - 1000), NOW)).toEqual({ ok: false, detail: 'EXPIRED on 2026-06-01T11:59:59Z' });
    expect(daysLeft(new Date(NOW + 2.5 * DAY), NOW)).toBe(2);
    expect(daysLeft(new Date(NOW - 0.5 * DAY), NOW)).toBe(-1);
  });
});

describe("verify's certificate rows", () => {
  let dir: string;
  let ca: ClusterCa;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-exp-'));
    ca = await ClusterCa.open(dir, 'demo');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const broker = (days: number, fresh = true): ReturnType<ClusterCa['issue']> =>
    ca.issue({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', dnsNames: ['kafka-1'], ipAddresses: ['127.0.0.31'], days, fresh });

  it('a live certificate issued for 1 day fails; a fresh one passes (control)', async () => {
    const short = await broker(1);
    const fresh = await broker(825);
    const rowsFor = (pem: string): ReturnType<typeof certificateRows> =>
      certificateRows('kafka-1', [
        { source: 'port 9093', live: true, pem: leaf(pem) },
        { source: CA_PEM, live: false, pem: ca.caPem },
      ]);
    const bad = rowsFor(short.certPem);
    expect(bad.map((r) => [r.check, r.ok])).toEqual([
      ['certificate expiry: O=millrace, OU=kafka-broker, CN=kafka-1', false],
      [expect.stringMatching(/^certificate expiry: CA CN=millrace demo CA/), true],
    ]);
    expect(bad[0]!.detail).toMatch(/^expires in \d+ hour\(s\) .*under 14 days.*; serial [0-9a-f]+; presented on port 9093$/);
    const good = rowsFor(fresh.certPem);
    expect(good.every((r) => r.ok)).toBe(true);
    expect(good[0]!.detail).toMatch(/^expires in 82[45] days/);
  });

  it('prefers the live certificate: the same one in a file is one row; a file not seen live gets its own row', async () => {
    const live = await broker(825);
    const spark = await ca.issue({ name: 'spark-1', usage: 'server', ou: 'spark', dnsNames: ['spark-1'], ipAddresses: [], days: 3 });
    const rows = certificateRows('kafka-1', [
      { source: 'port 9093', live: true, pem: leaf(live.certPem) },
      { source: '/etc/millrace/tls/kafka/node.pem', live: false, pem: live.keyPem + live.certPem },
      { source: '/etc/millrace/tls/spark/node.pem', live: false, pem: spark.keyPem + spark.certPem },
    ]);
    expect(rows.map((r) => [r.check.replace('certificate expiry: ', ''), r.ok, r.detail.replace(/^.*; /, '')])).toEqual([
      ['O=millrace, OU=kafka-broker, CN=kafka-1', true, 'presented on port 9093'],
      ['O=millrace, OU=spark, CN=spark-1', false, 'file /etc/millrace/tls/spark/node.pem'],
    ]);
    // No key material reaches a row.
    expect(JSON.stringify(rows)).not.toContain(live.keyPem.split('\n')[1]!);
  });

  it('a TLS port that shows no certificate fails, named', () => {
    expect(certificateRows('hdfs-1', [{ source: 'port 9871', live: true, pem: '' }])).toEqual([
      { check: 'certificate expiry: port 9871', target: 'hdfs-1', ok: false, detail: expect.stringMatching(/no certificate could be read from port 9871/) },
    ]);
  });

  it("reads each node's TLS ports and files in one command, and never prints a key line", async () => {
    const facts = factsFor();
    const kafka = facts.nodes.find((n) => n.name === 'kafka-1')!;
    const cmd = readCertificatesCommand(kafka);
    expect(cmd).toMatch(new RegExp(`openssl s_client -connect ${kafka.privateAddress}:9093`));
    expect(cmd).not.toMatch(/s_client -connect \S+:22\b/);
    expect(cmd).toContain("sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'");
    const fresh = await broker(825);
    const out = `=== millrace-cert live port 9093\n${leaf(fresh.certPem)}=== millrace-cert file ${CA_PEM}\n${ca.caPem}`;
    expect(parseCertificateDump(out).map((s) => [s.source, s.live])).toEqual([
      ['port 9093', true],
      [CA_PEM, false],
    ]);
    const hosts = new Map(facts.nodes.map((n) => [n.name, fakeHost(n.name, (c) => (c.includes('millrace-cert') ? { code: 0, stdout: n.name === 'kafka-1' ? out : '' } : undefined))]));
    const rows = await verifyCertificates(facts, hosts as never);
    expect(rows.filter((r) => r.target === 'kafka-1').map((r) => r.ok)).toEqual([true, true]);
  });
});

describe('status: the certificates in the cluster state', () => {
  it('lists the CA, node and client certificates with their expiry, marking those under 14 days', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-exp-'));
    try {
      const ca = await ClusterCa.open(dir, 'demo');
      await ca.issue({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', dnsNames: ['kafka-1'], ipAddresses: [] });
      await ca.issue({ name: 'alice', usage: 'client', dnsNames: [], ipAddresses: [], days: 5 });
      const certs = stateCertificates(dir);
      expect(certs.map((c) => [c.what, c.daysLeft])).toEqual([
        ['CA', expect.any(Number)],
        ['kafka-broker kafka-1', 824],
        ['client alice', 4],
      ]);
      const text = formatCertificates(certs);
      expect(text).toMatch(/^client alice\s+! expires in 4 day\(s\)/m);
      expect(text).toMatch(/^kafka-broker kafka-1\s+ {2}expires in 824 days/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
