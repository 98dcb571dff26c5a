/**
 * Runs terraform (or OpenTofu) for the aws target. lib/process.ts `run` buffers its output, but an
 * apply takes minutes and the operator should watch it, so this runner streams instead.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { indent, MillraceError } from '../../lib/errors';
import { logger } from '../../lib/logger';

export const TERRAFORM_INSTALL_HINT =
  'install Terraform >= 1.6 (https://developer.hashicorp.com/terraform/install) or OpenTofu >= 1.6 ' +
  '(https://opentofu.org/docs/intro/install/), or set MILLRACE_TERRAFORM to the path of one';

export interface TerraformBinary {
  path: string;
  /** "terraform" or "tofu" (or whatever MILLRACE_TERRAFORM names), for messages. */
  name: string;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', name);
    if (dir && isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** terraform if it is on PATH, else tofu; MILLRACE_TERRAFORM (a name or a path) overrides both. */
export function findTerraform(env: NodeJS.ProcessEnv = process.env): TerraformBinary {
  const explicit = env.MILLRACE_TERRAFORM;
  if (explicit) {
    const found = explicit.includes(path.sep) ? (isExecutableFile(explicit) ? explicit : undefined) : onPath(explicit, env.PATH);
    if (!found)
      throw new MillraceError(`MILLRACE_TERRAFORM is "${explicit}", but that is not an executable file${explicit.includes(path.sep) ? '' : ' on PATH'}`, {
        hint: `point MILLRACE_TERRAFORM at a terraform or tofu binary, or unset it to use whichever is on PATH; ${TERRAFORM_INSTALL_HINT}`,
      });
    return { path: found, name: path.basename(found) };
  }
  for (const name of ['terraform', 'tofu']) {
    const found = onPath(name, env.PATH);
    if (found) return { path: found, name };
  }
  throw new MillraceError('neither terraform nor tofu is on PATH; the aws target needs one of them to create the cluster', {
    hint: TERRAFORM_INSTALL_HINT,
  });
}

export interface TerraformRunOptions {
  cwd: string;
  /** Where terraform's output is streamed as it arrives (stderr, so stdout stays for results). */
  sink: NodeJS.WritableStream;
  /** Collect stdout and return it instead of streaming it (for `output -json`). */
  capture?: boolean;
  /** What the user can do if this step fails. */
  hint: string;
}

const TAIL_LINES = 25;
const TAIL_CHARS = 8000;
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** The last lines of terraform's own error text, without colour codes or box-drawing margins. */
export function errorTail(text: string): string {
  return text
    .replace(ANSI, '')
    .split('\n')
    .map((l) => l.replace(/^[│╷╵]\s?/, '').trimEnd())
    .filter((l, i, all) => l !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n')
    .trim()
    .split('\n')
    .slice(-TAIL_LINES)
    .join('\n');
}

const CREDENTIALS = /no valid credential sources|NoCredentialProviders|InvalidClientTokenId|ExpiredToken|failed to refresh cached credentials|UnrecognizedClientException/i;

/** Runs one terraform subcommand, streaming its output; resolves with stdout when `capture` is set. */
export function runTerraform(bin: TerraformBinary, args: string[], opts: TerraformRunOptions): Promise<string> {
  const step = args[0] ?? 'terraform';
  logger().child({ target: 'aws', step }).info(`running ${bin.name} ${args.join(' ')} in ${opts.cwd}`);
  return new Promise((resolve, reject) => {
    const child = spawn(bin.path, args, {
      cwd: opts.cwd,
      // TF_IN_AUTOMATION drops the "now run terraform apply" advice, which is millrace's job here.
      env: { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let captured = '';
    let outTail = '';
    let errTail = '';
    child.stdout.on('data', (d: Buffer) => {
      if (opts.capture) captured += d.toString();
      else {
        opts.sink.write(d);
        outTail = (outTail + d.toString()).slice(-TAIL_CHARS);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      opts.sink.write(d);
      errTail = (errTail + d.toString()).slice(-TAIL_CHARS);
    });
    child.on('error', (e) =>
      reject(new MillraceError(`cannot run ${bin.path}: ${e.message}`, { hint: TERRAFORM_INSTALL_HINT, cause: e })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(captured);
      // Terraform writes its diagnostics to stderr; stdout only as a fallback for odd builds.
      const tail = errorTail(errTail) || errorTail(outTail);
      const hint = CREDENTIALS.test(tail)
        ? 'give terraform AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for the account to deploy into'
        : opts.hint;
      reject(
        new MillraceError(`${bin.name} ${step} failed (${code === null ? `signal ${signal}` : `exit code ${code}`}) in ${opts.cwd}${tail ? `:\n${indent(tail)}` : ''}`, {
          hint,
        }),
      );
    });
  });
}
