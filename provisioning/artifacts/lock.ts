/**
 * The artifact lock (artifacts.lock.json, beside this file): the digest millrace expects for every
 * file it downloads, for every known version, pinned in the repository. Downloads are checked
 * against it whatever the server says: the server's own checksum may agree or not, the lock
 * decides. An artifact the lock does not name is refused. `npm run lock:artifacts` (scripts/
 * lock-artifacts.ts) computes the entries by downloading from the real sources.
 *
 * - maven: per bundle ("kafka/4.1.1"), every jar it holds ("libs/kafka-clients-4.1.1.jar") → SHA-256.
 *   The set is pinned too: a resolution that brings a jar the lock does not list is refused.
 * - pypi: "pyspark 4.2.0 sdist" → the file name and its SHA-256.
 * - apache: the release path under a mirror ("kafka/4.1.1/kafka_2.13-4.1.1.tgz") → SHA-512.
 * - apacheKeys: per component, the OpenPGP fingerprints of the release managers whose
 *   signatures are trusted; only these keys are taken from the KEYS file the mirror serves.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { z } from 'zod';
import { MillraceError } from '../../lib/errors';
import { KNOWN_VERSIONS } from '../../lib/versions';
import type { ComponentName } from '../service';
import { MAVEN_CENTRAL_GAPS } from './catalog';
import lockJson from './artifacts.lock.json';

export const LOCK_FILE_IN_REPO = 'provisioning/artifacts/artifacts.lock.json';
export const LOCK_COMMAND = 'npm run lock:artifacts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'is not a SHA-256 (64 lowercase hex digits)');
const sha512 = z.string().regex(/^[0-9a-f]{128}$/, 'is not a SHA-512 (128 lowercase hex digits)');
const fingerprint = z.string().regex(/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/, 'is not an OpenPGP fingerprint (40 or 64 uppercase hex digits, no spaces)');

export const lockSchema = z
  .object({
    lockVersion: z.literal(1),
    maven: z.record(
      z.string().regex(/^(kafka|hadoop|spark)\/[0-9][\w.-]*$/, 'is not "<component>/<version>"'),
      z.record(z.string().regex(/^[\w.-]+(\/[\w.-]+)*\.jar$/, 'is not a jar path inside the bundle'), sha256),
    ),
    pypi: z.record(
      z.string().regex(/^[\w.-]+ [0-9][\w.]* (sdist|bdist_wheel)$/, 'is not "<project> <version> sdist|bdist_wheel"'),
      z.object({ file: z.string().regex(/^[\w.-]+\.(tar\.gz|whl)$/, 'is not an sdist or wheel file name'), sha256 }).strict(),
    ),
    apache: z.record(z.string().regex(/^[\w.-]+(\/[\w.-]+)*\.(tgz|tar\.gz)$/, 'is not a release path'), sha512),
    apacheKeys: z.object({ kafka: z.array(fingerprint), hadoop: z.array(fingerprint), spark: z.array(fingerprint) }).strict(),
  })
  .strict();

export type ArtifactLock = z.infer<typeof lockSchema>;

/** Validates a parsed lock document; every problem is named by its path in the file. */
export function parseLock(value: unknown, file = LOCK_FILE_IN_REPO): ArtifactLock {
  const parsed = lockSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : JSON.stringify(p))).join('.') || '(document)'}: ${i.message}`);
  throw new MillraceError(`the artifact lock ${file} is not valid:\n  ${problems.join('\n  ')}`, {
    hint: `restore it from git, or regenerate it with \`${LOCK_COMMAND}\``,
  });
}

export function readLockFile(file: string): ArtifactLock {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MillraceError(`cannot read the artifact lock ${file}: ${(error as Error).message}`, { hint: `restore it from git, or regenerate it with \`${LOCK_COMMAND}\`` });
  }
  try {
    return parseLock(JSON.parse(text), file);
  } catch (error) {
    if (error instanceof MillraceError) throw error;
    throw new MillraceError(`the artifact lock ${file} is not JSON: ${(error as Error).message}`, { hint: `restore it from git, or regenerate it with \`${LOCK_COMMAND}\`` });
  }
}

let shipped: ArtifactLock | undefined;
/** The lock shipped with millrace (validated once). */
export function defaultLock(): ArtifactLock {
  shipped ??= parseLock(lockJson);
  return shipped;
}

export const mavenBundleKey = (component: ComponentName, version: string): string => `${component}/${version}`;
export const pypiKey = (project: string, version: string, packagetype: 'sdist' | 'bdist_wheel'): string => `${project} ${version} ${packagetype}`;

