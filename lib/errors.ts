/**
 * The millrace error family. Every error says what failed, where, and (in `hint`) what the
 * user can do next. The CLI's single top-level handler maps them to exit codes:
 * 0 done, 1 failure, 2 usage or config.
 */
export interface MillraceErrorOptions {
  hint?: string;
  cause?: unknown;
  retriable?: boolean;
}

export class MillraceError extends Error {
  readonly hint?: string;
  readonly retriable: boolean;
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = 1;

  constructor(message: string, options: MillraceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.retriable = options.retriable ?? false;
  }
}

export class UsageError extends MillraceError {
  override readonly exitCode = 2;
}

export interface ConfigIssue {
  /** Dotted path into the config, e.g. `nodes[1].roles[0]`; empty for the document itself. */
  path: string;
  message: string;
  hint?: string;
}

/** Which document a ConfigError is about; the cluster config unless a subclass says otherwise. */
export interface ConfigDocument {
  /** "cluster config", "pipeline spec". */
  name: string;
  hint: string;
}

const CLUSTER_CONFIG: ConfigDocument = { name: 'cluster config', hint: 'fix the config and run again; `millrace init` writes a commented example' };

export class ConfigError extends MillraceError {
  override readonly exitCode = 2;
  readonly issues: ConfigIssue[];
  readonly file: string;

  constructor(file: string, issues: ConfigIssue[], document: ConfigDocument = CLUSTER_CONFIG) {
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
    const n = issues.length;
    super(`${file}: ${n} problem${n === 1 ? '' : 's'} in the ${document.name}\n${lines.join('\n')}`, { hint: document.hint });
    this.issues = issues;
    this.file = file;
  }
}

export class RemoteCommandError extends MillraceError {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitCode_: number | null,
    readonly stderrTail: string,
    options: MillraceErrorOptions = {},
  ) {
    super(
      `${host}: \`${command}\` exited with ${exitCode_ ?? 'a signal'}${stderrTail ? `\n${indent(stderrTail)}` : ''}`,
      options,
    );
  }
}

export class HostUnreachableError extends MillraceError {
  constructor(readonly host: string, readonly detail: string, options: MillraceErrorOptions = {}) {
    super(`${host}: cannot connect over SSH: ${detail}`, options);
  }
}

export class HealthCheckError extends MillraceError {}

export class TimeoutError extends MillraceError {}

export class InternalError extends MillraceError {}

/** Several hosts or steps failed; each is named. */
export class AggregateFailure extends MillraceError {
  constructor(readonly what: string, readonly failures: { where: string; error: unknown }[]) {
    super(
      `${what} failed on ${failures.length} ${failures.length === 1 ? 'host' : 'hosts'}:\n` +
        failures.map((f) => indent(prefixed(f.where, describe(f.error)))).join('\n'),
    );
  }
}

export function describe(error: unknown): string {
  if (error instanceof MillraceError) return error.message + (error.hint ? `\n  hint: ${error.hint}` : '');
  if (error instanceof Error) return error.message;
  return String(error);
}

/** "kafka-1: …" once, even when the error already names its host. */
function prefixed(where: string, message: string): string {
  return message.startsWith(`${where}:`) || message.startsWith(`${where} (`) ? message : `${where}: ${message}`;
}

export function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/** A Node file-system error that names its path (ENOENT, EISDIR, ENOTDIR, EACCES, EPERM, EEXIST, …). */
export interface FsError extends Error {
  code: string;
  path: string;
  syscall?: string;
  dest?: string;
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, where a file is expected',
  ENOTDIR: 'a part of the path is a file, where a directory is expected',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
};

export function isFsError(error: unknown): error is FsError {
  const e = error as Partial<FsError> | undefined;
  // Duck-typed: Node's errors may come from another realm (a vm context, a worker).
  return typeof error === 'object' && error !== null && typeof e?.code === 'string' && typeof e.path === 'string' && typeof e.message === 'string' && e.code in FS_REASONS;
}

/** "no such file or directory" for ENOENT, and so on. */
export function fsReason(code: string): string {
  return FS_REASONS[code] ?? code;
}
