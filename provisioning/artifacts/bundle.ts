/**
 * A bundle is one component at one version, packed as a .tar.gz in the operator's cache with a
 * manifest beside it. Its SHA-512 is checked before every use: on the operator before upload,
 * and on the host after upload.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { run } from '../../lib/process';
import type { ComponentName } from '../service';
import { MAVEN_SPECS } from './catalog';
import { type ArtifactLock, checkMavenJars, lockedApache, lockedMaven, lockedPypi } from './lock';

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
  /**
   * The locked downloads it was built from that it does not hold as such (the Apache tarball, the
   * pyspark sdist, the py4j wheel): artifact-lock key ("apache:…", "pypi:…") → digest. Absent in
   * bundles built before the lock, which are rebuilt.
   */
  inputs?: Record<string, string>;
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
/**
 * A cached bundle checked in full once (its SHA-512, and its jars against the lock) is trusted
 * again while its file is untouched (same inode, size and change time, which no write or copy
 * keeps) and the lock pins the same inputs for it: hashing a 500 MB bundle on every `up` cost
 * seconds per component. Any change to the file or the pins checks it in full again, and every
 * upload is still checked against the manifest's SHA-512 on the node.
 */
export function verifiedStampPath(tarball: string): string {
  return `${tarball}.verified.json`;
}

interface VerifiedStamp {
  ino: number;
  size: number;
  ctimeMs: number;
  sha512: string;
  pins: string;
}

function stampOf(tarball: string, sha512: string, pins: string): VerifiedStamp {
  const st = fs.statSync(tarball);
  return { ino: st.ino, size: st.size, ctimeMs: st.ctimeMs, sha512, pins };
}

/** The bundle, when its stamp says it was verified as it is now against these pins. */
export function stampedBundle(tarball: string, pins: string): Bundle | undefined {
  try {
    const manifest = readManifest(tarball);
    const stamp = JSON.parse(fs.readFileSync(verifiedStampPath(tarball), 'utf8')) as VerifiedStamp;
    if (!manifest || manifest.sha512 !== stamp.sha512) return undefined;
    const now = stampOf(tarball, manifest.sha512, pins);
    return (Object.keys(now) as (keyof VerifiedStamp)[]).every((k) => now[k] === stamp[k]) ? { ...manifest, path: tarball } : undefined;
  } catch {
    return undefined;
  }
}

export function writeVerifiedStamp(bundle: Bundle, pins: string): void {
  fs.writeFileSync(verifiedStampPath(bundle.path), JSON.stringify(stampOf(bundle.path, bundle.sha512, pins)) + '\n');
}

export async function verifyBundle(tarball: string): Promise<Bundle | undefined> {
  const manifest = readManifest(tarball);
  if (!manifest || !fs.existsSync(tarball)) return undefined;
  const actual = await sha512File(tarball);
  if (actual !== manifest.sha512) {
    fs.rmSync(tarball, { force: true });
    fs.rmSync(manifestPath(tarball), { force: true });
    fs.rmSync(verifiedStampPath(tarball), { force: true });
    throw new MillraceError(
      `the cached artifact ${tarball} does not match its checksum (SHA-512 expected ${manifest.sha512.slice(0, 16)}…, got ${actual.slice(0, 16)}…)`,
      { hint: 'the damaged copy was removed from the cache; run the command again to download it afresh' },
    );
  }
  return { ...manifest, path: tarball };
}

/** The directories of a Maven-source bundle whose jars come from the Maven repository (and the lock's maven entry). */
export function mavenJarDirs(component: ComponentName, version: string): string[] {
  return MAVEN_SPECS[component](version).map((spec) => spec.dir);
}

/** The SHA-256 of every jar under dirs in a tar, read in one pass without unpacking it. */
export async function jarDigestsInTar(tarball: string, dirs: readonly string[]): Promise<Record<string, string>> {
  const out = await run('tar', ['-xf', tarball, '--wildcards', '*.jar', '--to-command', 'printf "%s " "$TAR_FILENAME"; sha256sum'], {
    hint: 'the cached bundle could not be read; remove it from the millrace cache and run again',
  });
  const digests: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^(?:\.\/)?(\S+\.jar) ([0-9a-f]{64})\b/.exec(line);
    if (m && dirs.some((d) => m[1]!.startsWith(`${d}/`) && !m[1]!.slice(d.length + 1).includes('/'))) digests[m[1]!] = m[2]!;
  }
  return digests;
}

/** The lock keys and digests of a bundle's non-Maven inputs, as ensureBundle records them. */
export const inputKey = { apache: (releasePath: string) => `apache:${releasePath}`, pypi: (lockKey: string) => `pypi:${lockKey}` };

/**
 * Checks a cached bundle against the artifact lock: the jars it took from a Maven repository by
 * their content, and the downloads it was built from by the digests its manifest records.
 * Returns why the bundle must be rebuilt (built before the lock, or from artifacts the lock no
 * longer pins), or undefined when it matches. A version the lock does not know is refused.
 */
export async function bundleLockMismatch(bundle: Bundle, lock: ArtifactLock, needs: { pypi?: [string, string, 'sdist' | 'bdist_wheel'][]; apache?: string }): Promise<string | undefined> {
  const expectedInputs: Record<string, string> = {};
  if (needs.apache) expectedInputs[inputKey.apache(needs.apache)] = lockedApache(lock, needs.apache, bundle.component, bundle.version);
  for (const [project, version, type] of needs.pypi ?? []) expectedInputs[inputKey.pypi(`${project} ${version} ${type}`)] = lockedPypi(lock, project, version, type).sha256;
  if (bundle.source === 'maven') {
    const expected = lockedMaven(lock, bundle.component, bundle.version);
    const actual = await jarDigestsInTar(bundle.path, mavenJarDirs(bundle.component, bundle.version));
    try {
      checkMavenJars(`the cached bundle ${bundle.file}`, expected, actual, { allowMissing: bundle.component === 'spark' });
    } catch (error) {
      return (error as Error).message;
    }
  }
  for (const [key, digest] of Object.entries(expectedInputs)) {
    const had = bundle.inputs?.[key];
    if (!had) return `the cached bundle ${bundle.file} does not record ${key} (built before the artifact lock)`;
    if (had !== digest) return `the cached bundle ${bundle.file} was built from ${key} with digest ${had.slice(0, 16)}…, the artifact lock pins ${digest.slice(0, 16)}…`;
  }
  return undefined;
}
