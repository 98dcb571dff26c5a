import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterCa, sanFor } from '../../../provisioning/pki/cluster-ca';

describe('cluster CA', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-ca-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps its key 0600 and issues host certificates that openssl verifies, with the SANs', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    expect(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    const leaf = await ca.issue({ name: 'kafka-1', usage: 'server', ...sanFor(['kafka-1', 'localhost'], ['127.0.0.11']) });
    expect(leaf.created).toBe(true);
    expect(fs.statSync(path.join(dir, 'hosts', 'kafka-1.key')).mode & 0o777).toBe(0o600);
    const leafFile = path.join(dir, 'leaf.pem');
    fs.writeFileSync(leafFile, leaf.certPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    const out = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), '-purpose', 'sslserver', leafFile]).toString();
    expect(out).toContain(': OK');
    const text = execFileSync('openssl', ['x509', '-in', leafFile, '-noout', '-ext', 'subjectAltName']).toString();
    expect(text).toMatch(/DNS:kafka-1/);
    expect(text).toMatch(/IP Address:127\.0\.0\.11/);
    // The key matches the certificate.
    const keyFile = path.join(dir, 'hosts', 'kafka-1.key');
    const pubFromKey = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout']).toString();
    const pubFromCert = execFileSync('openssl', ['x509', '-in', leafFile, '-noout', '-pubkey']).toString();
    expect(pubFromKey).toBe(pubFromCert);
  });

  it('reuses a fitting certificate and reissues when the names change', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    const a = await ca.issue({ name: 'n1', usage: 'server', dnsNames: ['n1'], ipAddresses: ['127.0.0.11'] });
    const again = await (await ClusterCa.open(dir, 'demo')).issue({ name: 'n1', usage: 'server', dnsNames: ['n1'], ipAddresses: ['127.0.0.11'] });
    expect(again.created).toBe(false);
    expect(again.certPem).toBe(a.certPem);
    const moved = await ca.issue({ name: 'n1', usage: 'server', dnsNames: ['n1'], ipAddresses: ['127.0.0.21'] });
    expect(moved.created).toBe(true);
    expect(moved.certPem).not.toBe(a.certPem);
  });
});
