/**
 * The Apache release archive source against a mirror served on loopback, with a throwaway OpenPGP
 * release-manager key made in the test: the tarball must match the SHA-512 pinned in the artifact
 * lock (whatever the mirror's .sha512 says) and carry a good signature by a key whose fingerprint
 * the lock pins. Each refusal has its control.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as openpgp from 'openpgp';
import { apacheBundle, apacheReleasePath, apacheUrl, parseSha512File } from '../../../provisioning/artifacts/apache';
import type { ArtifactLock } from '../../../provisioning/artifacts/lock';
import { verifyDetachedSignature } from '../../../provisioning/artifacts/signature';

async function makeKey(name: string): Promise<{ priv: openpgp.PrivateKey; pub: string; fpr: string }> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name, email: `${name}@example.invalid` }], format: 'armored' });
  const priv = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return { priv, pub: publicKey, fpr: priv.getFingerprint().toUpperCase() };
}

async function sign(data: Buffer, key: openpgp.PrivateKey): Promise<string> {
  return openpgp.sign({ message: await openpgp.createMessage({ binary: new Uint8Array(data) }), signingKeys: key, detached: true, format: 'armored' }) as Promise<string>;
}

describe('Apache archive source', () => {
  let dir: string;
  let server: http.Server;
  let mirror: string;
  const files = new Map<string, Buffer>();
  const requests: string[] = [];
  let tgz: Buffer;
  let manager: Awaited<ReturnType<typeof makeKey>>;
  let other: Awaited<ReturnType<typeof makeKey>>;
  let stranger: Awaited<ReturnType<typeof makeKey>>;
  const TGZ = '/kafka/4.1.1/kafka_2.13-4.1.1.tgz';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-apache-'));
    const src = path.join(dir, 'src', 'kafka_2.13-4.1.1', 'libs');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'kafka-clients-4.1.1.jar'), 'not really a jar');
    execFileSync('tar', ['-czf', path.join(dir, 'kafka.tgz'), '-C', path.join(dir, 'src'), 'kafka_2.13-4.1.1']);
    tgz = fs.readFileSync(path.join(dir, 'kafka.tgz'));
    [manager, other, stranger] = await Promise.all([makeKey('manager'), makeKey('other'), makeKey('stranger')]);
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = files.get(req.url ?? '');
      res.writeHead(body ? 200 : 404).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The mirror serves the tarball, its .sha512 (as the mirror claims), .asc and KEYS (manager's and other's keys). */
  async function serve(opts: { body?: Buffer; signer?: openpgp.PrivateKey; publishedSha512?: string } = {}): Promise<void> {
    const body = opts.body ?? tgz;
    files.set(TGZ, body);
    files.set(`${TGZ}.sha512`, Buffer.from(`${opts.publishedSha512 ?? sha512(body)}  kafka_2.13-4.1.1.tgz\n`));
    files.set(`${TGZ}.asc`, Buffer.from(await sign(tgz, opts.signer ?? manager.priv)));
    files.set('/kafka/KEYS', Buffer.from(`pub   ed25519 manager\n${manager.pub}\npub   ed25519 other\n${other.pub}\n`));
  }

  const sha512 = (b: Buffer): string => crypto.createHash('sha512').update(b).digest('hex');
  const lock = (over: Partial<ArtifactLock> = {}): ArtifactLock => ({
    lockVersion: 1,
    maven: {},
    pypi: {},
    apache: { [apacheReleasePath('kafka', '4.1.1')]: sha512(tgz) },
    apacheKeys: { kafka: [manager.fpr], hadoop: [], spark: [] },
    ...over,
  });
  let n = 0;
  const build = (l: ArtifactLock): Promise<string[]> => {
    n += 1;
    return apacheBundle(mirror, 'kafka', '4.1.1', path.join(dir, `r${n}`, 'root'), path.join(dir, `r${n}`, 'work'), () => undefined, l);
  };

  it('builds the release URLs of each component', () => {
    expect(apacheUrl('https://archive.apache.org/dist/', 'kafka', '4.1.1')).toBe('https://archive.apache.org/dist/kafka/4.1.1/kafka_2.13-4.1.1.tgz');
    expect(apacheUrl('https://archive.apache.org/dist', 'hadoop', '3.5.0')).toBe('https://archive.apache.org/dist/hadoop/common/hadoop-3.5.0/hadoop-3.5.0.tar.gz');
    expect(apacheUrl('https://archive.apache.org/dist', 'spark', '4.2.0')).toBe('https://archive.apache.org/dist/spark/spark-4.2.0/spark-4.2.0-bin-hadoop3.tgz');
  });

  it('reads both .sha512 formats: "hex  name" and gpg --print-md "name: HEX HEX …"', () => {
    const hex = sha512(tgz);
    expect(parseSha512File(`${hex}  kafka_2.13-4.1.1.tgz\n`)).toBe(hex);
    const gpg = `kafka_2.13-4.1.1.tgz: ${hex.toUpperCase().match(/.{1,8}/g)!.join(' ').replace(/(.{72})/g, '$1\n   ')}\n`;
    expect(parseSha512File(gpg)).toBe(hex);
    expect(() => parseSha512File('no checksum here')).toThrow(/cannot read a SHA-512/);
  });

  it('unpacks a release that matches the lock and is signed by a pinned key, and lays it out as millrace installs it', async () => {
    await serve();
    const root = path.join(dir, `r${n + 1}`, 'root');
    const verified = await build(lock());
    expect(fs.readFileSync(path.join(root, 'libs', 'kafka-clients-4.1.1.jar'), 'utf8')).toBe('not really a jar');
    expect(verified).toEqual([`kafka_2.13-4.1.1.tgz SHA-512 ${sha512(tgz)} matches the artifact lock`, `kafka_2.13-4.1.1.tgz signed by pinned key ${manager.fpr}`]);
  });

  it('the lock decides: a tarball the mirror vouches for (its own .sha512 agrees) but the lock does not is refused, naming file and digests', async () => {
    const evil = Buffer.concat([tgz, Buffer.from('x')]);
    await serve({ body: evil });
    await expect(build(lock())).rejects.toThrow(
      `kafka_2.13-4.1.1.tgz from ${mirror} does not match the artifact lock: SHA-512 expected ${sha512(tgz).slice(0, 16)}…, got ${sha512(evil).slice(0, 16)}…`,
    );
    // Control: the mirror's .sha512 disagreeing with a file the lock pins does not matter.
    await serve({ publishedSha512: 'ab'.repeat(64) });
    await expect(build(lock())).resolves.toHaveLength(2);
  });

  it('refuses a release the lock has no SHA-512 for, before downloading anything, and says how to pin it', async () => {
    await serve();
    requests.length = 0;
    const err = (await build(lock({ apache: {} })).catch((e: unknown) => e)) as { message: string; hint: string };
    expect(err.message).toBe('the artifact lock has no SHA-512 for kafka/4.1.1/kafka_2.13-4.1.1.tgz (kafka 4.1.1 from the Apache archive), so millrace will not install it');
    expect(err.hint).toMatch(/^pin it: run `npm run lock:artifacts -- --only apache` on a machine that reaches the real source/);
    expect(requests).toEqual([]);
  });

  it('refuses when the lock pins no key for the project', async () => {
    await serve();
    await expect(build(lock({ apacheKeys: { kafka: [], hadoop: [], spark: [] } }))).rejects.toThrow('the artifact lock pins no OpenPGP key for kafka releases, so no signature can be trusted');
  });

  it('refuses a signature by a key that is in KEYS but not pinned', async () => {
    await serve({ signer: other.priv });
    await expect(build(lock())).rejects.toThrow(`kafka_2.13-4.1.1.tgz is signed by ${other.fpr} (other <other@example.invalid>), a key in ${mirror}/kafka/KEYS whose fingerprint the artifact lock does not pin`);
    // Control: the same signature passes once that key is pinned.
    await expect(build(lock({ apacheKeys: { kafka: [manager.fpr, other.fpr], hadoop: [], spark: [] } }))).resolves.toHaveLength(2);
  });

  it('refuses a signature by a key that is not in KEYS at all (the wrong key)', async () => {
    await serve({ signer: stranger.priv });
    await expect(build(lock())).rejects.toThrow(/^kafka_2\.13-4\.1\.1\.tgz is signed by key [0-9A-F]{16}, which is none of the pinned keys$/);
  });

  it('refuses a KEYS file that holds none of the pinned keys', async () => {
    await serve({ signer: stranger.priv });
    await expect(build(lock({ apacheKeys: { kafka: [stranger.fpr.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))], hadoop: [], spark: [] } }))).rejects.toThrow(
      /is signed by key [0-9A-F]{16}, which is not among the pinned keys \(.*\/kafka\/KEYS holds none of them\)/,
    );
  });

  it('refuses a tampered file whose signature no longer verifies, even with a pinned key (the lock checked apart)', async () => {
    const file = path.join(dir, 'tampered.tgz');
    await serve();
    fs.writeFileSync(file, Buffer.concat([tgz.subarray(0, 100), Buffer.from([tgz[100]! ^ 1]), tgz.subarray(101)]));
    const check = { what: 'kafka_2.13-4.1.1.tgz', signature: files.get(`${TGZ}.asc`)!.toString(), keys: files.get('/kafka/KEYS')!.toString(), keysUrl: 'KEYS', pinned: [manager.fpr] };
    await expect(verifyDetachedSignature({ ...check, file })).rejects.toThrow(`the OpenPGP signature of kafka_2.13-4.1.1.tgz does not verify with ${manager.fpr} (manager <manager@example.invalid>)`);
    // Control: the untouched file verifies.
    fs.writeFileSync(file, tgz);
    await expect(verifyDetachedSignature({ ...check, file })).resolves.toBe(manager.fpr);
  });

  it('refuses an .asc that is not a signature', async () => {
    fs.writeFileSync(path.join(dir, 'f'), tgz);
    await expect(verifyDetachedSignature({ file: path.join(dir, 'f'), what: 'f', signature: 'garbage', keys: manager.pub, keysUrl: 'KEYS', pinned: [manager.fpr] })).rejects.toThrow(
      /^the signature of f is not an OpenPGP signature/,
    );
  });
});
