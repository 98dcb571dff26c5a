/**
 * Rotation in the pki directory: validity (--days), the trust overlap of a CA rotation checked
 * with openssl, the plan of each mode from each state, and the re-issue of tracked clients.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CA_FILES, ClusterCa, DAY, HANDED_OUT_DIR, MAX_LEAF_DAYS } from '../../../provisioning/pki/cluster-ca';
import { pemCertificates, stateCertificates } from '../../../provisioning/pki/expiry';
import {
  caSet,
  dropPreviousCa,
  planRotation,
  promoteNextCa,
  reissueClients,
  retireNodeCertificates,
  RotationRefused,
  stageNextCa,
  trackedClients,
} from '../../../provisioning/pki/rotation';
import { keyStoreScript } from '../../../provisioning/keystores';

const leafOf = (pem: string): string => pem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!;
const serialOf = (pem: string): string => pemCertificates(pem)[0]!.serialNumber;

describe('cluster CA: validity and handed-out certificates', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-rot-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('issues for --days days (backdated one day), and refuses 0, fractions and more than the maximum', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    const before = Date.now();
    const c = await ca.issue({ name: 'alice', usage: 'client', dnsNames: [], ipAddresses: [], days: 30 });
    const cert = pemCertificates(c.certPem)[0]!;
    expect(Math.abs(cert.notAfter.getTime() - (before + 30 * DAY))).toBeLessThan(5 * 60_000);
    expect(Math.abs(cert.notBefore.getTime() - (before - DAY))).toBeLessThan(5 * 60_000);
    for (const days of [0, 1.5, MAX_LEAF_DAYS + 1, -3]) await expect(ca.issue({ name: 'bob', usage: 'client', dnsNames: [], ipAddresses: [], days })).rejects.toThrow(/validity must be 1 to 825 days/);
    // Control: the maximum itself is fine.
    await expect(ca.issue({ name: 'bob', usage: 'client', dnsNames: [], ipAddresses: [], days: MAX_LEAF_DAYS })).resolves.toHaveProperty('created', true);
  });

  it('reuses a short certificate until a third of its life is left, and `fresh` always makes a new one', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    const one = await ca.issue({ name: 'carol', usage: 'client', dnsNames: [], ipAddresses: [], days: 1 });
    // 1 day left of a 2-day span (1 backdated): more than a third, so reused.
    const again = await ca.issue({ name: 'carol', usage: 'client', dnsNames: [], ipAddresses: [], days: 1 });
    expect(again.created).toBe(false);
    const fresh = await ca.issue({ name: 'carol', usage: 'client', dnsNames: [], ipAddresses: [], days: 1, fresh: true });
    expect(fresh.created).toBe(true);
    expect(serialOf(fresh.certPem)).not.toBe(serialOf(one.certPem));
  });

  it('a handed-out certificate is new every time; its key is returned and not kept, its certificate is', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    const a = await ca.issueHandedOut({ name: 'dave', dnsNames: [], ipAddresses: [], days: 7 });
    const b = await ca.issueHandedOut({ name: 'dave', dnsNames: [], ipAddresses: [], days: 7 });
    expect(serialOf(a.certPem)).not.toBe(serialOf(b.certPem));
    expect(fs.readdirSync(path.join(dir, HANDED_OUT_DIR))).toEqual(['dave.crt']);
    expect(fs.readFileSync(path.join(dir, HANDED_OUT_DIR, 'dave.crt'), 'utf8')).toBe(leafOf(b.certPem));
    const keyBody = b.keyPem.split('\n')[1]!;
    const holding = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile() && fs.readFileSync(path.join(dir, f), 'utf8').includes(keyBody));
    expect(holding).toEqual([]);
    // Control: the CA's own key is found the same way.
    const caKeyBody = fs.readFileSync(path.join(dir, 'ca.key'), 'utf8').split('\n')[1]!;
    expect((fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile() && fs.readFileSync(path.join(dir, f), 'utf8').includes(caKeyBody))).toEqual(['ca.key']);
    expect(pemCertificates(b.certPem)[0]!.subject).toBe('O=millrace, OU=client, CN=dave');
  });
});

describe('CA rotation: the trust overlap', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-rot-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const verifies = (bundle: string, leafPem: string): boolean => {
    fs.writeFileSync(path.join(dir, 'bundle.pem'), bundle);
    fs.writeFileSync(path.join(dir, 'leaf.pem'), leafOf(leafPem));
    return spawnSync('openssl', ['verify', '-CAfile', path.join(dir, 'bundle.pem'), path.join(dir, 'leaf.pem')]).status === 0;
  };
  const server = (ca: ClusterCa, fresh = false): ReturnType<ClusterCa['issue']> => ca.issue({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', dnsNames: ['kafka-1'], ipAddresses: ['127.0.0.31'], fresh });

  it('stage → promote → finish: what nodes trust at each step, checked with openssl', async () => {
    const oldCa = await ClusterCa.open(dir, 'demo');
    const oldLeaf = await server(oldCa);
    const oldCaPem = oldCa.issuingCaPem;
    expect(oldCa.caPem).toBe(oldCaPem);

    await stageNextCa(dir, 'demo');
    expect(caSet(dir)).toEqual({ current: true, next: true, previous: false });
    const staged = await ClusterCa.open(dir, 'demo');
    // The trust pass: both CAs in the bundle, oldest first; the old CA still issues.
    expect(pemCertificates(staged.caPem)).toHaveLength(2);
    expect(staged.caPem.startsWith(oldCaPem)).toBe(true);
    expect(staged.issuingCaPem).toBe(oldCaPem);
    const stillOld = await server(staged);
    expect(stillOld.created).toBe(false);
    // A server's chain is its leaf and its issuer only, never the whole bundle.
    expect(pemCertificates(stillOld.certPem)).toHaveLength(2);
    expect(stillOld.caPem).toBe(staged.caPem);

    promoteNextCa(dir);
    expect(caSet(dir)).toEqual({ current: true, next: false, previous: true });
    expect(fs.readFileSync(path.join(dir, CA_FILES.previous.cert), 'utf8')).toBe(oldCaPem);
    expect(fs.existsSync(path.join(dir, CA_FILES.next.key))).toBe(false);
    expect(fs.statSync(path.join(dir, CA_FILES.current.key)).mode & 0o777).toBe(0o600);
    const switched = await ClusterCa.open(dir, 'demo');
    // The switch: the same two CAs, in the same order (so the CA file's text does not change).
    expect(switched.caPem).toBe(staged.caPem);
    expect(switched.issuingCaPem).not.toBe(oldCaPem);
    retireNodeCertificates(dir);
    const newLeaf = await server(switched);
    expect(newLeaf.created).toBe(true);
    expect(serialOf(newLeaf.certPem)).not.toBe(serialOf(oldLeaf.certPem));
    // Overlap: a node trusting the bundle accepts both the old and the new certificates.
    expect(verifies(switched.caPem, oldLeaf.certPem)).toBe(true);
    expect(verifies(switched.caPem, newLeaf.certPem)).toBe(true);

    dropPreviousCa(dir);
    const finished = await ClusterCa.open(dir, 'demo');
    expect(pemCertificates(finished.caPem)).toHaveLength(1);
    // After --finish the old CA's certificates are refused; the new ones still pass (control).
    expect(verifies(finished.caPem, oldLeaf.certPem)).toBe(false);
    expect(verifies(finished.caPem, newLeaf.certPem)).toBe(true);
  });

  it('a JKS truststore built from the bundle by keystores.sh holds both CAs', async () => {
    const keytool = spawnSync('keytool', ['-help']);
    expect(keytool.error).toBeUndefined();
    await ClusterCa.open(dir, 'demo');
    await stageNextCa(dir, 'demo');
    const ca = await ClusterCa.open(dir, 'demo');
    const owner = os.userInfo().username;
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.caPem);
    fs.writeFileSync(path.join(dir, 'pw'), 'changeit-test');
    const store = path.join(dir, 'trust.jks');
    const script = keyStoreScript([{ kind: 'truststore', path: store, pemPath: path.join(dir, 'ca.pem'), passwordPath: path.join(dir, 'pw'), owner, restarts: [] }]);
    fs.writeFileSync(path.join(dir, 'ks.sh'), script);
    const r = spawnSync('sh', [path.join(dir, 'ks.sh')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`changed: ${store}\n`);
    const list = execFileSync('keytool', ['-list', '-keystore', store, '-storepass', 'changeit-test'], { encoding: 'utf8' });
    expect(list).toMatch(/contains 2 entries/);
    expect(list).toMatch(/^millrace-ca,/m);
    expect(list).toMatch(/^millrace-ca-2,/m);
    // Control: one CA, one entry.
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.issuingCaPem);
    expect(spawnSync('sh', [path.join(dir, 'ks.sh')], { encoding: 'utf8' }).stdout).toBe(`changed: ${store}\n`);
    expect(execFileSync('keytool', ['-list', '-keystore', store, '-storepass', 'changeit-test'], { encoding: 'utf8' })).toMatch(/contains 1 entry/);
  });
});

describe('rotation planning', () => {
  const passes = (p: ReturnType<typeof planRotation>): string[] => p.steps.map((s) => (s.kind === 'pass' ? `pass:${s.name}[${s.trust.join('+')}]` : s.kind));

  it('the steps of each mode from a settled CA', () => {
    const settled = { current: true, next: false, previous: false };
    expect(passes(planRotation(settled, 'leaves'))).toEqual(['reissue', 'pass:renew[current]']);
    expect(passes(planRotation(settled, 'ca'))).toEqual(['stage-ca', 'pass:trust[old+new]', 'promote-ca', 'reissue', 'pass:switch[old+new]']);
  });

  it('resumes a staged CA instead of making a third, and keeps trusting the previous CA in a plain rotation', () => {
    expect(passes(planRotation({ current: true, next: true, previous: false }, 'ca'))).toEqual(['pass:trust[old+new]', 'promote-ca', 'reissue', 'pass:switch[old+new]']);
    expect(passes(planRotation({ current: true, next: false, previous: true }, 'leaves'))).toEqual(['reissue', 'pass:renew[old+current]']);
    expect(passes(planRotation({ current: true, next: false, previous: true }, 'finish'))).toEqual(['drop-previous-ca', 'pass:finish[current]']);
  });

  it('refuses what would drop a CA still in use, with what to do instead', () => {
    const refused = (cas: Parameters<typeof planRotation>[0], mode: Parameters<typeof planRotation>[1]): RotationRefused => {
      try {
        planRotation(cas, mode);
      } catch (e) {
        return e as RotationRefused;
      }
      throw new Error('not refused');
    };
    expect(refused({ current: true, next: false, previous: true }, 'ca').hint).toMatch(/certs rotate --finish` first/);
    expect(refused({ current: true, next: false, previous: false }, 'finish').message).toMatch(/nothing to finish/);
    expect(refused({ current: true, next: true, previous: false }, 'finish').hint).toMatch(/certs rotate --ca/);
    expect(refused({ current: true, next: true, previous: false }, 'leaves').hint).toMatch(/certs rotate --ca/);
    expect(refused({ current: false, next: false, previous: false }, 'leaves').hint).toMatch(/millrace up/);
  });
});

describe('re-issue of node and tracked client certificates', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-rot-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('retires every node and service certificate, and renews clients for as long as before, leaving expired ones alone', async () => {
    const ca = await ClusterCa.open(dir, 'demo');
    await ca.issue({ name: 'kafka-1', usage: 'server', ou: 'kafka-broker', dnsNames: ['kafka-1'], ipAddresses: [] });
    await ca.issue({ name: 'kafka-1', usage: 'server', dnsNames: ['kafka-1'], ipAddresses: [] });
    await ca.issue({ name: 'spark-1', usage: 'server', ou: 'spark', dnsNames: ['spark-1'], ipAddresses: [] });
    const admin = await ca.issue({ name: 'admin', usage: 'client', dnsNames: [], ipAddresses: [] });
    const short = await ca.issue({ name: 'shorty', usage: 'client', dnsNames: [], ipAddresses: [], days: 7 });
    await ca.issueHandedOut({ name: 'handed', dnsNames: [], ipAddresses: [], days: 30 });
    expect(trackedClients(dir).map((c) => [c.principal, c.days, c.expired])).toEqual([
      ['admin', 825, false],
      ['shorty', 7, false],
    ]);
    // Seen from the future: shorty has expired by then.
    expect(trackedClients(dir, Date.now() + 10 * DAY).find((c) => c.principal === 'shorty')!.expired).toBe(true);

    expect(retireNodeCertificates(dir)).toEqual(['kafka-broker kafka-1', 'node kafka-1', 'spark spark-1']);
    for (const sub of ['hosts', 'kafka-broker', 'spark']) expect(fs.readdirSync(path.join(dir, sub))).toEqual([]);
    const r = await reissueClients(await ClusterCa.open(dir, 'demo'), dir);
    expect(r.reissued.map((c) => c.principal)).toEqual(['admin', 'shorty']);
    const now = (f: string): string => fs.readFileSync(path.join(dir, 'clients', f), 'utf8');
    expect(serialOf(now('admin.crt'))).not.toBe(serialOf(admin.certPem));
    expect(serialOf(now('shorty.crt'))).not.toBe(serialOf(short.certPem));
    const span = (pem: string): number => Math.round((pemCertificates(pem)[0]!.notAfter.getTime() - pemCertificates(pem)[0]!.notBefore.getTime()) / DAY);
    expect(span(now('shorty.crt'))).toBe(8);
    expect(span(now('admin.crt'))).toBe(826);
    // Handed-out certificates are listed for status, never renewed here (their keys are not kept).
    expect(stateCertificates(dir).map((c) => c.what)).toEqual(['CA', 'client admin', 'client shorty', 'handed out to handed']);
  });
});
