/**
 * Computes the artifact lock (provisioning/artifacts/artifacts.lock.json) by downloading every
 * artifact of every known version (lib/versions.ts) from the real sources and hashing it here:
 * `npm run lock:artifacts [-- --only maven,pypi,apache]`. Run it when a version is added, review
 * the diff, commit it. Entries of the sections not recomputed are kept.
 *
 * - maven: resolves each bundle exactly as millrace does (same pom, same pinned plugin) and
 *   records every jar's SHA-256.
 * - pypi: downloads the pyspark sdists and py4j wheels; the index's published SHA-256 must agree.
 * - apache: downloads each release tarball, records its SHA-512 (the mirror's .sha512 must agree)
 *   and checks its .asc against the fingerprints already pinned in apacheKeys; with none pinned
 *   for a project it prints who signed each release, for a person to check and pin.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describe } from '../lib/errors';
import { KNOWN_VERSIONS } from '../lib/versions';
import { apacheKeysUrl, apacheReleasePath, apacheUrl, parseSha512File } from '../provisioning/artifacts/apache';
import { MAVEN_CENTRAL_GAPS, MAVEN_SPECS } from '../provisioning/artifacts/catalog';
import { download, fetchText } from '../provisioning/artifacts/download';
import { py4jFor } from '../provisioning/artifacts';
import { ArtifactLock, digestFile, LOCK_FILE_IN_REPO, mavenBundleKey, parseLock, pypiKey, readLockFile } from '../provisioning/artifacts/lock';
import { resolveMaven } from '../provisioning/artifacts/maven';
import { findPypiFile } from '../provisioning/artifacts/pypi';
import { readKeysFile, verifyDetachedSignature } from '../provisioning/artifacts/signature';

const SECTIONS = ['maven', 'pypi', 'apache'] as const;
type Section = (typeof SECTIONS)[number];

const say = (m: string): void => void process.stderr.write(`${m}\n`);


async function lockMaven(lock: ArtifactLock, previous: ArtifactLock['maven'], repo: string, tmp: string, failures: string[]): Promise<void> {
  for (const component of ['kafka', 'hadoop', 'spark'] as const)
    for (const version of KNOWN_VERSIONS[component]) {
      const key = mavenBundleKey(component, version);
      const gap = MAVEN_CENTRAL_GAPS[key];
      if (gap) {
        say(`maven: ${component} ${version} skipped: ${gap}`);
        continue;
      }
      say(`maven: ${component} ${version} from ${repo}`);
      const dir = fs.mkdtempSync(path.join(tmp, `${component}-${version}-`));
      try {
        const jars = await resolveMaven(MAVEN_SPECS[component](version), path.join(dir, 'root'), repo, path.join(dir, 'work'));
        lock.maven[key] = jars;
        say(`  ${Object.keys(jars).length} jars`);
      } catch (error) {
        // One bundle that does not resolve keeps its previous entry; the others are still pinned.
        failures.push(`maven ${key}: ${describe(error)}`);
        if (previous[key]) lock.maven[key] = previous[key];
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
}

async function lockPypi(lock: ArtifactLock, index: string, tmp: string): Promise<void> {
  const wanted = new Map<string, [string, string, 'sdist' | 'bdist_wheel']>();
  for (const v of KNOWN_VERSIONS.spark) {
    wanted.set(pypiKey('pyspark', v, 'sdist'), ['pyspark', v, 'sdist']);
    wanted.set(pypiKey('py4j', py4jFor(v), 'bdist_wheel'), ['py4j', py4jFor(v), 'bdist_wheel']);
  }
  for (const [key, [project, version, type]] of wanted) {
    const entry = await findPypiFile(index, project, version, type);
    const file = path.join(tmp, entry.filename);
    say(`pypi: ${entry.filename} from ${entry.url}`);
    await download(entry.url, file);
    const sha256 = await digestFile(file, 'sha256');
    fs.rmSync(file, { force: true });
    if (entry.published && entry.published !== sha256) throw new Error(`${entry.filename}: the index publishes SHA-256 ${entry.published}, the download hashes to ${sha256}; not pinned`);
    lock.pypi[key] = { file: entry.filename, sha256 };
  }
}

async function lockApache(lock: ArtifactLock, mirror: string, tmp: string): Promise<void> {
  for (const component of ['kafka', 'hadoop', 'spark'] as const) {
    const keysUrl = apacheKeysUrl(mirror, component);
    const keysText = await fetchText(keysUrl);
    for (const version of KNOWN_VERSIONS[component]) {
      const url = apacheUrl(mirror, component, version);
      const file = path.join(tmp, path.basename(url));
      say(`apache: ${url}`);
      await download(url, file);
      const sha512 = await digestFile(file, 'sha512');
      const published = parseSha512File(await fetchText(`${url}.sha512`));
      if (published !== sha512) throw new Error(`${url}: the mirror's .sha512 says ${published.slice(0, 16)}…, the download hashes to ${sha512.slice(0, 16)}…; not pinned`);
      const signature = await fetchText(`${url}.asc`);
      if (lock.apacheKeys[component].length) {
        const signer = await verifyDetachedSignature({ file, what: path.basename(url), signature, keys: keysText, keysUrl, pinned: lock.apacheKeys[component] });
        say(`  signed by pinned key ${signer}`);
      } else {
        const openpgp = await import('openpgp');
        const ids = (await openpgp.readSignature({ armoredSignature: signature })).getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
        const signers = (await readKeysFile(keysText)).filter((k) => k.getKeyIDs().some((id) => ids.includes(id.toHex().toUpperCase())));
        say(`  NOT signature-checked: apacheKeys.${component} pins no key. Signed by ${signers.map((k) => `${k.getFingerprint().toUpperCase()} (${k.getUserIDs()[0] ?? '?'})`).join(', ') || `key ${ids.join(', ')} (not in KEYS)`}`);
        say(`  check that fingerprint against a second source before adding it to apacheKeys.${component}`);
      }
      lock.apache[apacheReleasePath(component, version)] = sha512;
      fs.rmSync(file, { force: true });
    }
  }
}

/** Sorted keys, so that the lock's diff shows only what changed. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sorted(v)]));
  return value;
}

export function renderLock(lock: ArtifactLock): string {
  const { lockVersion, maven, pypi, apache, apacheKeys } = lock;
  return `${JSON.stringify({ lockVersion, maven: sorted(maven), pypi: sorted(pypi), apache: sorted(apache), apacheKeys }, null, 2)}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: 'maven,pypi' },
      'maven-repository': { type: 'string', default: 'https://repo1.maven.org/maven2' },
      'pypi-index': { type: 'string', default: 'https://pypi.org' },
      'apache-mirror': { type: 'string', default: 'https://archive.apache.org/dist' },
      out: { type: 'string', default: path.resolve(__dirname, '..', '..', LOCK_FILE_IN_REPO) },
    },
  });
  const only = values.only.split(',').map((s) => s.trim()) as Section[];
  const unknown = only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}`);
  for (const [flag, url] of [['maven-repository', values['maven-repository']], ['pypi-index', values['pypi-index']], ['apache-mirror', values['apache-mirror']]] as const)
    if (!url.startsWith('https://')) throw new Error(`--${flag} ${url}: the lock is computed over https only`);
  const out = values.out;
  const lock: ArtifactLock = fs.existsSync(out) ? readLockFile(out) : { lockVersion: 1, maven: {}, pypi: {}, apache: {}, apacheKeys: { kafka: [], hadoop: [], spark: [] } };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-lock-'));
  const failures: string[] = [];
  try {
    // A section is replaced whole, so entries of versions no longer known drop out.
    if (only.includes('maven')) {
      const previous = lock.maven;
      lock.maven = {};
      await lockMaven(lock, previous, values['maven-repository'], tmp, failures);
    }
    if (only.includes('pypi')) {
      lock.pypi = {};
      await lockPypi(lock, values['pypi-index'], tmp);
    }
    if (only.includes('apache')) {
      lock.apache = {};
      await lockApache(lock, values['apache-mirror'], tmp);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  parseLock(lock, out);
  fs.writeFileSync(out, renderLock(lock));
  say(`wrote ${out}: review the diff and commit it`);
  if (failures.length) {
    say(`not (re)pinned:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

if (require.main === module)
  main().catch((error: unknown) => {
    say(`lock-artifacts: ${describe(error)}`);
    process.exitCode = 1;
  });
