/**
 * Resolves jars with their transitive dependencies from a Maven repository (Maven Central by
 * default, or an internal mirror), with strict checksum checking: Maven refuses any jar whose
 * .sha1 from the repository does not match. That checksum comes from the same server as the jar,
 * so the caller also checks every resolved jar against the artifact lock (lock.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { run } from '../../lib/process';
import type { MavenBundleSpec } from './catalog';
import { digestFile } from './lock';

/**
 * The Maven plugin the resolution runs, pinned: without a version Maven picks whatever its own
 * super-POM names (2.8 on Maven 3.8), so the code that copies the jars would change with the
 * operator's Maven.
 */
export const MAVEN_DEPENDENCY_PLUGIN = { groupId: 'org.apache.maven.plugins', artifactId: 'maven-dependency-plugin', version: '3.8.1' } as const;

export function pom(spec: MavenBundleSpec): string {
  const deps = spec.coordinates
    .map((c) => {
      const [g, a, v] = c.split(':');
      return `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
    })
    .join('\n');
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.millrace.bundle</groupId><artifactId>bundle</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
  <build><plugins><plugin><groupId>${MAVEN_DEPENDENCY_PLUGIN.groupId}</groupId><artifactId>${MAVEN_DEPENDENCY_PLUGIN.artifactId}</artifactId><version>${MAVEN_DEPENDENCY_PLUGIN.version}</version></plugin></plugins></build>
</project>
`;
}

function settings(repository: string): string {
  return `<settings><mirrors><mirror><id>millrace</id><mirrorOf>*</mirrorOf><url>${repository}</url></mirror></mirrors></settings>\n`;
}

/**
 * Copies each spec's jars (with dependencies) into staging/<spec.dir>; returns each jar's path
 * in the bundle (e.g. "libs/kafka-clients-4.1.1.jar") with its SHA-256.
 */
export async function resolveMaven(specs: MavenBundleSpec[], staging: string, repository: string, work: string): Promise<Record<string, string>> {
  const jars: Record<string, string> = {};
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(path.join(work, 'settings.xml'), settings(repository));
  for (const [i, spec] of specs.entries()) {
    const dir = path.join(work, `pom-${i}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pom.xml'), pom(spec));
    const out = path.join(staging, spec.dir);
    await run(
      'mvn',
      ['-B', '-q', '--strict-checksums', '-s', path.join(work, 'settings.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${out}`, '-DincludeScope=runtime'],
      { cwd: dir, hint: `check that ${repository} serves ${spec.coordinates.join(', ')}; the maven source needs Maven (mvn) and Java on this machine` },
    ).catch((error: unknown) => {
      throw error instanceof MillraceError
        ? new MillraceError(`cannot resolve ${spec.coordinates.join(', ')} from ${repository}: ${error.message}`, { hint: error.hint, cause: error })
        : error;
    });
    for (const f of fs.readdirSync(out).filter((f) => f.endsWith('.jar')).sort()) jars[`${spec.dir}/${f}`] = await digestFile(path.join(out, f), 'sha256');
  }
  return jars;
}
