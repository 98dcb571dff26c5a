import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../lib/config';
import { MillraceError } from '../lib/errors';
import { clusterStateDir, expandHome } from '../lib/paths';

export interface SshKey {
  privateKeyPath: string;
  publicKey: string;
}

/**
 * The operator's SSH key for a cluster: the configured one, or a key pair millrace generates
 * once in the cluster's state directory (the default for the local target).
 */
export function clusterSshKey(config: ClusterConfig): SshKey {
  if (config.ssh.privateKeyPath) {
    const privateKeyPath = expandHome(config.ssh.privateKeyPath);
    return { privateKeyPath, publicKey: readPublicKey(config.ssh.publicKey ?? `${privateKeyPath}.pub`) };
  }
  const privateKeyPath = path.join(clusterStateDir(config.name), 'ssh', 'id_ed25519');
  if (!fs.existsSync(privateKeyPath)) {
    fs.mkdirSync(path.dirname(privateKeyPath), { recursive: true, mode: 0o700 });
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `millrace-${config.name}`, '-f', privateKeyPath], { stdio: 'pipe' });
    } catch (error) {
      throw new MillraceError('cannot generate the cluster SSH key with ssh-keygen', {
        hint: 'install openssh-client, or set ssh.privateKeyPath and ssh.publicKey in the config',
        cause: error,
      });
    }
  }
  return { privateKeyPath, publicKey: fs.readFileSync(`${privateKeyPath}.pub`, 'utf8').trim() };
}

/** A public key given literally ("ssh-ed25519 AAAA…") or as a path to a .pub file. */
export function readPublicKey(value: string): string {
  if (/^(ssh-(ed25519|rsa)|ecdsa-sha2-\S+) AAAA/.test(value.trim())) return value.trim();
  const file = expandHome(value);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new MillraceError(`cannot read the SSH public key ${file}`, {
      hint: 'set ssh.publicKey to the key itself or to a readable .pub file',
      cause: error,
    });
  }
}
