import * as path from 'node:path';
import type { Command } from 'commander';
import { ClusterConfig, loadConfig, TARGETS } from '../lib/config';
import { UsageError } from '../lib/errors';

export interface GlobalOptions {
  config: string;
  debug?: boolean;
  json?: boolean;
  logFormat?: string;
}

export const DEFAULT_CONFIG = 'millrace.yaml';

export function globals(cmd: Command): GlobalOptions {
  const opts = cmd.optsWithGlobals() as GlobalOptions;
  // An empty MILLRACE_CONFIG (or -c '') means the default.
  return { ...opts, config: opts.config || DEFAULT_CONFIG };
}

/** The config file's absolute path: -c, else MILLRACE_CONFIG, else ./millrace.yaml. */
export function configPath(cmd: Command): string {
  return path.resolve(globals(cmd).config);
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
  return loadConfig(configPath(cmd), opts.target === undefined ? {} : { target: opts.target });
}

let jsonPrinted = false;

/** Whether a command already printed its JSON result (then a failure after it prints no second object). */
export function jsonResultPrinted(): boolean {
  return jsonPrinted;
}

/** Writes a command's result to stdout, as JSON when --json was given. */
export function output(cmd: Command, human: string, json: unknown): void {
  if (globals(cmd).json) {
    jsonPrinted = true;
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  } else process.stdout.write(human.endsWith('\n') ? human : human + '\n');
}
