import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { assetPath } from '../../lib/assets';
import { UsageError } from '../../lib/errors';
import { globals, output } from '../context';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented example cluster config (default ./millrace.yaml)')
    .option('--force', 'overwrite an existing file')
    .action(function (this: Command, opts: { force?: boolean }) {
      const file = path.resolve(globals(this).config);
      if (fs.existsSync(file) && !opts.force)
        throw new UsageError(`${file} already exists`, { hint: 'pass --force to overwrite it, or -c <path> to write elsewhere' });
      fs.copyFileSync(assetPath('examples', 'millrace.yaml'), file);
      output(this, `wrote ${file}\nnext: edit it, then run \`millrace validate -c ${path.relative(process.cwd(), file) || file}\``, { file });
    });
}
