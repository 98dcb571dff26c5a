/**
 * Each local node's own source address (templates/local/source-address.c): a small preloaded
 * library that makes a node's connections to other nodes leave from the node's address, as they
 * would from an instance's on EC2, instead of from 127.0.0.1 for every node alike.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assetPath } from '../../lib/assets';
import { cacheDir } from '../../lib/paths';
import { run } from '../../lib/process';

/** Where the library and the node's address live inside a node. */
export const SHIM_IN_NODE = '/usr/local/lib/millrace-local/source-address.so';
export const ADDRESS_IN_NODE = '/etc/millrace-local/source-address';

/** The compiled library, built once per machine and per source text in the cache. */
export async function sourceAddressShim(): Promise<string> {
  const source = assetPath('templates', 'local', 'source-address.c');
  const sum = crypto.createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 16);
  const out = path.join(cacheDir(), 'local', `source-address-${sum}.so`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const building = `${out}.${process.pid}.building`;
  await run('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-o', building, source], {
    hint: 'the local target compiles a small C library for its nodes: install gcc and libc6-dev (scripts/setup.sh does)',
  });
  fs.renameSync(building, out);
  return out;
}

/**
 * Puts the library, the node's address and /etc/ld.so.preload into a node's rootfs. Only what
 * differs is written, so a running node is left alone when nothing changed.
 */
export function installSourceAddress(rootfs: string, address: string, shim: string): void {
  const put = (file: string, content: Buffer | string, mode: number): void => {
    const target = path.join(rootfs, file);
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    if (fs.existsSync(target) && fs.readFileSync(target).equals(data)) return;
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    const tmp = `${target}.millrace-tmp`;
    fs.writeFileSync(tmp, data, { mode });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, target);
  };
  // The library first: ld.so.preload names a file that must already be there.
  put(SHIM_IN_NODE, fs.readFileSync(shim), 0o644);
  put(ADDRESS_IN_NODE, `${address}\n`, 0o644);
  put('/etc/ld.so.preload', `${SHIM_IN_NODE}\n`, 0o644);
}
