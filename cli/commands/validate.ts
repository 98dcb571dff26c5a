import { Command } from 'commander';
import { configFor, output } from '../context';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check the cluster config and list every problem with its path')
    .action(function (this: Command) {
      const config = configFor(this);
      output(
        this,
        `ok: cluster "${config.name}", target ${config.target}, ${config.nodes.length} nodes (${config.nodes
          .map((n) => `${n.name}: ${n.roles.join('+')}`)
          .join(', ')})`,
        config,
      );
    });
}
