/**
 * The Maven source: the generated pom pins its plugin; a cached bundle is used only while its jars
 * (read from the tar itself) and its recorded inputs match the artifact lock, and is otherwise
 * rebuilt; plain-http sources warn when `up` installs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { parseConfigText } from '../../../lib/config';
import { BUNDLE_REVISION } from '../../../provisioning/artifacts/catalog';
import { createArtifactInstaller, ensureBundle, insecureSources } from '../../../provisioning/artifacts';
import { type Bundle, bundleLockMismatch, jarDigestsInTar, sha512File, writeManifest } from '../../../provisioning/artifacts/bundle';
import type { ArtifactLock } from '../../../provisioning/artifacts/lock';
import { MAVEN_DEPENDENCY_PLUGIN, pom } from '../../../provisioning/artifacts/maven';
import { digestFile } from '../../../provisioning/artifacts/lock';
import { fakeHost } from './fake-host';

describe('generated pom', () => {
  it('pins the maven-dependency-plugin version, so the resolution does not depend on the local Maven', () => {
    const xml = pom({ dir: 'libs', coordinates: ['org.apache.kafka:kafka-clients:4.1.1'] });
    expect(MAVEN_DEPENDENCY_PLUGIN.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(xml).toContain(`<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>${MAVEN_DEPENDENCY_PLUGIN.version}</version></plugin>`);
    expect(xml).toContain('<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>4.1.1</version></dependency>');
  });
});

describe('cached bundles against the lock', () => {
  let dir: string;
  let cache: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-maven-'));
    cache = path.join(dir, 'cache');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Packs files (path → content) as a cached bundle with its manifest, as ensureBundle does. */
  async function cachedBundle(component: 'kafka' | 'spark', version: string, revision: number, content: Record<string, string>, inputs?: Record<string, string>): Promise<Bundle> {
    const root = fs.mkdtempSync(path.join(dir, 'root-'));
    for (const [p, text] of Object.entries(content)) {
      fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), text);
    }
    const out = path.join(cache, 'artifacts', 'maven');
    fs.mkdirSync(out, { recursive: true });
    const tarball = path.join(out, `${component}-${version}-r${revision}.tar`);
    execFileSync('tar', ['-cf', tarball, '-C', root, '.']);
    const manifest = { component, version, source: 'maven', file: path.basename(tarball), sha512: await sha512File(tarball), bytes: fs.statSync(tarball).size, verified: [], inputs, builtAt: 'now' };
    writeManifest(tarball, manifest);
    return { ...manifest, path: tarball };
  }

  const jarDigest = async (text: string): Promise<string> => {
    const f = path.join(dir, 'digest-me');
    fs.writeFileSync(f, text);
    return digestFile(f, 'sha256');
  };

  const lockWith = (maven: ArtifactLock['maven'], pypi: ArtifactLock['pypi'] = {}): ArtifactLock => ({ lockVersion: 1, maven, pypi, apache: {}, apacheKeys: { kafka: [], hadoop: [], spark: [] } });

  it('reads the SHA-256 of every jar in the bundle tar, only in the Maven directories', async () => {
    const b = await cachedBundle('spark', '4.2.0', 9, { 'jars/spark-core.jar': 'core', 'connectors/kafka/kafka-clients-3.9.2.jar': 'clients', 'RELEASE': 'x' });
    expect(await jarDigestsInTar(b.path, ['connectors/kafka'])).toEqual({ 'connectors/kafka/kafka-clients-3.9.2.jar': await jarDigest('clients') });
  });

  it('uses a cached bundle whose jars match the lock, without resolving anything (control)', async () => {
    await cachedBundle('kafka', '4.1.1', BUNDLE_REVISION.kafka, { 'libs/a-1.jar': 'a', 'libs/b-2.jar': 'b' });
    const lock = lockWith({ 'kafka/4.1.1': { 'libs/a-1.jar': await jarDigest('a'), 'libs/b-2.jar': await jarDigest('b') } });
    // An unreachable repository: any resolution would fail.
    const config = parseConfigText(`name: demo\nartifacts: { source: maven, cacheDir: "${cache}", mavenRepository: "https://127.0.0.1:1/none" }\n`);
    const reports: string[] = [];
    const bundle = await ensureBundle(config, 'kafka', (m) => reports.push(m), lock);
    expect(bundle.file).toBe(`kafka-4.1.1-r${BUNDLE_REVISION.kafka}.tar`);
    expect(reports).toEqual([]);
  });

  it('finds a cached jar that differs from the lock, and a jar the lock does not list', async () => {
    const b = await cachedBundle('kafka', '4.1.1', BUNDLE_REVISION.kafka, { 'libs/a-1.jar': 'a', 'libs/b-2.jar': 'tampered' });
    const pinned = { 'libs/a-1.jar': await jarDigest('a'), 'libs/b-2.jar': await jarDigest('b') };
    expect(await bundleLockMismatch(b, lockWith({ 'kafka/4.1.1': pinned }), {})).toBe(
      `libs/b-2.jar (the cached bundle kafka-4.1.1-r${BUNDLE_REVISION.kafka}.tar) does not match the artifact lock: SHA-256 expected ${pinned['libs/b-2.jar'].slice(0, 16)}…, got ${(await jarDigest('tampered')).slice(0, 16)}…`,
    );
    const extra = await cachedBundle('kafka', '4.1.1', BUNDLE_REVISION.kafka, { 'libs/a-1.jar': 'a', 'libs/b-2.jar': 'b', 'libs/evil-1.jar': 'evil' });
    expect(await bundleLockMismatch(extra, lockWith({ 'kafka/4.1.1': pinned }), {})).toMatch(/the resolution brought 1 jar\(s\) the artifact lock does not list: libs\/evil-1\.jar/);
    const fine = await cachedBundle('kafka', '4.1.1', BUNDLE_REVISION.kafka, { 'libs/a-1.jar': 'a', 'libs/b-2.jar': 'b' });
    expect(await bundleLockMismatch(fine, lockWith({ 'kafka/4.1.1': pinned }), {})).toBeUndefined();
  });

  it('rebuilds a cached bundle built before the lock, uses one whose inputs match, and refuses a version the lock cannot vouch for', async () => {
    const sdist = { file: 'pyspark-4.2.0.tar.gz', sha256: 'e'.repeat(64) };
    const py4j = { file: 'py4j-0.10.9.9-py2.py3-none-any.whl', sha256: 'f'.repeat(64) };
    const lock = lockWith({ 'spark/4.2.0': { 'connectors/kafka/c-1.jar': await jarDigest('c') } }, { 'pyspark 4.2.0 sdist': sdist, 'py4j 0.10.9.9 bdist_wheel': py4j });
    // An unreachable index and repository: a rebuild fails at its first download.
    const config = parseConfigText(`name: demo\nartifacts: { source: maven, cacheDir: "${cache}", mavenRepository: "https://127.0.0.1:1/none", pypiIndex: "https://127.0.0.1:1" }\n`);
    const reports: string[] = [];
    await cachedBundle('spark', '4.2.0', BUNDLE_REVISION.spark, { 'connectors/kafka/c-1.jar': 'c', 'jars/spark-core.jar': 'core' });
    await expect(ensureBundle(config, 'spark', (m) => reports.push(m), lock)).rejects.toThrow(/^cannot fetch https:\/\/127\.0\.0\.1:1\/simple\/pyspark\//);
    expect(reports).toEqual([`rebuild spark 4.2.0: the cached bundle spark-4.2.0-r${BUNDLE_REVISION.spark}.tar does not record pypi:pyspark 4.2.0 sdist (built before the artifact lock)`]);

    // Control: the same bundle with its inputs recorded as the lock pins them is used as it is.
    const inputs = { 'pypi:pyspark 4.2.0 sdist': sdist.sha256, 'pypi:py4j 0.10.9.9 bdist_wheel': py4j.sha256 };
    await cachedBundle('spark', '4.2.0', BUNDLE_REVISION.spark, { 'connectors/kafka/c-1.jar': 'c', 'jars/spark-core.jar': 'core' }, inputs);
    reports.length = 0;
    await expect(ensureBundle(config, 'spark', (m) => reports.push(m), lock)).resolves.toMatchObject({ file: `spark-4.2.0-r${BUNDLE_REVISION.spark}.tar` });
    expect(reports).toEqual([]);

    // Rebuilt when the lock now pins another sdist than the one it was built from.
    const repinned = { ...lock, pypi: { ...lock.pypi, 'pyspark 4.2.0 sdist': { ...sdist, sha256: 'd'.repeat(64) } } };
    await expect(ensureBundle(config, 'spark', (m) => reports.push(m), repinned)).rejects.toThrow(/^cannot fetch/);
    expect(reports).toEqual([`rebuild spark 4.2.0: the cached bundle spark-4.2.0-r${BUNDLE_REVISION.spark}.tar was built from pypi:pyspark 4.2.0 sdist with digest eeeeeeeeeeeeeeee…, the artifact lock pins dddddddddddddddd…`]);

    // Refused outright when the lock has no entry for something the bundle is made of.
    const { 'py4j 0.10.9.9 bdist_wheel': _dropped, ...withoutPy4j } = lock.pypi;
    await expect(ensureBundle(config, 'spark', () => undefined, { ...lock, pypi: withoutPy4j })).rejects.toThrow(
      'the artifact lock has no SHA-256 for py4j 0.10.9.9 (bdist_wheel) from PyPI, so millrace will not install it',
    );
  });
});

