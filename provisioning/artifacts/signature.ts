/**
 * OpenPGP signatures of Apache releases. Each project publishes a KEYS file (all its release
 * managers' public keys) and a detached .asc signature per release file. Anyone who can change
 * the mirror can change KEYS too, so a key from KEYS is trusted only when its fingerprint is
 * pinned in the artifact lock (apacheKeys).
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type * as OpenPgp from 'openpgp';
import { lazy } from '../../lib/lazy';
import { MillraceError } from '../../lib/errors';
import { LOCK_FILE_IN_REPO } from './lock';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const openpgp = lazy(() => require('openpgp') as typeof OpenPgp);

const fingerprintOf = (key: OpenPgp.PublicKey): string => key.getFingerprint().toUpperCase();

/** Every public key in a KEYS file (text with many armored blocks); blocks openpgp cannot read are skipped. */
export async function readKeysFile(text: string): Promise<OpenPgp.PublicKey[]> {
  const keys: OpenPgp.PublicKey[] = [];
  for (const block of text.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g) ?? []) {
    try {
      keys.push(...(await openpgp().readKeys({ armoredKeys: block })));
    } catch {
      // Old (v3) or damaged keys in a KEYS file are no reason to refuse the others.
    }
  }
  return keys;
}

function describeKey(key: OpenPgp.PublicKey): string {
  const uid = key.getUserIDs()[0];
  return `${fingerprintOf(key)}${uid ? ` (${uid})` : ''}`;
}

export interface SignatureCheck {
  /** The file whose signature is checked. */
  file: string;
  /** How to name it in messages, e.g. "kafka_2.13-4.1.1.tgz". */
  what: string;
  /** The armored detached signature (.asc). */
  signature: string;
  /** The KEYS file's text and where it came from. */
  keys: string;
  keysUrl: string;
  /** Fingerprints pinned in the lock (uppercase hex). */
  pinned: string[];
}

/** Verifies a detached signature with pinned keys only; returns the signer's fingerprint. */
export async function verifyDetachedSignature(check: SignatureCheck): Promise<string> {
  let signature: OpenPgp.Signature;
  try {
    signature = await openpgp().readSignature({ armoredSignature: check.signature });
  } catch (error) {
    throw new MillraceError(`the signature of ${check.what} is not an OpenPGP signature: ${(error as Error).message}`, {
      hint: 'the mirror served a damaged .asc file; try again or use another mirror (artifacts.apacheMirror)',
    });
  }
  const all = await readKeysFile(check.keys);
  const pinned = new Set(check.pinned.map((f) => f.toUpperCase()));
  const trusted = all.filter((k) => pinned.has(fingerprintOf(k)));
  const signerIds = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  const holds = (key: OpenPgp.PublicKey): boolean => key.getKeyIDs().some((id) => signerIds.includes(id.toHex().toUpperCase()));
  const signer = trusted.find(holds);
  if (!signer) {
    const known = all.find(holds);
    if (known)
      throw new MillraceError(`${check.what} is signed by ${describeKey(known)}, a key in ${check.keysUrl} whose fingerprint the artifact lock does not pin`, {
        hint: `only pinned keys are trusted: if this is a genuine release manager of the project (check the fingerprint against a second source), add it to apacheKeys in ${LOCK_FILE_IN_REPO}`,
      });
    throw new MillraceError(
      `${check.what} is signed by key ${signerIds.join(', ') || '(unnamed)'}, which is ${trusted.length ? 'none of the pinned keys' : `not among the pinned keys (${check.keysUrl} holds none of them)`}`,
      { hint: 'the release was not signed by a trusted release manager: do not install it; check the mirror (artifacts.apacheMirror)' },
    );
  }
  const web = Readable.toWeb(fs.createReadStream(check.file)) as unknown as WebReadableStream<Uint8Array>;
  const message = await openpgp().createMessage({ binary: web as unknown as ReadableStream<Uint8Array> });
  try {
    const result = await openpgp().verify({ message, signature, verificationKeys: [signer], format: 'binary', expectSigned: false });
    // The data is a stream: read it to the end, so that the signature covers the whole file.
    const reader = (result.data as unknown as ReadableStream<Uint8Array>).getReader();
    while (!(await reader.read()).done);
    const [first] = result.signatures;
    if (!first) throw new Error('no signature');
    await first.verified;
  } catch (error) {
    throw new MillraceError(`the OpenPGP signature of ${check.what} does not verify with ${describeKey(signer)}: ${(error as Error).message}`, {
      hint: 'the file was changed after it was signed (or the signature belongs to another file): it was not installed; try another mirror (artifacts.apacheMirror)',
    });
  }
  return fingerprintOf(signer);
}
