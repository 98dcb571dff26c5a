import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { CLUSTER_NAME, TARGETS, type Target } from '../../lib/config';
import { assetPath } from '../../lib/assets';
import { UsageError } from '../../lib/errors';
import { checkOutputFile } from '../../lib/paths';
import { render } from '../../templates/render';
import { configPath, output } from '../context';

/** A commented config for a target (templates/init/<target>.yaml.hbs). */
export function initTemplate(target: Target, name: string, file = 'millrace.yaml'): string {
  return render(`init/${target}.yaml`, { name, file, schema: assetPath('schemas', 'millrace.schema.json') });
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented cluster config for a target (default ./millrace.yaml, or -c / MILLRACE_CONFIG)')
    .addOption(new Option('-t, --target <target>', 'where the nodes come from').choices(TARGETS).default('local'))
    .option('--name <name>', 'cluster name, a lowercase DNS label', 'demo')
    .option('--force', 'overwrite an existing file')
    .addHelpText(
      'after',
      '\nThe local config validates as written. The aws and static ones hold YOUR_... placeholders (your\npublic IP, the hosts\' addresses) that `millrace validate` names until you replace them.',
    )
    .action(function (this: Command, opts: { target: Target; name: string; force?: boolean }) {
      if (!CLUSTER_NAME.test(opts.name))
        throw new UsageError(`--name "${opts.name}" is not a valid cluster name`, { hint: 'use a lowercase DNS label of 3 to 32 characters (a-z, 0-9, -), e.g. --name analytics' });
      const file = checkOutputFile(configPath(this), `config file ${configPath(this)}`, {
        overwrite: !!opts.force,
        existsHint: 'pass --force to overwrite it, or -c <path> to write elsewhere',
      });
      const shown = path.relative(process.cwd(), file) || file;
      fs.writeFileSync(file, initTemplate(opts.target, opts.name, shown));
      const next =
        opts.target === 'local'
          ? `next: \`millrace validate -c ${shown}\`, then \`millrace up -c ${shown}\``
          : `next: replace the YOUR_... placeholders in it, then run \`millrace validate -c ${shown}\``;
      output(this, `wrote ${file} (target ${opts.target}, cluster "${opts.name}")\n${next}`, { file, target: opts.target, name: opts.name });
    });
}
