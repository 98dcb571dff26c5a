/**
 * Fetches a release file from a PyPI index (pypi.org by default, or a mirror that serves the JSON
 * API) and checks it against the SHA-256 the index publishes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { MillraceError } from '../../lib/errors';
import { download, fetchText } from './download';

interface PypiRelease {
  urls: { filename: string; url: string; packagetype: string; digests: { sha256: string } }[];
}

export async function fetchPypiFile(
  index: string,
  name: string,
  version: string,
  packagetype: 'sdist' | 'bdist_wheel',
  destDir: string,
  report: (m: string) => void,
): Promise<{ file: string; sha256: string }> {
  const meta = JSON.parse(await fetchText(`${index.replace(/\/$/, '')}/pypi/${name}/${version}/json`)) as PypiRelease;
  const entry = meta.urls.find((u) => u.packagetype === packagetype);
  if (!entry) throw new MillraceError(`${name} ${version} has no ${packagetype} on ${index}`, { hint: 'check the version in the config' });
  const file = `${destDir}/${entry.filename}`;
  if (!fs.existsSync(file) || (await sha256File(file)) !== entry.digests.sha256) {
    await download(entry.url, file, (n, total) => report(`download ${entry.filename} ${mib(n)}${total ? `/${mib(total)}` : ''} MiB`));
  }
  const actual = await sha256File(file);
  if (actual !== entry.digests.sha256) {
    fs.rmSync(file, { force: true });
    throw new MillraceError(`${entry.filename} does not match the SHA-256 published by ${index} (expected ${entry.digests.sha256}, got ${actual})`, {
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
