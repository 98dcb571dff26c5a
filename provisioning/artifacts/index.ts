/**
 * Artifacts: each component as a verified bundle in the operator's cache, installed onto hosts.
 * Sources: the Apache release archive (SHA-512 files), or a Maven repository plus a PyPI index.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../../lib/config';
import { cacheDir } from '../../lib/paths';
import { run } from '../../lib/process';
import type { ArtifactInstaller } from '../provision';
import type { ComponentName } from '../service';
import { apacheBundle, apacheReleasePath } from './apache';
import { Bundle, bundleDir, bundleLockMismatch, inputKey, sha512File, stampedBundle, verifyBundle, verifiedStampPath, writeManifest, writeVerifiedStamp } from './bundle';
import { BUNDLE_REVISION, HADOOP_WEBAPPS, hadoopMaven, kafkaMaven, MavenBundleSpec, PY4J_FOR_SPARK, sparkKafkaConnectorMaven } from './catalog';
import { type ArtifactLock, checkMavenJars, defaultLock, lockedApache, lockedMaven, lockedPypi, pypiKey } from './lock';
import { resolveMaven } from './maven';
import { fetchPypiFile } from './pypi';
import { installBundle } from './remote-install';

export function versionOf(config: ClusterConfig, component: ComponentName): string {
  return config.versions[component];
}

/** The py4j version the Spark bundle of a pyspark version takes. */
export const py4jFor = (sparkVersion: string): string => PY4J_FOR_SPARK[sparkVersion] ?? '0.10.9.9';

/** The locked downloads (other than Maven jars) a bundle is built from. */
function lockNeeds(source: ClusterConfig['artifacts']['source'], component: ComponentName, version: string): Parameters<typeof bundleLockMismatch>[2] {
  if (source === 'apache') return { apache: apacheReleasePath(component, version) };
  if (component === 'spark')
    return {
      pypi: [
        ['pyspark', version, 'sdist'],
        ['py4j', py4jFor(version), 'bdist_wheel'],
      ],
    };
  return {};
}

/**
 * Returns the verified bundle for a component, building it into the cache on first use. A cached
 * bundle is used only if it still matches the artifact lock; otherwise it is rebuilt.
 */
