/**
 * Artifacts: each component as a verified bundle in the operator's cache, installed onto hosts.
 * Sources: the Apache release archive (SHA-512 files), or a Maven repository plus a PyPI index.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../../lib/config';
import { cacheDir } from '../../lib/paths';
import { run } from '../../lib/process';
import type { ArtifactInstaller } from '../provision';
import type { ComponentName } from '../service';
import { apacheBundle } from './apache';
import { Bundle, bundleDir, sha512File, verifyBundle, writeManifest } from './bundle';
import { BUNDLE_REVISION, HADOOP_WEBAPPS, hadoopMaven, kafkaMaven, PY4J_FOR_SPARK, sparkKafkaConnectorMaven } from './catalog';
import { resolveMaven } from './maven';
import { fetchPypiFile } from './pypi';
import { installBundle } from './remote-install';

export function versionOf(config: ClusterConfig, component: ComponentName): string {
  return config.versions[component];
}

/** Returns the verified bundle for a component, building it into the cache on first use. */
export async function ensureBundle(config: ClusterConfig, component: ComponentName, report: (m: string) => void): Promise<Bundle> {
  const source = config.artifacts.source;
  const version = versionOf(config, component);
  const dir = bundleDir(config.artifacts.cacheDir ?? cacheDir(), source);
  // The revision names the bundle's layout, so a change to how millrace assembles it is rebuilt.
  const tarball = path.join(dir, `${component}-${version}-r${BUNDLE_REVISION[component]}.tar`);
  const cached = await verifyBundle(tarball);
  if (cached) return cached;
  fs.mkdirSync(dir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(dir, `.${component}-${version}-`));
  try {
    const verified = await BUILD_FROM[source](config, component, version, path.join(staging, 'root'), path.join(staging, 'work'), report);
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
      builtAt: new Date().toISOString(),
    };
    writeManifest(tarball, manifest);
    // Bundles of the same version in an older layout are dead weight now.
    for (const f of fs.readdirSync(dir))
      if (new RegExp(`^${component}-${version.replace(/\./g, '\\.')}(-r\\d+)?\\.tar`).test(f) && !f.startsWith(path.basename(tarball))) fs.rmSync(path.join(dir, f), { force: true });
    return { ...manifest, path: tarball };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

type Report = (m: string) => void;

/** Each artifact source's builder; a new source fails to compile until it has one. */
const BUILD_FROM = {
  apache: (config, component, version, root, work, report) => apacheBundle(config.artifacts.apacheMirror, component, version, root, work, report),
  maven: (config, component, version, root, work, report) => {
    fs.mkdirSync(root, { recursive: true });
    return MAVEN_BUILDERS[component](config, version, root, work, report);
  },
} satisfies Record<ClusterConfig['artifacts']['source'], (config: ClusterConfig, component: ComponentName, version: string, root: string, work: string, report: Report) => Promise<string[]>>;

/** How the Maven/PyPI source builds each component; a new component fails to compile until it has a builder. */
const MAVEN_BUILDERS = {
  kafka: buildKafka,
  hadoop: buildHadoop,
  spark: buildSpark,
} satisfies Record<ComponentName, (config: ClusterConfig, version: string, root: string, work: string, report: Report) => Promise<string[]>>;

const strictChecksums = (n: number, repo: string): string[] => [`${n} jars from ${repo}, checked against the repository's SHA-1 (strict checksums)`];

async function buildKafka(config: ClusterConfig, version: string, root: string, work: string, report: Report): Promise<string[]> {
  const repo = config.artifacts.mavenRepository;
  report(`resolve Kafka ${version} from ${repo}`);
  return strictChecksums(await resolveMaven(kafkaMaven(version), root, repo, work), repo);
}

async function buildHadoop(config: ClusterConfig, version: string, root: string, work: string, report: Report): Promise<string[]> {
  const repo = config.artifacts.mavenRepository;
  report(`resolve Hadoop ${version} from ${repo}`);
  const n = await resolveMaven(hadoopMaven(version), root, repo, work);
  // Hadoop's HTTP servers look their web application up on the classpath; the jars on Maven
  // Central do not carry the HDFS ones, so an empty application stands in (REST and JMX work).
  for (const app of HADOOP_WEBAPPS) {
    fs.mkdirSync(path.join(root, 'webapps', app, 'WEB-INF'), { recursive: true });
    fs.writeFileSync(path.join(root, 'webapps', app, 'WEB-INF', 'web.xml'), '<?xml version="1.0" encoding="UTF-8"?>\n<web-app xmlns="http://java.sun.com/xml/ns/javaee" version="3.0"/>\n');
  }
  fs.mkdirSync(path.join(root, 'webapps', 'static'), { recursive: true });
  return strictChecksums(n, repo);
}

/** Spark from the pyspark sdist: jars/, bin/, sbin/, python/ (with the zips executors use), RELEASE. */
async function buildSpark(config: ClusterConfig, version: string, root: string, work: string, report: Report): Promise<string[]> {
  const index = config.artifacts.pypiIndex;
  const downloads = path.join(config.artifacts.cacheDir ?? cacheDir(), 'downloads');
  fs.mkdirSync(downloads, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const sdist = await fetchPypiFile(index, 'pyspark', version, 'sdist', downloads, report);
  const py4jVersion = PY4J_FOR_SPARK[version] ?? '0.10.9.9';
  const py4j = await fetchPypiFile(index, 'py4j', py4jVersion, 'bdist_wheel', downloads, report);
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
  await resolveMaven(sparkKafkaConnectorMaven(version), root, config.artifacts.mavenRepository, path.join(work, 'maven'));
  const n = dropJarsSparkShips(path.join(root, 'connectors', 'kafka'), path.join(root, 'jars'));
  return [`pyspark-${version}.tar.gz SHA-256 ${sdist.sha256} (as published by ${index})`, `py4j-${py4jVersion} SHA-256 ${py4j.sha256}`, `${n} connector jars (strict checksums)`];
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

/** Ensures each bundle once per run (shared across hosts), then installs it on each host. */
export function createArtifactInstaller(config: ClusterConfig, log: Logger): ArtifactInstaller {
  const bundles = new Map<ComponentName, Promise<Bundle>>();
  return {
    async install(host, component, report) {
      let bundle = bundles.get(component);
      if (!bundle) {
        bundle = ensureBundle(config, component, report);
        bundles.set(component, bundle);
        bundle.then((b) => log.debug({ component, sha512: b.sha512.slice(0, 16) }, 'bundle ready')).catch(() => undefined);
      }
      return installBundle(host, await bundle, report);
    },
  };
}
