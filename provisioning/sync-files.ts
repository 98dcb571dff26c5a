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
  // Per file: mode, owner, content hash and, for a file with a restart digest, the digest it holds.
  const probe = files
    .map((f) => {
      const digest = f.restartDigest === undefined ? '' : ` $(head -1 ${q(f.path)} | sed -n ${q(`s/^${DIGEST_LINE}//p`)})`;
      return `if [ -f ${q(f.path)} ]; then echo "$(stat -c '%a %U' ${q(f.path)}) $(sha256sum < ${q(f.path)} | cut -c1-64)${digest}"; else echo missing; fi`;
    })
    .join('\n');
  const lines = (await host.execOrThrow(probe, { what: 'read the state of config files' })).split('\n');
  const stale: FileSpec[] = [];
  files.forEach((f, i) => {
    const [mode, owner, hash, digest] = (lines[i] ?? '').trim().split(' ');
    if (`${mode} ${owner} ${hash}` === `${f.mode.toString(8)} ${f.owner} ${sha256(f.content)}`) return;
    // Changed, but not in what the units read: written, and nothing restarts for it.
    const unitsUnaffected = f.restartDigest !== undefined && digest === f.restartDigest;
    stale.push(unitsUnaffected ? { ...f, restarts: [] } : f);
  });
  if (stale.length && beforeWrite) await beforeWrite(stale);
  const dirs = [...new Set(stale.map((f) => f.path.slice(0, f.path.lastIndexOf('/')) || '/'))];
  if (dirs.length) await host.execOrThrow(`mkdir -p ${dirs.map(q).join(' ')}`, { what: 'create config directories' });
  for (const f of stale) await host.putFile(f.path, f.content, { mode: f.mode, owner: f.owner });
  return stale;
}

/** The first line of a file with a restart digest. */
const DIGEST_LINE = '# restart digest: ';

/**
 * A file whose restarting units read only part of it (`unitsRead`): its content, headed by the
 * digest of that part, and the digest for the FileSpec. The next sync reads the digest back from
 * the node: a change outside that part is written and restarts nothing.
 */
export function withRestartDigest(content: string, unitsRead: string): { content: string; restartDigest: string } {
  const restartDigest = sha256(unitsRead);
  return { content: `${DIGEST_LINE}${restartDigest}\n${content}`, restartDigest };
}

export function sha256(content: string | Buffer): string {
  return crypto.createHash('sha256').update(content).digest('hex');
}
