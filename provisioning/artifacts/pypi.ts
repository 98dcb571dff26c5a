/**
 * Fetches a release file from a PyPI index (pypi.org by default, or a mirror) through the JSON
 * form of the simple API (PEP 691, what pip itself reads) and checks it against the SHA-256 the
 * index publishes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { MillraceError } from '../../lib/errors';
import { download, fetchText } from './download';

interface SimpleProject {
  files: { filename: string; url: string; hashes: { sha256?: string }; yanked?: boolean | string }[];
}

export async function fetchPypiFile(
  index: string,
  name: string,
  version: string,
  packagetype: 'sdist' | 'bdist_wheel',
  destDir: string,
  report: (m: string) => void,
): Promise<{ file: string; sha256: string }> {
  const base = index.replace(/\/$/, '');
  const project = JSON.parse(await fetchText(`${base}/simple/${name}/`, { accept: 'application/vnd.pypi.simple.v1+json' })) as SimpleProject;
  const wanted = packagetype === 'sdist' ? (f: string) => f === `${name}-${version}.tar.gz` : (f: string) => f.startsWith(`${name}-${version}-`) && f.endsWith('.whl');
  const entry = project.files.find((f) => wanted(f.filename) && !f.yanked);
  const expected = entry?.hashes.sha256;
  if (!entry || !expected) throw new MillraceError(`${name} ${version} has no ${packagetype} with a SHA-256 on ${index}`, { hint: 'check the version in the config and the index URL (artifacts.pypiIndex)' });
  const url = new URL(entry.url, `${base}/simple/${name}/`).toString();
  const file = `${destDir}/${entry.filename}`;
  if (!fs.existsSync(file) || (await sha256File(file)) !== expected) {
    let shown = -1;
    await download(url, file, (n, total) => {
      // One report per 16 MiB, not one per chunk.
      if (Math.floor(mib(n) / 16) === shown) return;
      shown = Math.floor(mib(n) / 16);
      report(`download ${entry.filename} ${mib(n)}${total ? `/${mib(total)}` : ''} MiB`);
    });
  }
  const actual = await sha256File(file);
  if (actual !== expected) {
    fs.rmSync(file, { force: true });
    throw new MillraceError(`${entry.filename} does not match the SHA-256 published by ${index} (expected ${expected}, got ${actual})`, {
      hint: 'the download was removed; run the command again, or check the mirror',
    });
  }
  return { file, sha256: actual };
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const mib = (n: number): number => Math.round(n / 1048576);
