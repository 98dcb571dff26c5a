import * as crypto from 'node:crypto';
import { q } from '../lib/shell';
import type { RemoteHost } from './remote-host';
import type { FileSpec } from './service';

/**
 * Puts files in place only where they differ (content, mode or owner) and returns the paths it
 * changed. One round trip reads the state of every file; secrets are compared by hash only.
 * `beforeWrite` sees the files about to change before the first one is written.
 */
export async function syncFiles(host: RemoteHost, files: FileSpec[], beforeWrite?: (stale: FileSpec[]) => Promise<void>): Promise<FileSpec[]> {
  if (files.length === 0) return [];
  const probe = files
    .map((f) => `if [ -f ${q(f.path)} ]; then echo "$(stat -c '%a %U' ${q(f.path)}) $(sha256sum < ${q(f.path)} | cut -c1-64)"; else echo missing; fi`)
    .join('\n');
  const lines = (await host.execOrThrow(probe, { what: 'read the state of config files' })).split('\n');
  const stale = files.filter((f, i) => {
    const want = `${f.mode.toString(8)} ${f.owner} ${sha256(f.content)}`;
    return lines[i]?.trim() !== want;
  });
  if (stale.length && beforeWrite) await beforeWrite(stale);
  const dirs = [...new Set(stale.map((f) => f.path.slice(0, f.path.lastIndexOf('/')) || '/'))];
  if (dirs.length) await host.execOrThrow(`mkdir -p ${dirs.map(q).join(' ')}`, { what: 'create config directories' });
  for (const f of stale) await host.putFile(f.path, f.content, { mode: f.mode, owner: f.owner });
  return stale;
}

export function sha256(content: string | Buffer): string {
  return crypto.createHash('sha256').update(content).digest('hex');
}
