import pino, { Logger } from 'pino';

/**
 * Paths that may hold secrets anywhere in a log record. Redaction is the logger's job,
 * not something each call site has to remember.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'passphrase',
  '*.passphrase',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'key',
  '*.key',
  'sparkSecret',
  '*.sparkSecret',
  'keystorePassword',
  '*.keystorePassword',
  'token',
  '*.token',
];

let root: Logger | undefined;

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined }, destination);
}

/** The single pino root; logs go to stderr so stdout stays for command results. */
export function logger(): Logger {
  root ??= createLogger();
  return root;
}

export function setRootLogger(l: Logger): void {
  root = l;
}
