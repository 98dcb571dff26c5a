#!/usr/bin/env node
import { Command, Option } from 'commander';
import { setRootLogger, createLogger } from '../lib/logger';
import { renderError } from './handler';
import { packageVersion } from '../lib/assets';
import { registerInit } from './commands/init';
import { registerValidate } from './commands/validate';
import { registerInfra } from './commands/infra';
import { registerOps } from './commands/ops';
import { registerCache } from './commands/cache';
import { registerVerify } from './commands/verify';
import { registerJobs } from './commands/jobs';
import { registerData } from './commands/data';
import { registerDemo } from './commands/demo';
import { registerCredentials } from './commands/credentials';
import { registerDoctor } from './commands/doctor';
import { registerDescribe } from './commands/describe';

export function buildProgram(): Command {
  const program = new Command('millrace')
    .description(
      'Bootstrap a secure, self-hosted Kafka (KRaft) + Spark + HDFS streaming analytics cluster ' +
        'on AWS EC2, existing SSH hosts or this machine, and run its pipeline.',
    )
    .version(packageVersion())
    .option('-c, --config <path>', 'cluster config file', 'millrace.yaml')
    .option('--json', 'print command results as JSON on stdout')
    .addOption(new Option('--debug', 'debug logs and stack traces').env('MILLRACE_DEBUG'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .hook('preAction', (cmd) => {
      if (cmd.optsWithGlobals().debug) setRootLogger(createLogger('debug'));
    });
  program.addHelpText(
    'after',
    `
Examples:
  millrace demo -c examples/local.yaml   from nothing to live predictions on this machine
  millrace init                          write a commented millrace.yaml
  millrace validate -c millrace.yaml     check a config and list every problem
  millrace synth -c examples/aws.yaml    write the AWS stack as Terraform JSON
  millrace up --target aws               create the EC2 nodes and bootstrap them
  millrace status                        every service on every node, and its security state
  millrace verify                        prove the security posture: a pass/fail table
  millrace down --target aws --yes       destroy everything millrace created

Exit codes: 0 done, 1 failure, 2 usage or config error.`,
  );
  registerInit(program);
  registerValidate(program);
  registerInfra(program);
  registerOps(program);
  registerDescribe(program);
  registerVerify(program);
  registerDemo(program);
  registerCredentials(program);
  registerDoctor(program);
  registerData(program);
  registerJobs(program);
  registerCache(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug') || process.env.LOG_LEVEL === 'debug' || !!process.env.MILLRACE_DEBUG;
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    const { exitCode, text } = renderError(error, debug);
    if (text) process.stderr.write(text + '\n');
    return exitCode;
  }
}

if (require.main === module) {
  // The only place that ends the process with a code.
  void main(process.argv).then((code) => process.exit(code));
}
