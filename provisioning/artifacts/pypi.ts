/**
 * Fetches a release file from a PyPI index (pypi.org by default, or a mirror) through the JSON
 * form of the simple API (PEP 691, what pip itself reads). The file must be the one the artifact
 * lock names, with the lock's SHA-256: the index's own hash is checked too, but the lock decides.
 */
import * as fs from 'node:fs';
import { MillraceError } from '../../lib/errors';
import { download, fetchText } from './download';
import { type ArtifactLock, checkLocked, digestFile, lockedPypi } from './lock';

interface SimpleProject {
  files: { filename: string; url: string; hashes: { sha256?: string }; yanked?: boolean | string }[];
}

export interface PypiFile {
  filename: string;
  url: string;
  /** The SHA-256 the index publishes, if any. */
  published?: string;
}

/** Finds a release file on the index: the sdist, or the first wheel of that version (or exactly `filename`). */
export async function findPypiFile(index: string, name: string, version: string, packagetype: 'sdist' | 'bdist_wheel', filename?: string): Promise<PypiFile> {
  const base = index.replace(/\/$/, '');
  const project = JSON.parse(await fetchText(`${base}/simple/${name}/`, { accept: 'application/vnd.pypi.simple.v1+json' })) as SimpleProject;
  const wanted = filename
    ? (f: string) => f === filename
    : packagetype === 'sdist'
      ? (f: string) => f === `${name}-${version}.tar.gz`
      : (f: string) => f.startsWith(`${name}-${version}-`) && f.endsWith('.whl');
  const entry = project.files.find((f) => wanted(f.filename) && !f.yanked);
  if (!entry) throw new MillraceError(`${name} ${version} has no ${filename ?? packagetype} on ${index}`, { hint: 'check the version in the config and the index URL (artifacts.pypiIndex)' });
  return { filename: entry.filename, url: new URL(entry.url, `${base}/simple/${name}/`).toString(), published: entry.hashes.sha256 };
}

export async function fetchPypiFile(
  index: string,
  name: string,
  version: string,
  packagetype: 'sdist' | 'bdist_wheel',
  destDir: string,
  report: (m: string) => void,
  lock: ArtifactLock,
): Promise<{ file: string; sha256: string }> {
  // Refused before any download when the lock does not know it.
  const locked = lockedPypi(lock, name, version, packagetype);
  const entry = await findPypiFile(index, name, version, packagetype, locked.file);
  if (entry.published && entry.published !== locked.sha256)
    throw new MillraceError(
      `${entry.filename} on ${index} is published with SHA-256 ${entry.published.slice(0, 16)}…, but the artifact lock pins ${locked.sha256.slice(0, 16)}…`,
      { hint: 'the index serves a different file than the one pinned: check the mirror (artifacts.pypiIndex); nothing was downloaded' },
    );
  const file = `${destDir}/${entry.filename}`;
  // A cached download is used only if it still matches the lock.
  if (!fs.existsSync(file) || (await digestFile(file, 'sha256')) !== locked.sha256) {
    let shown = -1;
    await download(entry.url, file, (n, total) => {
      // One report per 16 MiB, not one per chunk.
      if (Math.floor(mib(n) / 16) === shown) return;
      shown = Math.floor(mib(n) / 16);
      report(`download ${entry.filename} ${mib(n)}${total ? `/${mib(total)}` : ''} MiB`);
    });
  }
  const actual = await digestFile(file, 'sha256');
  if (actual !== locked.sha256) fs.rmSync(file, { force: true });
  checkLocked(`${entry.filename} from ${index}`, 'SHA-256', locked.sha256, actual, 'the download was removed; run the command again, or check the mirror (artifacts.pypiIndex)');
  return { file, sha256: actual };
}

const mib = (n: number): number => Math.round(n / 1048576);
