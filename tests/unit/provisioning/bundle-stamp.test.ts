/** A cached bundle verified once is trusted while its file is untouched and the lock pins the same; anything else verifies it again. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha512File, stampedBundle, verifyBundle, writeManifest, writeVerifiedStamp } from '../../../provisioning/artifacts/bundle';

describe('the verified stamp of a cached bundle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-stamp-'));
  const tar = path.join(dir, 'kafka-4.1.1-r1.tar');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    fs.rmSync(`${tar}.verified.json`, { force: true });
    fs.writeFileSync(tar, Buffer.alloc(64 * 1024, 7));
    writeManifest(tar, { component: 'kafka', version: '4.1.1', source: 'maven', file: path.basename(tar), sha512: await sha512File(tar), bytes: 65536, verified: [], inputs: {}, builtAt: 'now' });
  });

  it('none before the first full check; after it, the same file and pins are trusted without hashing', async () => {
    expect(stampedBundle(tar, 'pins-a')).toBeUndefined();
    writeVerifiedStamp((await verifyBundle(tar))!, 'pins-a');
    expect(stampedBundle(tar, 'pins-a')).toMatchObject({ path: tar, component: 'kafka' });
  });

  it('other pins, a write to the file, or a copy in its place: no longer trusted, and the full check finds the damage', async () => {
    writeVerifiedStamp((await verifyBundle(tar))!, 'pins-a');
    expect(stampedBundle(tar, 'pins-b')).toBeUndefined();
    // Written in place, the same size, its modification time put back: the change time still moves.
    const { mtime, atime } = fs.statSync(tar);
    await new Promise((r) => setTimeout(r, 20));
    const fd = fs.openSync(tar, 'r+');
    fs.writeSync(fd, Buffer.from('tampered'), 0, 8, 4096);
    fs.closeSync(fd);
    fs.utimesSync(tar, atime, mtime);
    expect(stampedBundle(tar, 'pins-a')).toBeUndefined();
    await expect(verifyBundle(tar)).rejects.toThrow(/does not match its checksum/);
  });

  it('a copy with the stamp beside it is a new file: not trusted', async () => {
    writeVerifiedStamp((await verifyBundle(tar))!, 'pins-a');
    const copy = path.join(dir, 'copy');
    fs.mkdirSync(copy, { recursive: true });
    for (const f of fs.readdirSync(dir).filter((f) => f.startsWith('kafka-'))) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
    expect(stampedBundle(path.join(copy, path.basename(tar)), 'pins-a')).toBeUndefined();
  });
});
