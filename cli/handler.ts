import { CommanderError } from 'commander';
import { ConfigError, MillraceError, UsageError } from '../lib/errors';

export interface ErrorOutput {
  exitCode: number;
  text: string;
}

/**
 * The one place errors become exit codes and text: 0 done, 1 failure, 2 usage or config.
 * A user error shows no stack trace unless debug is on.
 */
export function renderError(error: unknown, debug: boolean): ErrorOutput {
  if (error instanceof CommanderError) return { exitCode: error.exitCode === 0 ? 0 : 2, text: '' };
  const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}${causeStack(error)}` : '';
  if (error instanceof ConfigError) return { exitCode: 2, text: `error: ${error.message}${stack}` };
  if (error instanceof UsageError || error instanceof MillraceError) {
    const hint = error.hint ? `\nhint: ${error.hint}` : '';
    return { exitCode: error.exitCode, text: `error: ${error.message}${hint}${stack}` };
  }
  // Anything else is a bug in millrace: always show where it came from.
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    exitCode: 1,
    text: `internal error: ${message}\nhint: this is a bug in millrace; please report it with the output of the command run with --debug`,
  };
}

function causeStack(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.stack ? `\ncaused by: ${cause.stack}` : '';
}
