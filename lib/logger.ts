import pino, { Logger } from 'pino';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';
import { UsageError } from './errors';

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

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * An on/off environment variable such as MILLRACE_DEBUG: unset, empty, 0, false, no and off are
 * off; anything else is on.
 */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
  /** Stack traces on errors: --debug, MILLRACE_DEBUG or LOG_LEVEL=debug|trace. */
  debug: boolean;
}

/**
 * Level and format from the flags and the environment, in one place:
 * - level: LOG_LEVEL (default info); --debug or MILLRACE_DEBUG raise it to debug;
 * - format: --log-format, else MILLRACE_LOG_FORMAT, else pretty on a terminal (stderr) and JSON lines elsewhere.
 */
export function logSettings(flags: { debug?: boolean; logFormat?: string }, env: NodeJS.ProcessEnv = process.env, stderrIsTTY = !!process.stderr.isTTY): LogSettings {
  const raw = env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw))
    throw new UsageError(`LOG_LEVEL="${env.LOG_LEVEL}" is not a log level`, { hint: `set it to one of ${LOG_LEVELS.join(', ')}, or unset it` });
  const debug = !!flags.debug || envFlag(env.MILLRACE_DEBUG) || raw === 'debug' || raw === 'trace';
  const level: LogLevel = debug && raw !== 'trace' ? 'debug' : (raw as LogLevel);
  const asked = flags.logFormat ?? (env.MILLRACE_LOG_FORMAT?.trim() || undefined);
  if (asked !== undefined && !(LOG_FORMATS as readonly string[]).includes(asked))
    throw new UsageError(`log format "${asked}" is not one of ${LOG_FORMATS.join(', ')}`, { hint: 'use --log-format pretty|json (or MILLRACE_LOG_FORMAT)' });
  return { level, format: (asked as LogFormat | undefined) ?? (stderrIsTTY ? 'pretty' : 'json'), debug };
}

/**
 * While the live progress display draws on the terminal, log lines are held and printed after it,
 * so they never tear it (listr2 buffers other writes to stderr the same way while it renders).
 */
let held: string[] | undefined;

export function holdLogs(): () => void {
  if (held) return () => undefined;
  held = [];
  return () => {
    const lines = held ?? [];
    held = undefined;
    for (const l of lines) process.stderr.write(l);
  };
}

/** Log lines to stderr, as they are (JSON) or through pino-pretty, held while a progress display runs. */
export function stderrDestination(format: LogFormat, colorize = !!process.stderr.isTTY && !process.env.NO_COLOR): pino.DestinationStream {
  // pino-pretty only for a terminal: loaded here, not at start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = format === 'pretty' ? (require('pino-pretty') as { prettyFactory: typeof PrettyFactory }).prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true }) : undefined;
  return {
    write(line: string) {
      const text = pretty ? pretty(line) : line;
      if (held) held.push(text);
      else process.stderr.write(text);
    },
  };
}

let root: Logger | undefined;

function defaultLevel(): LogLevel {
  const l = process.env.LOG_LEVEL?.trim().toLowerCase() ?? 'info';
  return (LOG_LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : 'info';
}

export function createLogger(level: string = defaultLevel(), destination: pino.DestinationStream = stderrDestination('json')): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined }, destination);
}

/** The CLI's logger, from the resolved settings. */
export function createCliLogger(settings: Pick<LogSettings, 'level' | 'format'>): Logger {
  return createLogger(settings.level, stderrDestination(settings.format));
}

/** The single pino root; logs go to stderr so stdout stays for command results. */
export function logger(): Logger {
  root ??= createLogger();
  return root;
}

export function setRootLogger(l: Logger): void {
  root = l;
}
