/**
 * The Apache release archive source: the release tarball and its .sha512, checked before use,
 * then laid out the way millrace installs every component (libs/, lib/ + kms/lib/, jars/ …).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { run } from '../../lib/process';
import { SCALA_BINARY } from '../../lib/versions';
import type { ComponentName } from '../service';
import { sha512File } from './bundle';
import { download, fetchText } from './download';

/** Each component's release archive under a mirror; a new component fails to compile until it has one. */
const RELEASE_PATH = {
  kafka: (version) => `kafka/${version}/kafka_${SCALA_BINARY}-${version}.tgz`,
  hadoop: (version) => `hadoop/common/hadoop-${version}/hadoop-${version}.tar.gz`,
  spark: (version) => `spark/spark-${version}/spark-${version}-bin-hadoop3.tgz`,
} satisfies Record<ComponentName, (version: string) => string>;

export function apacheUrl(mirror: string, component: ComponentName, version: string): string {
  return `${mirror.replace(/\/$/, '')}/${RELEASE_PATH[component](version)}`;
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
): Promise<string[]> {
  const url = apacheUrl(mirror, component, version);
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(work, path.basename(url));
  const expected = parseSha512File(await fetchText(`${url}.sha512`));
  report(`download ${path.basename(url)}`);
  await download(url, file);
  const actual = await sha512File(file);
  if (actual !== expected)
    throw new MillraceError(`${path.basename(url)} from ${mirror} does not match its published SHA-512 (expected ${expected.slice(0, 16)}…, got ${actual.slice(0, 16)}…)`, {
      hint: 'the download was discarded; run the command again, or use another mirror (artifacts.apacheMirror)',
    });
  report(`unpack ${path.basename(url)}`);
  const x = path.join(work, 'x');
  fs.mkdirSync(x);
  await run('tar', ['-xzf', file, '-C', x], { hint: 'check free disk space' });
  const [top] = fs.readdirSync(x);
  if (!top) throw new MillraceError(`${path.basename(url)} is empty`);
  const src = path.join(x, top);
  LAYOUT[component](src, root);
  return [`${path.basename(url)} SHA-512 ${actual} matches ${url}.sha512`];
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
