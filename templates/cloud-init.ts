/**
 * The cloud-init user-data every node boots with, on every target that boots nodes: the AWS
 * stack gives it to its instances, the local target to its nodes through the NoCloud seed. One
 * template, one context builder, so the two can't drift (a test compares them byte for byte).
 */
import { render } from './render';

export interface UserDataContext {
  cluster: string;
  /** The login user millrace provisions through. */
  user: string;
  /** OpenSSH public keys, one line each. */
  publicKeys: string[];
}

const LOGIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const PUBLIC_KEY = /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/;

/** Checks every value that reaches the YAML, so no key comment can break out of its line. */
export function buildUserDataContext(cluster: string, user: string, publicKey: string): UserDataContext {
  if (!LOGIN_USER.test(user)) throw new Error(`"${user}" is not a login user name`);
  const key = publicKey.trim();
  if (!PUBLIC_KEY.test(key)) throw new Error('the SSH public key is not one line of OpenSSH public key text');
  // Quoted as a YAML string: a key comment may hold characters YAML would read otherwise.
  return { cluster, user, publicKeys: [JSON.stringify(key)] };
}

export function renderUserData(cluster: string, user: string, publicKey: string): string {
  return render('cloud-init/user-data', buildUserDataContext(cluster, user, publicKey));
}