function missing(what: string, digest: string, only: string): MillraceError {
  return new MillraceError(`the artifact lock has no ${digest} for ${what}, so millrace will not install it`, {
    hint: `pin it: run \`${LOCK_COMMAND} -- --only ${only}\` on a machine that reaches the real source (it downloads the files and records their digests), review the change to ${LOCK_FILE_IN_REPO} and commit it`,
  });
}

/** The jars a Maven bundle must hold, path in the bundle → SHA-256; refused when the lock has none. */
export function lockedMaven(lock: ArtifactLock, component: ComponentName, version: string): Record<string, string> {
  const entry = lock.maven[mavenBundleKey(component, version)];
  const gap = MAVEN_CENTRAL_GAPS[mavenBundleKey(component, version)];
  if (!entry && gap)
    throw new MillraceError(`${component} ${version} cannot be built from a Maven repository: ${gap}`, {
      hint: `choose another version (versions.${component}: ${KNOWN_VERSIONS[component].filter((v) => !MAVEN_CENTRAL_GAPS[mavenBundleKey(component, v)]).join(', ')}), or artifacts.source: apache`,
    });
  if (!entry || Object.keys(entry).length === 0) throw missing(`the Maven jars of ${component} ${version}`, 'SHA-256', 'maven');
  return entry;
}

export function lockedPypi(lock: ArtifactLock, project: string, version: string, packagetype: 'sdist' | 'bdist_wheel'): { file: string; sha256: string } {
  const entry = lock.pypi[pypiKey(project, version, packagetype)];
  if (!entry) throw missing(`${project} ${version} (${packagetype}) from PyPI`, 'SHA-256', 'pypi');
  return entry;
}

export function lockedApache(lock: ArtifactLock, releasePath: string, component: ComponentName, version: string): string {
  const entry = lock.apache[releasePath];
  if (!entry) throw missing(`${releasePath} (${component} ${version} from the Apache archive)`, 'SHA-512', 'apache');
  return entry;
}

export function lockedKeys(lock: ArtifactLock, component: ComponentName): string[] {
  const keys = lock.apacheKeys[component];
  if (keys.length === 0)
    throw new MillraceError(`the artifact lock pins no OpenPGP key for ${component} releases, so no signature can be trusted`, {
      hint: `add the fingerprints of ${component}'s release managers (from the project's KEYS file, checked against a second source such as the release vote or the key servers) to apacheKeys.${component} in ${LOCK_FILE_IN_REPO}; \`${LOCK_COMMAND} -- --only apache\` prints who signed each release`,
    });
  return keys;
}

/** Refuses a file whose digest is not the locked one, naming it and both digests' prefixes. */
export function checkLocked(what: string, algorithm: 'SHA-256' | 'SHA-512', expected: string, actual: string, hint?: string): void {
  if (expected === actual) return;
  throw new MillraceError(`${what} does not match the artifact lock: ${algorithm} expected ${expected.slice(0, 16)}…, got ${actual.slice(0, 16)}…`, {
    hint: hint ?? `it was not installed; if the upstream file really changed, find out why before re-pinning it with \`${LOCK_COMMAND}\``,
  });
}

/**
 * Checks the jars a Maven resolution produced (path → SHA-256) against the bundle's lock entry:
 * the same set (a subset with allowMissing: Spark's bundle drops the connector jars Spark ships),
 * each with its pinned digest.
 */
export function checkMavenJars(what: string, expected: Record<string, string>, actual: Record<string, string>, opts: { allowMissing?: boolean } = {}): void {
  const extra = Object.keys(actual).filter((p) => !(p in expected));
  if (extra.length)
    throw new MillraceError(`${what}: the resolution brought ${extra.length} jar(s) the artifact lock does not list: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ' …' : ''}`, {
      hint: `the repository resolved a different dependency set than the one pinned; if that is expected (a new version), re-pin with \`${LOCK_COMMAND} -- --only maven\` and review the change`,
    });
  const absent = opts.allowMissing ? [] : Object.keys(expected).filter((p) => !(p in actual));
  if (absent.length)
    throw new MillraceError(`${what}: the artifact lock lists ${absent.length} jar(s) the resolution did not produce: ${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ' …' : ''}`, {
      hint: `the repository resolved a different dependency set than the one pinned; re-pin with \`${LOCK_COMMAND} -- --only maven\` if that is expected`,
    });
  for (const [p, digest] of Object.entries(actual)) checkLocked(`${p} (${what})`, 'SHA-256', expected[p]!, digest);
}

export async function digestFile(file: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
  const hash = crypto.createHash(algorithm);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
