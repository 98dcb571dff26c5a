/**
 * A bundle is one component at one version, packed as a .tar.gz in the operator's cache with a
 * manifest beside it. Its SHA-512 is checked before every use: on the operator before upload,
 * and on the host after upload.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import type { ComponentName } from '../service';

export interface BundleManifest {
  component: ComponentName;
  version: string;
  /** How it was made: "maven", "apache". */
  source: string;
  file: string;
  sha512: string;
  bytes: number;
  /** Upstream checksums that were verified while building it. */
  verified: string[];
  builtAt: string;
}

export interface Bundle extends BundleManifest {
  /** Absolute path of the .tar.gz. */
  path: string;
}

export function bundleDir(cacheRoot: string, source: string): string {
  return path.join(cacheRoot, 'artifacts', source);
}

export function manifestPath(tarball: string): string {
  return `${tarball}.manifest.json`;
}

export async function sha512File(file: string): Promise<string> {
  const hash = crypto.createHash('sha512');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function readManifest(tarball: string): BundleManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(manifestPath(tarball), 'utf8')) as BundleManifest;
  } catch {
    return undefined;
  }
}

export function writeManifest(tarball: string, manifest: BundleManifest): void {
  fs.writeFileSync(manifestPath(tarball), JSON.stringify(manifest, null, 2) + '\n');
}

/**
 * Verifies a cached bundle against its manifest. A mismatch removes the bad copy, so that the
 * next run fetches it afresh, and says so.
 */
export async function verifyBundle(tarball: string): Promise<Bundle | undefined> {
  const manifest = readManifest(tarball);
  if (!manifest || !fs.existsSync(tarball)) return undefined;
  const actual = await sha512File(tarball);
  if (actual !== manifest.sha512) {
    fs.rmSync(tarball, { force: true });
    fs.rmSync(manifestPath(tarball), { force: true });
    throw new MillraceError(
      `the cached artifact ${tarball} does not match its checksum (SHA-512 expected ${manifest.sha512.slice(0, 16)}…, got ${actual.slice(0, 16)}…)`,
      { hint: 'the damaged copy was removed from the cache; run the command again to download it afresh' },
    );
  }
  return { ...manifest, path: tarball };
}
