import { Command } from 'commander';
import { logger } from '../../lib/logger';
import { configFor, configPath, output } from '../context';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check the cluster config and list every problem with its path (-c, or MILLRACE_CONFIG, or ./millrace.yaml)')
    .action(function (this: Command) {
      const config = configFor(this);
      logger().debug({ file: configPath(this), target: config.target, nodes: config.nodes.length }, 'config is valid');
      output(
        this,
        `ok: cluster "${config.name}", target ${config.target}, ${config.nodes.length} nodes (${config.nodes
          .map((n) => `${n.name}: ${n.roles.join('+')}`)
          .join(', ')})`,
        config,
      );
    });
}
