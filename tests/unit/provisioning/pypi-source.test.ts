/**
 * The PyPI source against an index served on loopback (PEP 691 JSON): the file must be the one
 * the artifact lock names, with the lock's SHA-256, whatever the index publishes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ArtifactLock } from '../../../provisioning/artifacts/lock';
import { fetchPypiFile } from '../../../provisioning/artifacts/pypi';

describe('PyPI source', () => {
  let dir: string;
  let server: http.Server;
  let index: string;
  const requests: string[] = [];
  const good = Buffer.from('the real pyspark sdist');
  const evil = Buffer.from('something else');
  let served: { body: Buffer; published?: string };
  const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
  const lock = (over: ArtifactLock['pypi'] = { 'pyspark 4.2.0 sdist': { file: 'pyspark-4.2.0.tar.gz', sha256: sha256(good) } }): ArtifactLock => ({
    lockVersion: 1,
    maven: {},
    pypi: over,
    apache: {},
    apacheKeys: { kafka: [], hadoop: [], spark: [] },
  });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-pypi-'));
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/simple/pyspark/') {
        const hashes = served.published ? { sha256: served.published } : {};
        res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' }).end(JSON.stringify({ files: [{ filename: 'pyspark-4.2.0.tar.gz', url: '/files/pyspark-4.2.0.tar.gz', hashes }] }));
      } else if (req.url === '/files/pyspark-4.2.0.tar.gz') res.writeHead(200).end(served.body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    index = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fetchIt = (l: ArtifactLock, dest: string) => {
    fs.mkdirSync(dest, { recursive: true });
    requests.length = 0;
    return fetchPypiFile(index, 'pyspark', '4.2.0', 'sdist', dest, () => undefined, l);
  };

  it('downloads a file that matches the lock (control), and reuses the cached copy while it still matches', async () => {
    served = { body: good, published: sha256(good) };
    const dest = path.join(dir, 'ok');
    await expect(fetchIt(lock(), dest)).resolves.toEqual({ file: path.join(dest, 'pyspark-4.2.0.tar.gz'), sha256: sha256(good) });
    expect(requests).toEqual(['/simple/pyspark/', '/files/pyspark-4.2.0.tar.gz']);
    await fetchIt(lock(), dest);
    expect(requests).toEqual(['/simple/pyspark/']);
  });

  it('the lock decides: a file the index vouches for (its published hash agrees) but the lock does not is refused and removed', async () => {
    served = { body: evil, published: sha256(good) };
    const dest = path.join(dir, 'mismatch');
    await expect(fetchIt(lock(), dest)).rejects.toThrow(
      `pyspark-4.2.0.tar.gz from ${index} does not match the artifact lock: SHA-256 expected ${sha256(good).slice(0, 16)}…, got ${sha256(evil).slice(0, 16)}…`,
    );
    expect(fs.existsSync(path.join(dest, 'pyspark-4.2.0.tar.gz'))).toBe(false);
  });

  it('refuses before downloading when the index publishes another hash than the lock pins', async () => {
    served = { body: evil, published: sha256(evil) };
    await expect(fetchIt(lock(), path.join(dir, 'published'))).rejects.toThrow(
      `pyspark-4.2.0.tar.gz on ${index} is published with SHA-256 ${sha256(evil).slice(0, 16)}…, but the artifact lock pins ${sha256(good).slice(0, 16)}…`,
    );
    expect(requests).toEqual(['/simple/pyspark/']);
  });

  it('accepts an index that publishes no hash when the file matches the lock (the lock is what decides)', async () => {
    served = { body: good };
    await expect(fetchIt(lock(), path.join(dir, 'nohash'))).resolves.toMatchObject({ sha256: sha256(good) });
  });

  it('refuses a version the lock does not pin, before asking the index anything', async () => {
    served = { body: good, published: sha256(good) };
    await expect(fetchIt(lock({}), path.join(dir, 'missing'))).rejects.toThrow('the artifact lock has no SHA-256 for pyspark 4.2.0 (sdist) from PyPI, so millrace will not install it');
    expect(requests).toEqual([]);
  });

  it('replaces a cached download that does not match the lock', async () => {
    served = { body: good, published: sha256(good) };
    const dest = path.join(dir, 'stale');
    fs.mkdirSync(dest, { recursive: true });
    fs.writeFileSync(path.join(dest, 'pyspark-4.2.0.tar.gz'), evil);
    await expect(fetchIt(lock(), dest)).resolves.toMatchObject({ sha256: sha256(good) });
    expect(requests).toEqual(['/simple/pyspark/', '/files/pyspark-4.2.0.tar.gz']);
  });
});
