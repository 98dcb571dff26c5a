import { cmd, q } from '../../lib/shell';
import { RemoteCommandError } from '../../lib/errors';
import type { RemoteHost } from '../remote-host';
import type { StepOutcome } from '../service';
import type { Bundle } from './bundle';

export const OPT = '/opt/millrace';
const REMOTE_CACHE = '/var/cache/millrace';

/**
 * Installs a bundle into /opt/millrace/<component>/<version> and points `current` at it.
 * Skips everything when the installed copy carries the bundle's checksum; otherwise uploads
 * (unless the host already holds a copy with that checksum), verifies, unpacks, then swaps.
 */
export async function installBundle(host: RemoteHost, bundle: Bundle, report: (m: string) => void, beforeSwitch?: () => Promise<void>): Promise<StepOutcome> {
  const base = `${OPT}/${bundle.component}`;
  const dest = `${base}/${bundle.version}`;
  const marker = `${dest}/.millrace-sha512`;
  const link = `${base}/current`;
  const state = await host.exec(`printf '%s\\n%s\\n' "$(cat ${q(marker)} 2>/dev/null)" "$(readlink ${q(link)} 2>/dev/null)"`);
  const [installedSha, linkTarget] = state.stdout.split('\n').map((s) => s.trim());
  if (installedSha === bundle.sha512 && linkTarget === bundle.version) return { changed: false };

  const remoteFile = `${REMOTE_CACHE}/${bundle.file}`;
  await host.execOrThrow(`mkdir -p ${q(REMOTE_CACHE)} ${q(base)} && chmod 700 ${q(REMOTE_CACHE)}`);
  const sum = async (): Promise<string> => (await host.exec(`sha512sum ${q(remoteFile)} 2>/dev/null | cut -d' ' -f1`)).stdout.trim();
  if ((await sum()) !== bundle.sha512) {
    report(`upload ${bundle.file} (${Math.round(bundle.bytes / 1048576)} MiB)`);
    await host.upload(bundle.path, remoteFile);
    const got = await sum();
    if (got !== bundle.sha512) {
      await host.exec(`rm -f ${q(remoteFile)}`);
      throw new RemoteCommandError(host.name, `verify ${bundle.file}`, 1, `SHA-512 after upload is ${got.slice(0, 16)}…, expected ${bundle.sha512.slice(0, 16)}…`, {
        hint: 'the upload was damaged and has been removed; run `millrace up` again',
      });
    }
  }
  report(`unpack ${bundle.component} ${bundle.version}`);
  await beforeSwitch?.();
  const staging = `${dest}.millrace-staging`;
  await host.execOrThrow(
    [
      cmd('rm', '-rf', staging),
      cmd('mkdir', '-p', staging),
      cmd('tar', '-xf', remoteFile, '-C', staging, '--no-same-owner'),
      `printf '%s\\n' ${q(bundle.sha512)} > ${q(`${staging}/.millrace-sha512`)}`,
      cmd('rm', '-rf', dest),
      cmd('mv', staging, dest),
      cmd('ln', '-sfn', bundle.version, link),
    ].join(' && '),
    { what: `unpack ${bundle.file}` },
  );
  return { changed: true, detail: `${bundle.component} ${bundle.version}` };
}
