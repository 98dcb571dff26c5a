/**
 * The local target's host image: a Debian 12 rootfs built once with debootstrap and cached, made
 * like a Debian EC2 image: what such an image has (sshd, systemd, iproute2, curl, python3, sudo),
 * cloud-init with the NoCloud datasource, an empty machine-id and hostname (each node gets its
 * own at first boot), no host keys, no root key, no login user (cloud-init makes it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from '../../lib/process';
import { cacheDir } from '../../lib/paths';
import { render } from '../../templates/render';

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
/** Installed with apt inside the image (with their recommends, as on an EC2 image). */
const CLOUD_INIT_PACKAGES = ['cloud-init'];
const SUITE = 'bookworm';
const IMAGE_VERSION = 3;

/** Units that would fight over the shared network namespace or the console: off in every node. */
const MASKED_UNITS = ['systemd-networkd.service', 'systemd-resolved.service', 'console-getty.service', 'getty@tty1.service'];
// Not millrace-*: that prefix is the provisioned services' (`systemctl stop 'millrace-*'`).
const FSTAB_UNIT = 'container-fstab.service';

export function imageDir(): string {
  return path.join(cacheDir(), 'images', `debian-${SUITE}-v${IMAGE_VERSION}`);
}

const READY = '.millrace-image-ready';

/** Runs a command inside a rootfs (no boot): no /proc, /dev or resolv.conf to mount by hand. */
function inRootfs(rootfs: string, args: string[], hint: string): Promise<unknown> {
  return run('systemd-nspawn', ['--quiet', '-D', rootfs, '--register=no', '--keep-unit', ...args], { hint });
}

/** Returns the cached image, building it first if needed (about two minutes, once per machine). */
export async function ensureImage(mirror: string, report: (m: string) => void): Promise<string> {
  const dir = imageDir();
  if (fs.existsSync(path.join(dir, READY))) return dir;
  report(`building the Debian ${SUITE} host image with debootstrap and cloud-init (once per machine)`);
  const staging = `${dir}.building-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  await run('debootstrap', ['--variant=minbase', `--include=${IMAGE_PACKAGES.join(',')}`, SUITE, staging, mirror], {
    hint: 'debootstrap needs network access to a Debian mirror (set MILLRACE_DEBIAN_MIRROR to use another)',
  });
  const r = (p: string): string => path.join(staging, p);
  await inRootfs(staging, ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', ...CLOUD_INIT_PACKAGES], 'apt-get in the image needs the Debian mirror');
  await inRootfs(staging, ['apt-get', 'clean'], 'apt-get clean failed in the image');
  fs.rmSync(r('var/lib/apt/lists'), { recursive: true, force: true });
  fs.mkdirSync(r('var/lib/apt/lists/partial'), { recursive: true });
  fs.writeFileSync(r('etc/cloud/cloud.cfg.d/90-millrace.cfg'), render('local/cloud.cfg', {}));
  // Host keys are made per node; the image must not carry any.
  for (const f of fs.readdirSync(r('etc/ssh'))) {
    if (f.startsWith('ssh_host_')) fs.rmSync(r(`etc/ssh/${f}`));
  }
  // As on EC2 images: no machine-id (systemd makes one at first boot), no hostname (debootstrap
  // copies the build machine's; cloud-init sets the node's from its metadata).
  fs.writeFileSync(r('etc/machine-id'), '', { mode: 0o444 });
  fs.rmSync(r('var/lib/dbus/machine-id'), { force: true });
  fs.symlinkSync('/etc/machine-id', r('var/lib/dbus/machine-id'));
  fs.writeFileSync(r('etc/hostname'), '');
  fs.mkdirSync(r('etc/systemd/system/local-fs.target.wants'), { recursive: true });
  for (const unit of MASKED_UNITS) fs.symlinkSync('/dev/null', r(`etc/systemd/system/${unit}`));
  fs.writeFileSync(r(`etc/systemd/system/${FSTAB_UNIT}`), render('local/container-fstab.service', {}));
  fs.symlinkSync(`/etc/systemd/system/${FSTAB_UNIT}`, r(`etc/systemd/system/local-fs.target.wants/${FSTAB_UNIT}`));
  // apt in the nodes keeps downloaded packages, so a shared archive cache speeds up later nodes.
  fs.rmSync(r('etc/apt/apt.conf.d/docker-clean'), { force: true });
  fs.writeFileSync(r('etc/apt/apt.conf.d/10millrace-keep-debs'), 'Binary::apt::APT::Keep-Downloaded-Packages "true";\n');
  fs.writeFileSync(r(READY), new Date().toISOString() + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  return dir;
}