describe('plain-http sources', () => {
  const logger = (): Logger & { warnings: string[] } => {
    const warnings: string[] = [];
    return { warnings, warn: (m: string) => warnings.push(m), debug: () => undefined, info: () => undefined } as unknown as Logger & { warnings: string[] };
  };

  it('warns once when up installs from an acknowledged http mirror (control: https does not warn)', async () => {
    // kafka 4.0.1 cannot come from Maven Central: the install stops there, before any download.
    const http = parseConfigText('name: demo\nversions: { kafka: 4.0.1 }\nartifacts: { source: maven, mavenRepository: "http://nexus.internal/maven2", allowInsecureHttp: true }\n');
    expect(insecureSources(http)).toEqual(['artifacts.mavenRepository http://nexus.internal/maven2']);
    const log = logger();
    const installer = createArtifactInstaller(http, log);
    await expect(installer.install(fakeHost('kafka-1'), 'kafka', () => undefined)).rejects.toThrow('kafka 4.0.1 cannot be built from a Maven repository');
    await expect(installer.install(fakeHost('kafka-2'), 'kafka', () => undefined)).rejects.toThrow();
    expect(log.warnings).toEqual([
      'artifacts.mavenRepository http://nexus.internal/maven2 is plain http (acknowledged by artifacts.allowInsecureHttp): the artifact lock and signatures still decide what is installed, but the downloads can be read on the way',
    ]);

    const https = parseConfigText('name: demo\nversions: { kafka: 4.0.1 }\nartifacts: { source: maven }\n');
    const quiet = logger();
    await expect(createArtifactInstaller(https, quiet).install(fakeHost('kafka-1'), 'kafka', () => undefined)).rejects.toThrow();
    expect(quiet.warnings).toEqual([]);
  });

  it('config validation refuses an http source unless acknowledged (exit 2, names the key)', () => {
    let error: { exitCode?: number; message?: string } = {};
    try {
      parseConfigText('name: demo\nartifacts: { pypiIndex: "http://pypi.internal" }\n');
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/artifacts\.pypiIndex: "http:\/\/pypi\.internal" is plain http/);
    expect(parseConfigText('name: demo\nartifacts: { pypiIndex: "http://pypi.internal", allowInsecureHttp: true }\n').artifacts.pypiIndex).toBe('http://pypi.internal');
  });
});
