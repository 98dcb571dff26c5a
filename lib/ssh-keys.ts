/**
 * OpenSSH keys, parsed for real (ssh2's parser): a public key in the config is checked when the
 * config is read, and a private key is checked against its public half before anything uses it.
 */
import { lazy } from './lazy';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const ssh2 = lazy(() => require('ssh2') as typeof import('ssh2'));

/** A literal public key ("ssh-ed25519 AAAA… comment"), as opposed to a path to a .pub file. */
export function looksLikePublicKey(value: string): boolean {
  return /^(ssh-|ecdsa-|sk-)\S+ /.test(value.trim());
}

/** Why the text is not one OpenSSH public key, or undefined when it is one. */
export function publicKeyProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.includes('\n')) return 'holds more than one line; give exactly one public key';
  const parsed = ssh2().utils.parseKey(trimmed);
  if (parsed instanceof Error) return `is not a valid OpenSSH public key (${parsed.message})`;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return 'is a private key, not a public one';
  return undefined;
}

/** The public key blob of a public key's text (its base64 field, decoded). */
export function publicKeyBlob(text: string): Buffer {
  const parsed = ssh2().utils.parseKey(text.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || parsed instanceof Error) throw new Error('not a public key');
  return key.getPublicSSH();
}

/** Why the private key text can't be used with this public key, or undefined when it can. */
export function keyPairProblem(privateKeyText: string, publicKeyText: string): string | undefined {
  const parsed = ssh2().utils.parseKey(privateKeyText);
  if (parsed instanceof Error)
    return /encrypted|passphrase/i.test(parsed.message)
      ? 'is protected by a passphrase, which millrace cannot type (remove it with `ssh-keygen -p -N "" -f <key>`, or drop ssh.privateKeyPath to let millrace generate a key for the cluster)'
      : `is not a private key millrace can read (${parsed.message})`;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) return 'is not a private key';
  if (!key.getPublicSSH().equals(publicKeyBlob(publicKeyText))) return 'does not belong to the public key (ssh.publicKey): they are not one key pair';
  return undefined;
}
