import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../lib/config';
import { MillraceError, UsageError } from '../lib/errors';
import { clusterStateDir, expandHome } from '../lib/paths';
import { keyPairProblem, looksLikePublicKey, publicKeyProblem } from '../lib/ssh-keys';

export interface SshKey {
  privateKeyPath: string;
  publicKey: string;
}

/**
 * The operator's SSH key for a cluster: the configured one, or a key pair millrace generates
 * once in the cluster's state directory (the default). A configured pair is checked before it is
 * used: the private key must exist, be readable without a passphrase, and match the public key.
 */
export function clusterSshKey(config: ClusterConfig): SshKey {
  if (config.ssh.privateKeyPath) {
    const privateKeyPath = expandHome(config.ssh.privateKeyPath);
    const publicKey = readPublicKey(config.ssh.publicKey ?? `${privateKeyPath}.pub`);
    let privateKey: string;
    try {
      privateKey = fs.readFileSync(privateKeyPath, 'utf8');
    } catch (error) {
      throw new UsageError(`ssh.privateKeyPath ${privateKeyPath} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
        hint: 'point ssh.privateKeyPath at the private half of ssh.publicKey, or remove both to let millrace generate a key pair for the cluster',
      });
    }
    const problem = keyPairProblem(privateKey, publicKey);
    if (problem)
      throw new UsageError(`ssh.privateKeyPath ${privateKeyPath} ${problem}`, {
        hint: 'set ssh.privateKeyPath and ssh.publicKey to the two halves of one key pair (ssh-keygen -y -f <private key> prints its public half)',
      });
    return { privateKeyPath, publicKey };
  }
  if (config.ssh.publicKey)
    throw new UsageError('ssh.publicKey is set without ssh.privateKeyPath, so millrace could not log in with it', {
      hint: 'set ssh.privateKeyPath to its private half, or remove ssh.publicKey to let millrace generate a key pair for the cluster',
    });
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

/** A public key given literally ("ssh-ed25519 AAAA…") or as a path to a .pub file; checked either way. */
export function readPublicKey(value: string): string {
  let text = value.trim();
  let where = 'ssh.publicKey';
  if (!looksLikePublicKey(text)) {
    const file = expandHome(value);
    try {
      text = fs.readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`cannot read the SSH public key ${file}`, {
        hint: 'set ssh.publicKey to the key itself or to a readable .pub file',
        cause: error,
      });
    }
    where = `the SSH public key ${file}`;
  }
  const problem = publicKeyProblem(text);
  if (problem) throw new UsageError(`${where} ${problem}`, { hint: 'give one line of OpenSSH public key text, as ssh-keygen writes it to the .pub file' });
  return text;
}
