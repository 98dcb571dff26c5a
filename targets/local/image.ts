/**
 * The local target's host image: a Debian 12 rootfs built once with debootstrap and cached,
 * with what a Debian or Ubuntu EC2 image would have (sshd, systemd, iproute2, curl, python3).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from '../../lib/process';
import { cacheDir } from '../../lib/paths';

export const IMAGE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'curl',
  'ca-certificates',
  'python3',
  'procps',
  'sudo',
  'less',
];
const SUITE = 'bookworm';
const IMAGE_VERSION = 1;

export function imageDir(): string {
  return path.join(cacheDir(), 'images', `debian-${SUITE}-v${IMAGE_VERSION}`);
}

const READY = '.millrace-image-ready';

/** Returns the cached image, building it first if needed (about a minute, once per machine). */
export async function ensureImage(mirror: string, report: (m: string) => void): Promise<string> {
  const dir = imageDir();
  if (fs.existsSync(path.join(dir, READY))) return dir;
  report(`building the Debian ${SUITE} host image with debootstrap (once per machine)`);
  const staging = `${dir}.building-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  await run('debootstrap', ['--variant=minbase', `--include=${IMAGE_PACKAGES.join(',')}`, SUITE, staging, mirror], {
    hint: 'debootstrap needs network access to a Debian mirror (set MILLRACE_DEBIAN_MIRROR to use another)',
  });
  // Host keys are made per node; the image must not carry any.
  for (const f of fs.readdirSync(path.join(staging, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) fs.rmSync(path.join(staging, 'etc/ssh', f));
  }
  // apt in the nodes keeps downloaded packages, so a shared archive cache speeds up later nodes.
  fs.rmSync(path.join(staging, 'etc/apt/apt.conf.d/docker-clean'), { force: true });
  fs.writeFileSync(path.join(staging, 'etc/apt/apt.conf.d/10millrace-keep-debs'), 'Binary::apt::APT::Keep-Downloaded-Packages "true";\n');
  fs.writeFileSync(path.join(staging, READY), new Date().toISOString() + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  return dir;
}
