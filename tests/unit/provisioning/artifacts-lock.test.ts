/**
 * The artifact lock: its schema, its completeness against lib/versions.ts, and the refusals it
 * drives (missing entry, digest mismatch, a different Maven dependency set), each with its control.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KNOWN_VERSIONS, SCALA_BINARY } from '../../../lib/versions';
import { hadoopMaven, KMS_MAVEN_VERSION, kafkaMaven, MAVEN_CENTRAL_GAPS, sparkKafkaConnectorMaven } from '../../../provisioning/artifacts/catalog';
import { py4jFor } from '../../../provisioning/artifacts';
import { ArtifactLock, checkLocked, checkMavenJars, defaultLock, LOCK_FILE_IN_REPO, lockedKeys, lockedMaven, lockedPypi, parseLock, readLockFile } from '../../../provisioning/artifacts/lock';
import { renderLock } from '../../../scripts/lock-artifacts';
import { mavenJarDirs } from '../../../provisioning/artifacts/bundle';

const repoLock = path.join(__dirname, '..', '..', '..', LOCK_FILE_IN_REPO);
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function refusal(fn: () => unknown): { message: string; hint?: string } {
  try {
    fn();
  } catch (error) {
    return error as { message: string; hint?: string };
  }
  throw new Error('expected a refusal');
}

describe('the lock file in the repo', () => {
  it('passes the schema and is written in the canonical (sorted) form the lock script writes', () => {
    const lock = readLockFile(repoLock);
    expect(renderLock(lock)).toBe(fs.readFileSync(repoLock, 'utf8'));
    expect(defaultLock()).toEqual(lock);
  });

  it('pins every Maven bundle of every known version, with the jars millrace asks for by name', () => {
    const lock = defaultLock();
    const direct = {
      kafka: (v: string) => kafkaMaven(v),
      hadoop: (v: string) => hadoopMaven(v),
      spark: (v: string) => sparkKafkaConnectorMaven(v),
    };
    let checked = 0;
    for (const component of ['kafka', 'hadoop', 'spark'] as const)
      for (const version of KNOWN_VERSIONS[component]) {
        const key = `${component}/${version}`;
        if (MAVEN_CENTRAL_GAPS[key]) {
          // A gap has no entry, and is refused with its reason rather than as "unpinned".
          expect(lock.maven[key]).toBeUndefined();
          expect(() => lockedMaven(lock, component, version)).toThrow(`${component} ${version} cannot be built from a Maven repository: ${MAVEN_CENTRAL_GAPS[key]}`);
          continue;
        }
        const jars = lockedMaven(lock, component, version);
        for (const spec of direct[component](version))
          for (const coordinate of spec.coordinates) {
            const [, artifact, v] = coordinate.split(':');
            expect(Object.keys(jars)).toContain(`${spec.dir}/${artifact}-${v}.jar`);
            checked += 1;
          }
      }
    // kafka (3 jars × 3 versions), hadoop (3 + KMS), spark connectors (2 × 3 versions), and the
    // JMX exporter agent in each of the 7 bundles.
    expect(checked).toBe(9 + 4 + 6 + 7);
    expect(lock.maven['hadoop/3.5.0']).toHaveProperty([`kms/lib/hadoop-kms-${KMS_MAVEN_VERSION['3.5.0']}.jar`]);
    expect(lock.maven['kafka/4.1.1']).toHaveProperty([`libs/kafka_${SCALA_BINARY}-4.1.1.jar`]);
  });

  it("checks a cached bundle's jars in every directory its Maven specs resolve into (else every up rebuilds and reinstalls it)", () => {
    expect(mavenJarDirs('kafka', '4.1.1')).toEqual(['libs', 'agents']);
    expect(mavenJarDirs('hadoop', '3.5.0')).toEqual(['lib', 'kms/lib', 'agents']);
    expect(mavenJarDirs('spark', '4.1.1')).toEqual(['connectors/kafka', 'agents']);
  });

  it('pins the pyspark sdist and the py4j wheel of every known Spark version', () => {
    const lock = defaultLock();
    for (const version of KNOWN_VERSIONS.spark) {
      expect(lockedPypi(lock, 'pyspark', version, 'sdist').file).toBe(`pyspark-${version}.tar.gz`);
      expect(lockedPypi(lock, 'py4j', py4jFor(version), 'bdist_wheel').file).toMatch(new RegExp(`^py4j-${py4jFor(version).replace(/\./g, '\\.')}-.*\\.whl$`));
    }
  });

  it('lists the gaps of Maven Central only for known versions', () => {
    for (const key of Object.keys(MAVEN_CENTRAL_GAPS)) {
      const [component, version] = key.split('/') as ['kafka' | 'hadoop' | 'spark', string];
      expect(KNOWN_VERSIONS[component] as readonly string[]).toContain(version);
    }
  });
});

describe('lock schema', () => {
  const valid = (): ArtifactLock => ({
    lockVersion: 1,
    maven: { 'kafka/4.1.1': { 'libs/kafka-clients-4.1.1.jar': A } },
    pypi: { 'pyspark 4.2.0 sdist': { file: 'pyspark-4.2.0.tar.gz', sha256: A } },
    apache: { 'kafka/4.1.1/kafka_2.13-4.1.1.tgz': 'c'.repeat(128) },
    apacheKeys: { kafka: ['0123456789ABCDEF0123456789ABCDEF01234567'], hadoop: [], spark: [] },
  });

  it('accepts a well-formed lock (control)', () => {
    expect(parseLock(valid())).toEqual(valid());
  });

  it.each([
    ['a short SHA-256', (l: ArtifactLock) => (l.maven['kafka/4.1.1']!['libs/kafka-clients-4.1.1.jar'] = 'abc'), /"maven"\."kafka\/4\.1\.1"\."libs\/kafka-clients-4\.1\.1\.jar": is not a SHA-256/],
    ['an upper-case SHA-256', (l: ArtifactLock) => (l.pypi['pyspark 4.2.0 sdist']!.sha256 = A.toUpperCase()), /"pypi"\."pyspark 4\.2\.0 sdist"\."sha256": is not a SHA-256/],
    ['a SHA-256 where a SHA-512 belongs', (l: ArtifactLock) => (l.apache['kafka/4.1.1/kafka_2.13-4.1.1.tgz'] = A), /"apache"\."kafka\/4\.1\.1\/kafka_2\.13-4\.1\.1\.tgz": is not a SHA-512/],
    ['a fingerprint with spaces', (l: ArtifactLock) => (l.apacheKeys.kafka = ['0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567']), /"apacheKeys"\."kafka"\.\[0\]: is not an OpenPGP fingerprint/],
    ['a bundle key that is not component/version', (l: ArtifactLock) => (l.maven['zookeeper/3.9'] = {}), /"maven"\."zookeeper\/3\.9": is not "<component>\/<version>"/],
    ['an unknown section', (l: ArtifactLock) => Object.assign(l, { npm: {} }), /Unrecognized key\(s\) in object: 'npm'/],
    ['another lock version', (l: ArtifactLock) => Object.assign(l, { lockVersion: 2 }), /"lockVersion": Invalid literal value, expected 1/],
  ])('refuses %s, naming where', (_name, mutate, expected) => {
    const l = valid();
    mutate(l);
    const err = refusal(() => parseLock(l, 'x.lock.json'));
    expect(err.message).toMatch(/^the artifact lock x\.lock\.json is not valid:/);
    expect(err.message).toMatch(expected);
    expect(err.hint).toMatch(/npm run lock:artifacts/);
  });
});

describe('lock refusals', () => {
  const lock: ArtifactLock = {
    lockVersion: 1,
    maven: { 'kafka/4.1.1': { 'libs/a-1.jar': A, 'libs/b-2.jar': B } },
    pypi: {},
    apache: {},
    apacheKeys: { kafka: [], hadoop: [], spark: [] },
  };

  it('refuses a version the lock does not pin, telling how to pin it (control: a pinned one is returned)', () => {
    expect(lockedMaven(lock, 'kafka', '4.1.1')).toEqual({ 'libs/a-1.jar': A, 'libs/b-2.jar': B });
    const err = refusal(() => lockedMaven(lock, 'kafka', '4.1.0'));
    expect(err.message).toBe('the artifact lock has no SHA-256 for the Maven jars of kafka 4.1.0, so millrace will not install it');
    expect(err.hint).toBe(
      'pin it: run `npm run lock:artifacts -- --only maven` on a machine that reaches the real source (it downloads the files and records their digests), review the change to provisioning/artifacts/artifacts.lock.json and commit it',
    );
    expect(refusal(() => lockedPypi(lock, 'pyspark', '4.2.0', 'sdist')).message).toBe('the artifact lock has no SHA-256 for pyspark 4.2.0 (sdist) from PyPI, so millrace will not install it');
    expect(refusal(() => lockedKeys(lock, 'spark')).message).toBe('the artifact lock pins no OpenPGP key for spark releases, so no signature can be trusted');
  });

  it('refuses a digest mismatch naming the file and both digest prefixes (control: a match passes)', () => {
    expect(() => checkLocked('x.jar', 'SHA-256', A, A)).not.toThrow();
    expect(() => checkLocked('x.jar', 'SHA-256', A, B)).toThrow('x.jar does not match the artifact lock: SHA-256 expected aaaaaaaaaaaaaaaa…, got bbbbbbbbbbbbbbbb…');
  });

  it('checks a Maven resolution as a set: same jars, each with its digest', () => {
    const expected = lockedMaven(lock, 'kafka', '4.1.1');
    expect(() => checkMavenJars('kafka 4.1.1', expected, { 'libs/a-1.jar': A, 'libs/b-2.jar': B })).not.toThrow();
    expect(() => checkMavenJars('kafka 4.1.1', expected, { 'libs/a-1.jar': A, 'libs/b-2.jar': A })).toThrow(
      'libs/b-2.jar (kafka 4.1.1) does not match the artifact lock: SHA-256 expected bbbbbbbbbbbbbbbb…, got aaaaaaaaaaaaaaaa…',
    );
    expect(() => checkMavenJars('kafka 4.1.1', expected, { 'libs/a-1.jar': A, 'libs/b-2.jar': B, 'libs/evil-1.jar': A })).toThrow(
      'kafka 4.1.1: the resolution brought 1 jar(s) the artifact lock does not list: libs/evil-1.jar',
    );
    expect(() => checkMavenJars('kafka 4.1.1', expected, { 'libs/a-1.jar': A })).toThrow('kafka 4.1.1: the artifact lock lists 1 jar(s) the resolution did not produce: libs/b-2.jar');
    expect(() => checkMavenJars('kafka 4.1.1', expected, { 'libs/a-1.jar': A }, { allowMissing: true })).not.toThrow();
  });
});
