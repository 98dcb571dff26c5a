/**
 * @peculiar/x509, loaded on first use (it is most of the CLI's start-up time, and only the
 * commands that issue or read certificates need it), with its Reflect polyfill and Node's
 * WebCrypto as its provider. `X509` is its types.
 */
import * as crypto from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { lazy } from '../../lib/lazy';

export type { X509 };

export const x509 = lazy(() => {
  // tsyringe, under @peculiar/x509, needs the Reflect metadata polyfill loaded first.
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('reflect-metadata');
  const lib = require('@peculiar/x509') as typeof X509;
  /* eslint-enable @typescript-eslint/no-require-imports */
  lib.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
  return lib;
});
