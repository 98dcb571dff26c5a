/**
 * The Apache release archive source: the release tarball, checked before use against the SHA-512
 * pinned in the artifact lock and against its OpenPGP signature (.asc) made by a release manager
 * whose key fingerprint the lock pins, then laid out the way millrace installs every component
 * (libs/, lib/ + kms/lib/, jars/ …). Nothing the mirror says about its own files is trusted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { run } from '../../lib/process';
import { SCALA_BINARY } from '../../lib/versions';
import type { ComponentName } from '../service';
import { download, fetchText } from './download';
import { type ArtifactLock, checkLocked, digestFile, lockedApache, lockedKeys } from './lock';
import { verifyDetachedSignature } from './signature';

/** Each component's release archive under a mirror; a new component fails to compile until it has one. */
const RELEASE_PATH = {
  kafka: (version) => `kafka/${version}/kafka_${SCALA_BINARY}-${version}.tgz`,
  hadoop: (version) => `hadoop/common/hadoop-${version}/hadoop-${version}.tar.gz`,
  spark: (version) => `spark/spark-${version}/spark-${version}-bin-hadoop3.tgz`,
} satisfies Record<ComponentName, (version: string) => string>;

/** Each project's KEYS file (its release managers' public keys) under a mirror. */
const KEYS_PATH = { kafka: 'kafka/KEYS', hadoop: 'hadoop/common/KEYS', spark: 'spark/KEYS' } satisfies Record<ComponentName, string>;

/** The release file's path under a mirror, as the artifact lock names it. */
export function apacheReleasePath(component: ComponentName, version: string): string {
  return RELEASE_PATH[component](version);
}

export function apacheUrl(mirror: string, component: ComponentName, version: string): string {
  return `${mirror.replace(/\/$/, '')}/${RELEASE_PATH[component](version)}`;
}

export function apacheKeysUrl(mirror: string, component: ComponentName): string {
  return `${mirror.replace(/\/$/, '')}/${KEYS_PATH[component]}`;
}

/** Apache .sha512 files come as "hex  name" or as gpg --print-md's "name: HEX HEX …". */
export function parseSha512File(text: string): string {
  const afterName = text.includes(':') ? text.slice(text.indexOf(':') + 1) : text;
  const hex = (afterName.match(/[0-9a-fA-F]+/g) ?? []).join('').toLowerCase();
  if (hex.length < 128) throw new MillraceError(`cannot read a SHA-512 from the checksum file: "${text.trim().slice(0, 80)}"`);
  return hex.slice(0, 128);
}

export async function apacheBundle(
  mirror: string,
  component: ComponentName,
  version: string,
  root: string,
  work: string,
  report: (m: string) => void,
  lock: ArtifactLock,
): Promise<string[]> {
  // Refused before anything is downloaded when the lock cannot vouch for the release.
  const expected = lockedApache(lock, apacheReleasePath(component, version), component, version);
  const pinned = lockedKeys(lock, component);
  const url = apacheUrl(mirror, component, version);
  const name = path.basename(url);
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(work, name);
  report(`download ${name}`);
  await download(url, file);
  const actual = await digestFile(file, 'sha512');
  checkLocked(`${name} from ${mirror}`, 'SHA-512', expected, actual, 'the download was discarded; run the command again, or use another mirror (artifacts.apacheMirror)');
  const keysUrl = apacheKeysUrl(mirror, component);
  const signer = await verifyDetachedSignature({ file, what: name, signature: await fetchText(`${url}.asc`), keys: await fetchText(keysUrl), keysUrl, pinned });
  report(`unpack ${name}`);
  const x = path.join(work, 'x');
  fs.mkdirSync(x);
  await run('tar', ['-xzf', file, '-C', x], { hint: 'check free disk space' });
  const [top] = fs.readdirSync(x);
  if (!top) throw new MillraceError(`${name} is empty`);
  const src = path.join(x, top);
  LAYOUT[component](src, root);
  return [`${name} SHA-512 ${actual} matches the artifact lock`, `${name} signed by pinned key ${signer}`];
}

/** How each unpacked distribution becomes millrace's install layout (src: the archive's top directory). */
const LAYOUT = {
  kafka: (src, root) => fs.renameSync(path.join(src, 'libs'), path.join(root, 'libs')),
  hadoop: (src, root) => layOutHadoop(src, root),
  spark: (src, root) => {
    for (const f of fs.readdirSync(src)) fs.renameSync(path.join(src, f), path.join(root, f));
  },
} satisfies Record<ComponentName, (src: string, root: string) => void>;

/** Flattens the distribution's share/hadoop/{common,hdfs}[/lib] jars into lib/; the KMS shares them. */
function layOutHadoop(src: string, root: string): void {
  const lib = path.join(root, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  for (const d of ['common', 'common/lib', 'hdfs', 'hdfs/lib']) {
    const dir = path.join(src, 'share/hadoop', d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.jar') && !fs.existsSync(path.join(lib, f))) fs.renameSync(path.join(dir, f), path.join(lib, f));
  }
  fs.renameSync(path.join(src, 'share/hadoop/hdfs/webapps'), path.join(root, 'webapps'));
  fs.mkdirSync(path.join(root, 'kms'), { recursive: true });
  fs.symlinkSync('../lib', path.join(root, 'kms', 'lib'));
}