export async function ensureBundle(config: ClusterConfig, component: ComponentName, report: (m: string) => void, lock: ArtifactLock = defaultLock()): Promise<Bundle> {
  const source = config.artifacts.source;
  const version = versionOf(config, component);
  const dir = bundleDir(config.artifacts.cacheDir ?? cacheDir(), source);
  // The revision names the bundle's layout, so a change to how millrace assembles it is rebuilt.
  const tarball = path.join(dir, `${component}-${version}-r${BUNDLE_REVISION[component]}.tar`);
  const needs = lockNeeds(source, component, version);
  const pins = lockPins(lock, source, component, version, needs);
  const stamped = stampedBundle(tarball, pins);
  if (stamped) return stamped;
  const cached = await verifyBundle(tarball);
  if (cached) {
    const why = await bundleLockMismatch(cached, lock, needs);
    if (!why) {
      writeVerifiedStamp(cached, pins);
      return cached;
    }
    report(`rebuild ${component} ${version}: ${why}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(dir, `.${component}-${version}-`));
  try {
    const verified = await BUILD_FROM[source](config, component, version, path.join(staging, 'root'), path.join(staging, 'work'), report, lock);
    // What the build checked against the lock, recorded so that the cached bundle can be re-checked.
    const inputs: Record<string, string> = {};
    if (needs.apache) inputs[inputKey.apache(needs.apache)] = lockedApache(lock, needs.apache, component, version);
    for (const [project, v, type] of needs.pypi ?? []) inputs[inputKey.pypi(pypiKey(project, v, type))] = lockedPypi(lock, project, v, type).sha256;
    report(`pack ${component} ${version}`);
    await run('tar', ['-cf', tarball, '-C', path.join(staging, 'root'), '.'], { hint: 'check free disk space in the millrace cache' });
    const manifest = {
      component,
      version,
      source,
      file: path.basename(tarball),
      sha512: await sha512File(tarball),
      bytes: fs.statSync(tarball).size,
      verified,
      inputs,
      builtAt: new Date().toISOString(),
    };
    writeManifest(tarball, manifest);
    fs.rmSync(verifiedStampPath(tarball), { force: true });
    // Bundles of the same version in an older layout are dead weight now.
    for (const f of fs.readdirSync(dir))
      if (new RegExp(`^${component}-${version.replace(/\./g, '\\.')}(-r\\d+)?\\.tar`).test(f) && !f.startsWith(path.basename(tarball))) fs.rmSync(path.join(dir, f), { force: true });
    return { ...manifest, path: tarball };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** What the lock pins for a bundle (its Maven jars, Apache release, PyPI files), as one digest: a stamp holds only while it is the same. */
function lockPins(lock: ArtifactLock, source: ClusterConfig['artifacts']['source'], component: ComponentName, version: string, needs: ReturnType<typeof lockNeeds>): string {
  const pinned = {
    maven: source === 'maven' ? lockedMaven(lock, component, version) : undefined,
    apache: needs.apache ? lockedApache(lock, needs.apache, component, version) : undefined,
    pypi: (needs.pypi ?? []).map(([project, v, type]) => lockedPypi(lock, project, v, type).sha256),
  };
  return crypto.createHash('sha256').update(JSON.stringify(pinned)).digest('hex');
}

type Report = (m: string) => void;

/** Each artifact source's builder; a new source fails to compile until it has one. */
const BUILD_FROM = {
  apache: (config, component, version, root, work, report, lock) => apacheBundle(config.artifacts.apacheMirror, component, version, root, work, report, lock),
  maven: (config, component, version, root, work, report, lock) => {
    fs.mkdirSync(root, { recursive: true });
    return MAVEN_BUILDERS[component](config, version, root, work, report, lock);
  },
} satisfies Record<
  ClusterConfig['artifacts']['source'],
  (config: ClusterConfig, component: ComponentName, version: string, root: string, work: string, report: Report, lock: ArtifactLock) => Promise<string[]>
>;

/** How the Maven/PyPI source builds each component; a new component fails to compile until it has a builder. */
const MAVEN_BUILDERS = {
  kafka: buildKafka,
  hadoop: buildHadoop,
  spark: buildSpark,
} satisfies Record<ComponentName, (config: ClusterConfig, version: string, root: string, work: string, report: Report, lock: ArtifactLock) => Promise<string[]>>;

/**
 * Resolves a component's jars and checks every one against the artifact lock (the lock's entry is
 * looked up first, so an unpinned version is refused before anything is downloaded).
 */
async function resolveLocked(component: ComponentName, version: string, specs: MavenBundleSpec[], root: string, repo: string, work: string, lock: ArtifactLock): Promise<number> {
  const expected = lockedMaven(lock, component, version);
  const jars = await resolveMaven(specs, root, repo, work);
  checkMavenJars(`${component} ${version} from ${repo}`, expected, jars);
  return Object.keys(jars).length;
}

const lockedJars = (n: number, repo: string): string[] => [`${n} jars from ${repo}, each matching its SHA-256 in the artifact lock (and the repository's SHA-1)`];

async function buildKafka(config: ClusterConfig, version: string, root: string, work: string, report: Report, lock: ArtifactLock): Promise<string[]> {
  const repo = config.artifacts.mavenRepository;
  report(`resolve Kafka ${version} from ${repo}`);
  return lockedJars(await resolveLocked('kafka', version, kafkaMaven(version), root, repo, work, lock), repo);
}

async function buildHadoop(config: ClusterConfig, version: string, root: string, work: string, report: Report, lock: ArtifactLock): Promise<string[]> {
  const repo = config.artifacts.mavenRepository;
  report(`resolve Hadoop ${version} from ${repo}`);
  const n = await resolveLocked('hadoop', version, hadoopMaven(version), root, repo, work, lock);
  // Hadoop's HTTP servers look their web application up on the classpath; the jars on Maven
  // Central do not carry the HDFS ones, so an empty application stands in (REST and JMX work).
  for (const app of HADOOP_WEBAPPS) {
    fs.mkdirSync(path.join(root, 'webapps', app, 'WEB-INF'), { recursive: true });
    fs.writeFileSync(path.join(root, 'webapps', app, 'WEB-INF', 'web.xml'), '<?xml version="1.0" encoding="UTF-8"?>\n<web-app xmlns="http://java.sun.com/xml/ns/javaee" version="3.0"/>\n');
  }
  fs.mkdirSync(path.join(root, 'webapps', 'static'), { recursive: true });
  return lockedJars(n, repo);
}

/** Spark from the pyspark sdist: jars/, bin/, sbin/, python/ (with the zips executors use), RELEASE. */
async function buildSpark(config: ClusterConfig, version: string, root: string, work: string, report: Report, lock: ArtifactLock): Promise<string[]> {
  const index = config.artifacts.pypiIndex;
  const downloads = path.join(config.artifacts.cacheDir ?? cacheDir(), 'downloads');
  fs.mkdirSync(downloads, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const py4jVersion = py4jFor(version);
  // Every pin is looked up before the first download.
  lockedPypi(lock, 'py4j', py4jVersion, 'bdist_wheel');
  lockedMaven(lock, 'spark', version);
  const sdist = await fetchPypiFile(index, 'pyspark', version, 'sdist', downloads, report, lock);
  const py4j = await fetchPypiFile(index, 'py4j', py4jVersion, 'bdist_wheel', downloads, report, lock);
  report(`unpack pyspark ${version}`);
  await run('tar', ['-xzf', sdist.file, '-C', work], { hint: 'check free disk space' });
  const src = path.join(work, `pyspark-${version}`);
  fs.mkdirSync(path.join(root, 'python', 'lib'), { recursive: true });
  for (const d of ['jars', 'bin', 'sbin']) fs.renameSync(path.join(src, 'deps', d), path.join(root, d));
  fs.renameSync(path.join(src, 'pyspark'), path.join(root, 'python', 'pyspark'));
  await run('python3', ['-m', 'zipfile', '-e', py4j.file, path.join(root, 'python')], { hint: 'the maven/PyPI source needs python3 on this machine' });
  // Executors put exactly these two zips on their PYTHONPATH (PythonUtils.sparkPythonPath).
  const py = path.join(root, 'python');
  await run('python3', ['-m', 'zipfile', '-c', path.join(py, 'lib', 'pyspark.zip'), 'pyspark/'], { cwd: py, hint: 'needs python3' });
  await run('python3', ['-m', 'zipfile', '-c', path.join(py, 'lib', `py4j-${py4jVersion}-src.zip`), 'py4j/'], { cwd: py, hint: 'needs python3' });
  // Spark's launcher treats a home without RELEASE as a source checkout and looks for build dirs.
  fs.writeFileSync(path.join(root, 'RELEASE'), `Spark ${version}, assembled by millrace from the pyspark package on ${index}\n`);
  report(`resolve the Spark Kafka connector from ${config.artifacts.mavenRepository}`);
  await resolveLocked('spark', version, sparkKafkaConnectorMaven(version), root, config.artifacts.mavenRepository, path.join(work, 'maven'), lock);
  const n = dropJarsSparkShips(path.join(root, 'connectors', 'kafka'), path.join(root, 'jars'));
  return [
    `pyspark-${version}.tar.gz SHA-256 ${sdist.sha256} matches the artifact lock`,
    `py4j-${py4jVersion} SHA-256 ${py4j.sha256} matches the artifact lock`,
    `${n} connector jars, each matching the artifact lock`,
  ];
}

/**
 * The connector's dependencies that Spark already ships (Scala, the Hadoop client, snappy …) would
 * put a second, older copy on the application's classpath: keep only what Spark lacks.
 */
export function dropJarsSparkShips(connectorDir: string, sparkJars: string): number {
  const artifact = (jar: string): string => jar.replace(/-\d[\w.-]*\.jar$/, '');
  const shipped = new Set(fs.readdirSync(sparkJars).map(artifact));
  const kept = fs.readdirSync(connectorDir).filter((jar) => {
    if (!shipped.has(artifact(jar))) return true;
    fs.rmSync(path.join(connectorDir, jar));
    return false;
  });
  return kept.length;
}

/** The artifact sources that are plain http (accepted only with artifacts.allowInsecureHttp). */
export function insecureSources(config: ClusterConfig): string[] {
  const a = config.artifacts;
  const used = a.source === 'apache' ? (['apacheMirror'] as const) : (['mavenRepository', 'pypiIndex'] as const);
  return used.filter((k) => a[k].startsWith('http://')).map((k) => `artifacts.${k} ${a[k]}`);
}

/** Ensures each bundle once per run (shared across hosts), then installs it on each host. */
export function createArtifactInstaller(config: ClusterConfig, log: Logger): ArtifactInstaller {
  const bundles = new Map<ComponentName, Promise<Bundle>>();
  let warned = false;
  return {
    async install(host, component, report, beforeSwitch) {
      if (!warned) {
        warned = true;
        for (const source of insecureSources(config))
          log.warn(
            `${source} is plain http (acknowledged by artifacts.allowInsecureHttp): the artifact lock and signatures still decide what is installed, but the downloads can be read on the way`,
          );
      }
      let bundle = bundles.get(component);
      if (!bundle) {
        bundle = ensureBundle(config, component, report);
        bundles.set(component, bundle);
        bundle.then((b) => log.debug({ component, sha512: b.sha512.slice(0, 16) }, 'bundle ready')).catch(() => undefined);
      }
      return installBundle(host, await bundle, report, beforeSwitch);
    },
  };
}
