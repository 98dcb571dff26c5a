/**
 * The data volume script (aws: the encrypted EBS data volume) run for real on this machine against
 * loop devices: real lsblk, blkid, mkfs.ext4 and mount. Only the mount point, fstab and label
 * are the test's own, so nothing of the machine's is touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataVolumeSettings } from '../../provisioning/plan';
import { render } from '../../templates/render';
import { TEST_DIR, randomName } from './harness';

const MiB = 1024 * 1024;

function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
}

function run(script: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('sh', [script], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('data volume script (aws), on real loop devices', () => {
  const dir = path.join(TEST_DIR, randomName('data-volume'));
  // A size no disk of this machine has, so only the test's loop devices match.
  const size = 64 * MiB + (Date.now() % 997) * 4096;
  const loops: string[] = [];
  let settings: DataVolumeSettings;
  let script: string;

  const attach = (name: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, '');
    fs.truncateSync(file, size);
    const dev = sh(`losetup --find --show ${file}`);
    loops.push(dev);
    return dev;
  };

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (losetup, mkfs, mount)');
    for (const tool of ['losetup', 'lsblk', 'blkid', 'mkfs.ext4', 'findmnt', 'mount'])
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing on this machine (util-linux / e2fsprogs)`);
    fs.mkdirSync(dir, { recursive: true });
    settings = { mountPoint: path.join(dir, 'mnt'), label: `mr${Date.now().toString(36).slice(-8)}`, sizeBytes: size, fstab: path.join(dir, 'fstab'), deviceTypes: ['loop'] };
    script = path.join(dir, 'data-volume.sh');
    fs.writeFileSync(script, render('host/data-volume.sh', settings));
    fs.writeFileSync(settings.fstab, '# test fstab\n');
  });

  afterAll(() => {
    spawnSync('sh', ['-c', `umount ${settings.mountPoint} 2>/dev/null; true`]);
    for (const dev of loops) spawnSync('losetup', ['-d', dev]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses when no blank disk of the size is attached, and names what it looked for', () => {
    const r = run(script);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`no blank disk of ${size} bytes found for the data volume`);
  });

  it('will not guess between two blank disks of the size', () => {
    const a = attach('a.img');
    const b = attach('b.img');
    const r = run(script);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('several blank disks');
    expect(r.stderr).toContain(a);
    expect(r.stderr).toContain(b);
    // Give b a filesystem: it is no longer blank, so a is the only candidate.
    sh(`mkfs.ext4 -q ${b}`);
  });

  it('formats the one blank disk, mounts it and adds it to fstab; a second run changes nothing', () => {
    const [a, b] = loops as [string, string];
    const first = run(script);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`changed: formatted the data volume ${a} (ext4, label ${settings.label})`);
    expect(first.stdout).toContain(`changed: mounted the data volume ${a} at ${settings.mountPoint}`);
    expect(sh(`findmnt -rn -o SOURCE --mountpoint ${settings.mountPoint}`)).toBe(a);
    expect(sh(`blkid -s LABEL -o value ${b} || true`)).toBe(''); // the disk with a filesystem is untouched
    expect(fs.readFileSync(settings.fstab, 'utf8')).toContain(`LABEL=${settings.label} ${settings.mountPoint} ext4 defaults,noatime,nofail 0 2\n`);
    fs.writeFileSync(path.join(settings.mountPoint, 'kept'), 'data');
    const second = run(script);
    expect(second).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('after an unmount, mounts the same volume again by label without formatting it', () => {
    sh(`umount ${settings.mountPoint}`);
    const r = run(script);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('formatted');
    expect(r.stdout).toContain('changed: mounted the data volume');
    expect(fs.readFileSync(path.join(settings.mountPoint, 'kept'), 'utf8')).toBe('data');
    expect(fs.readFileSync(settings.fstab, 'utf8').match(new RegExp(`LABEL=${settings.label}`, 'g'))).toHaveLength(1);
  });

  it('never mounts over a directory that already holds files', () => {
    sh(`umount ${settings.mountPoint}`);
    fs.writeFileSync(path.join(settings.mountPoint, 'on-the-root-volume'), 'x');
    const r = run(script);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`${settings.mountPoint} already holds files on the root volume`);
    expect(spawnSync('findmnt', ['--mountpoint', settings.mountPoint]).status).not.toBe(0);
    fs.rmSync(path.join(settings.mountPoint, 'on-the-root-volume'));
  });
});
