import * as path from 'node:path';
import { CommanderError } from 'commander';
import { ConfigError, ConfigIssue, fsReason, isFsError, MillraceError, UsageError } from '../lib/errors';

/** What `--json` prints on stdout for a failure: one object, whatever went wrong. */
export interface JsonFailure {
  ok: false;
  error: { message: string; hint?: string; exitCode: number; kind: ErrorKind };
  problems: ConfigIssue[];
}

/** usage: flags, arguments, paths; config: the config file; failure: something failed at run time; internal: a bug. */
export type ErrorKind = 'usage' | 'config' | 'filesystem' | 'failure' | 'internal';

export interface ErrorOutput {
  exitCode: number;
  /** For stderr; empty when commander already printed it. */
  text: string;
  /** For stdout under --json; absent for --help and --version. */
  json?: JsonFailure;
}

export interface ErrorContext {
  /** Paths the user gave (arguments, MILLRACE_HOME…): a file-system error on or under one is a usage error. */
  userPaths?: string[];
}

/**
 * The one place errors become exit codes and text: 0 done, 1 failure, 2 usage or config.
 * A user error shows no stack trace unless debug is on.
 */
export function renderError(error: unknown, debug: boolean, context: ErrorContext = {}): ErrorOutput {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return { exitCode: 0, text: '' };
    if (error.code === 'commander.help') return { exitCode: 2, text: '', json: failure('no command given', 'run `millrace --help` for the commands', 2, 'usage') };
    const message = error.message.replace(/^error: /, '');
    return { exitCode: 2, text: '', json: failure(message, 'run the command with --help for its usage', 2, 'usage') };
  }
  const stack = debug && typeof (error as Error | undefined)?.stack === 'string' ? `\n${(error as Error).stack}${causeStack(error as Error)}` : '';
  if (error instanceof ConfigError)
    return { exitCode: 2, text: `error: ${error.message}${stack}`, json: failure(error.message.split('\n')[0]!, error.hint, 2, 'config', error.issues) };
  if (error instanceof MillraceError) {
    const hint = error.hint ? `\nhint: ${error.hint}` : '';
    const kind: ErrorKind = error instanceof UsageError || error.exitCode === 2 ? 'usage' : 'failure';
    return { exitCode: error.exitCode, text: `error: ${error.message}${hint}${stack}`, json: failure(error.message, error.hint, error.exitCode, kind) };
  }
  if (isFsError(error)) {
    // A file-system error that escaped a command's own checks: clean, with the path. On a path the
    // user gave it is their mistake (exit 2); elsewhere it is a failure (exit 1), not a crash.
    const where = path.resolve(error.path);
    const userGiven = (context.userPaths ?? []).some((u) => where === u || where.startsWith(u.endsWith(path.sep) ? u : u + path.sep) || (error.dest !== undefined && path.resolve(error.dest) === u));
    const reason = error.code === 'EEXIST' && error.syscall === 'mkdir' ? 'is a file, where a directory is expected' : fsReason(error.code);
    const message = `${where}: ${reason}${error.syscall ? ` (${error.syscall})` : ''}`;
    const hint = userGiven ? 'check the path: that the directories exist, that files and directories are where expected, and the permissions' : 'check the path and its permissions; run with --debug to see where it happened';
    return { exitCode: userGiven ? 2 : 1, text: `error: ${message}\nhint: ${hint}${stack}`, json: failure(message, hint, userGiven ? 2 : 1, 'filesystem') };
  }
  // Anything else is a bug in millrace: always show where it came from.
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const hint = 'this is a bug in millrace; please report it with the output of the command run with --debug';
  return {
    exitCode: 1,
    text: `internal error: ${message}\nhint: ${hint}`,
    json: failure(error instanceof Error ? error.message : String(error), hint, 1, 'internal'),
  };
}

function failure(message: string, hint: string | undefined, exitCode: number, kind: ErrorKind, problems: ConfigIssue[] = []): JsonFailure {
  return { ok: false, error: { message, ...(hint ? { hint } : {}), exitCode, kind }, problems: problems.map((p) => ({ path: p.path, message: p.message, ...(p.hint ? { hint: p.hint } : {}) })) };
}

function causeStack(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.stack ? `\ncaused by: ${cause.stack}` : '';
}
