/**
 * The Apache release archive source against a mirror served on loopback: the tarball is checked
 * against its .sha512 before use, in both formats Apache publishes, and a mismatch is refused.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { apacheBundle, apacheUrl, parseSha512File } from '../../../provisioning/artifacts/apache';

describe('Apache archive source', () => {
  let dir: string;
  let server: http.Server;
  let mirror: string;
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-apache-'));
    const src = path.join(dir, 'src', 'kafka_2.13-4.1.1', 'libs');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'kafka-clients-4.1.1.jar'), 'not really a jar');
    const tgz = path.join(dir, 'kafka.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', path.join(dir, 'src'), 'kafka_2.13-4.1.1']);
    files.set('/kafka/4.1.1/kafka_2.13-4.1.1.tgz', fs.readFileSync(tgz));
    server = http.createServer((req, res) => {
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

  const digest = (): string => crypto.createHash('sha512').update(files.get('/kafka/4.1.1/kafka_2.13-4.1.1.tgz')!).digest('hex');

  it('builds the release URLs of each component', () => {
    expect(apacheUrl('https://archive.apache.org/dist/', 'kafka', '4.1.1')).toBe('https://archive.apache.org/dist/kafka/4.1.1/kafka_2.13-4.1.1.tgz');
    expect(apacheUrl('https://archive.apache.org/dist', 'hadoop', '3.5.0')).toBe('https://archive.apache.org/dist/hadoop/common/hadoop-3.5.0/hadoop-3.5.0.tar.gz');
    expect(apacheUrl('https://archive.apache.org/dist', 'spark', '4.2.0')).toBe('https://archive.apache.org/dist/spark/spark-4.2.0/spark-4.2.0-bin-hadoop3.tgz');
  });

  it('reads both .sha512 formats: "hex  name" and gpg --print-md "name: HEX HEX …"', () => {
    const hex = digest();
    expect(parseSha512File(`${hex}  kafka_2.13-4.1.1.tgz\n`)).toBe(hex);
    const gpg = `kafka_2.13-4.1.1.tgz: ${hex.toUpperCase().match(/.{1,8}/g)!.join(' ').replace(/(.{72})/g, '$1\n   ')}\n`;
    expect(parseSha512File(gpg)).toBe(hex);
    expect(() => parseSha512File('no checksum here')).toThrow(/cannot read a SHA-512/);
  });

  it('unpacks a release whose SHA-512 matches, and lays it out as millrace installs it', async () => {
    files.set('/kafka/4.1.1/kafka_2.13-4.1.1.tgz.sha512', Buffer.from(`${digest()}  kafka_2.13-4.1.1.tgz\n`));
    const root = path.join(dir, 'ok', 'root');
    const verified = await apacheBundle(mirror, 'kafka', '4.1.1', root, path.join(dir, 'ok', 'work'), () => undefined);
    expect(fs.readFileSync(path.join(root, 'libs', 'kafka-clients-4.1.1.jar'), 'utf8')).toBe('not really a jar');
    expect(verified[0]).toMatch(/^kafka_2\.13-4\.1\.1\.tgz SHA-512 [0-9a-f]{128} matches /);
  });

  it('refuses a release whose SHA-512 does not match, naming the file and the mirror', async () => {
    files.set('/kafka/4.1.1/kafka_2.13-4.1.1.tgz.sha512', Buffer.from(`${'ab'.repeat(64)}  kafka_2.13-4.1.1.tgz\n`));
    await expect(apacheBundle(mirror, 'kafka', '4.1.1', path.join(dir, 'bad', 'root'), path.join(dir, 'bad', 'work'), () => undefined)).rejects.toThrow(
      new RegExp(`kafka_2\\.13-4\\.1\\.1\\.tgz from ${mirror.replace(/[.:/]/g, '\\$&')} does not match its published SHA-512 \\(expected abababababababab…`),
    );
  });
});
