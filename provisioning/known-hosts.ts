import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clusterStateDir } from '../lib/paths';

/** OpenSSH-style fingerprint of a raw public host key blob: SHA256:<base64, unpadded>. */
export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/**
 * The name the jump host's key (aws.bastion, ssh.jumpHost) is pinned under. Node names cannot
 * contain "_", so it never collides with one; `millrace forget-host jump_host` forgets it.
 */
export const JUMP_HOST_PIN = 'jump_host';

interface Pin {
  address: string;
  fingerprint: string;
  /** The key itself (base64 blob), so an OpenSSH known_hosts line can be written for `millrace ssh`. */
  key?: string;
}

/**
 * Host keys pinned per node, kept in the cluster's state directory. A key is pinned on first
 * contact (or up front by a target that made the host), and a different key later is an error.
 */
export class KnownHosts {
  constructor(private readonly file: string) {}

  private read(): Record<string, Pin> {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, Pin>;
    } catch {
      return {};
    }
  }

  get(node: string): Pin | undefined {
    return this.read()[node];
  }

  pin(node: string, address: string, keyBlob: Buffer): void {
    const all = this.read();
    all[node] = { address, fingerprint: fingerprint(keyBlob), key: keyBlob.toString('base64') };
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.file, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  }

  forget(node: string): void {
    const all = this.read();
    delete all[node];
    fs.writeFileSync(this.file, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  }
}

/** The cluster's pins, kept in its state directory. */
export function clusterKnownHosts(cluster: string): KnownHosts {
  return new KnownHosts(path.join(clusterStateDir(cluster), 'known_hosts.json'));
}

/** An OpenSSH known_hosts line for a pinned key: "[addr]:port type base64". */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  const type = keyBlob.subarray(4, 4 + keyBlob.readUInt32BE(0)).toString();
  return `${port === 22 ? host : `[${host}]:${port}`} ${type} ${keyBlob.toString('base64')}`;
}
