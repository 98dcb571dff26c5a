#!/usr/bin/env node
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../lib/errors';
import { exitWhenFlushed } from '../lib/process';
import { createCliLogger, logger, logSettings, setRootLogger } from '../lib/logger';
import { cacheDir, checkStateDirs, millraceHome } from '../lib/paths';
import { renderError } from './handler';
import { packageVersion } from '../lib/assets';
import { registerInit } from './commands/init';
import { registerValidate } from './commands/validate';
import { registerInfra } from './commands/infra';
import { registerAlerts } from './commands/alerts';
import { registerOps } from './commands/ops';
import { registerHdfs } from './commands/hdfs';
import { registerCache } from './commands/cache';
import { registerVerify } from './commands/verify';
import { registerJobs } from './commands/jobs';
import { registerQuality } from './commands/quality';
import { registerReport } from './commands/report';
import { registerSql } from './commands/sql';
import { registerData } from './commands/data';
import { registerDemo } from './commands/demo';
import { registerCredentials } from './commands/credentials';
import { registerDoctor } from './commands/doctor';
import { registerDescribe } from './commands/describe';
import { registerList } from './commands/list';
import { registerCompletion } from './commands/completion';
import { registerCerts } from './commands/certs';
import { allCommands, applyHelp, commandPath } from './help';
import { DEFAULT_CONFIG, jsonResultPrinted } from './context';

/** Commands that touch no state directory: a broken MILLRACE_HOME does not stop them. */
const STATELESS = new Set(['init', 'validate', 'completion']);

/** What the run learned before a failure, for rendering it: --json and debug, once options are parsed. */
const run = { json: undefined as boolean | undefined, debug: undefined as boolean | undefined };

export function buildProgram(): Command {
  const program = new Command('millrace')
    .description(
      'Bootstrap a secure, self-hosted Kafka (KRaft) + Spark + HDFS streaming analytics cluster ' +
        'on AWS EC2, existing SSH hosts or this machine, and run its pipeline.',
    )
    .version(packageVersion())
    .addOption(new Option('-c, --config <path>', 'cluster config file').default(DEFAULT_CONFIG).env('MILLRACE_CONFIG'))
    .option('--json', 'print the result, or the error, as one JSON object on stdout')
    .option('--debug', 'debug logs and stack traces (env MILLRACE_DEBUG=1, or LOG_LEVEL=debug)')
    .addOption(new Option('--log-format <format>', 'log lines on stderr: pretty (default on a terminal) or json (default elsewhere); env MILLRACE_LOG_FORMAT').choices(['pretty', 'json']))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .hook('preAction', (_root, action) => {
      const opts = action.optsWithGlobals() as { json?: boolean; debug?: boolean; logFormat?: string };
      run.json = !!opts.json;
      const settings = logSettings(opts);
      run.debug = settings.debug;
      setRootLogger(createCliLogger(settings));
      logger().debug({ command: commandPath(action), version: packageVersion(), logFormat: settings.format }, 'millrace starting');
      // A config path given as an argument: say how to give it.
      if (action.registeredArguments.length === 0 && action.args.length > 0) {
        const [first] = action.args;
        const looksLikeConfig = /\.ya?ml$/i.test(first!);
        throw new UsageError(`\`millrace ${commandPath(action)}\` takes no arguments, but got "${action.args.join(' ')}"`, {
          hint: looksLikeConfig ? `the config file is an option: use -c ${first} (or set MILLRACE_CONFIG=${first})` : `see \`millrace ${commandPath(action)} --help\``,
        });
      }
      if (!STATELESS.has(commandPath(action).split(' ')[0]!)) checkStateDirs();
    });
  registerInit(program);
  registerValidate(program);
  registerInfra(program);
  registerOps(program);
  registerAlerts(program);
  registerHdfs(program);
  registerDescribe(program);
  registerList(program);
  registerVerify(program);
  registerDemo(program);
  registerCredentials(program);
  registerDoctor(program);
  registerData(program);
  registerJobs(program);
  registerQuality(program);
  registerReport(program);
  registerSql(program);
  registerCache(program);
  registerCompletion(program);
  registerCerts(program);
  // Arguments are checked in the preAction hook above, with a hint, instead of commander's "too many arguments".
  for (const cmd of allCommands(program)) if (cmd.registeredArguments.length === 0 && cmd.commands.length === 0) cmd.allowExcessArguments(true);
  applyHelp(program);
  return program;
}

/** Before options are parsed (or when parsing fails), --json and --debug from argv and the environment. */
function fromArgv(argv: string[]): { json: boolean; debug: boolean } {
  const end = argv.indexOf('--');
  const flags = end === -1 ? argv : argv.slice(0, end);
  let debug = flags.includes('--debug');
  try {
    debug = logSettings({ debug }).debug;
  } catch {
    // A bad LOG_LEVEL is reported by the command itself.
  }
  return { json: flags.includes('--json'), debug };
}

/** Paths the user gave: arguments, option values and the state directories. */
function userPaths(argv: string[]): string[] {
  const values = argv.slice(2).flatMap((a) => (a.startsWith('-') ? (a.includes('=') ? [a.slice(a.indexOf('=') + 1)] : []) : [a]));
  return [...values, process.env.MILLRACE_CONFIG ?? '', millraceHome(), cacheDir()].filter(Boolean).map((p) => path.resolve(p));
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    const early = fromArgv(argv);
    const { exitCode, text, json } = renderError(error, run.debug ?? early.debug, { userPaths: userPaths(argv) });
    if (text) process.stderr.write(text + '\n');
    if ((run.json ?? early.json) && json && !jsonResultPrinted()) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return exitCode;
  }
}

if (require.main === module) {
  // The only place that ends the process with a code, once stdout and stderr are written out.
  // A reader that goes away (`| head`) is not an error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  void main(process.argv).then((code) => exitWhenFlushed(code));
}
