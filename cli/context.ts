import * as path from 'node:path';
import type { Command } from 'commander';
import { ClusterConfig, loadConfig, TARGETS } from '../lib/config';
import { UsageError } from '../lib/errors';

export interface GlobalOptions {
  config: string;
  debug?: boolean;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/**
 * Loads and validates the config once, at the edge. --target overrides the config's target and
 * goes through the same validation, so the target's rules (an aws sshCidr, static addresses)
 * hold whichever way it was chosen.
 */
export function configFor(cmd: Command): ClusterConfig {
  const opts = cmd.optsWithGlobals() as GlobalOptions & { target?: string };
  if (opts.target !== undefined && !(TARGETS as readonly string[]).includes(opts.target))
    throw new UsageError(`unknown target "${opts.target}"`, { hint: `use one of ${TARGETS.join(', ')}` });
  return loadConfig(path.resolve(opts.config), opts.target === undefined ? {} : { target: opts.target });
}

/** Writes a command's result to stdout, as JSON when --json was given. */
export function output(cmd: Command, human: string, json: unknown): void {
  process.stdout.write(globals(cmd).json ? JSON.stringify(json, null, 2) + '\n' : human.endsWith('\n') ? human : human + '\n');
}
