/** `describe`: the cluster's nodes and endpoints, from its inventory, for any target. */
import { Command } from 'commander';
import { Inventory, operatorBrokers, readInventory } from '../../lib/inventory';
import { portNumber, type Role } from '../../lib/roles';
import { configFor, output } from '../context';
import { formatTable } from '../table';

export interface Endpoint {
  name: string;
  /** Where it is reached from: the operator's machine, or inside the cluster network. */
  from: 'operator' | 'cluster';
  url: string;
}

/** Pure: every endpoint a user asks for, from the inventory alone. */
export function endpoints(inventory: Pick<Inventory, 'nodes'>): Endpoint[] {
  const withRole = (role: Role) => inventory.nodes.filter((n) => n.roles.includes(role));
  const at = (role: Role, port: string, scheme: string, suffix = '') =>
    withRole(role).map((n) => `${scheme}${n.privateAddress}:${portNumber(role, port)}${suffix}`);
  // The web UIs are for the operator (lib/flows.ts): at a node's public address when it has one.
  const ui = (role: Role, port: string) => withRole(role).map((n) => `https://${n.publicAddress ?? n.privateAddress}:${portNumber(role, port)}`);
  const list: [string, 'operator' | 'cluster', string[]][] = [
    ['Kafka bootstrap servers', 'operator', [operatorBrokers(inventory).join(',')]],
    ['Kafka bootstrap servers', 'cluster', [at('kafka', 'kafka-client', '').join(',')]],
    ['HDFS', 'cluster', at('namenode', 'namenode-rpc', 'hdfs://')],
    ['NameNode UI', 'operator', ui('namenode', 'namenode-https')],
    ['DataNode UIs', 'operator', ui('datanode', 'datanode-https')],
    ['KMS', 'cluster', at('kms', 'kms-https', 'https://', '/kms')],
    ['Spark master', 'cluster', at('spark-master', 'spark-master-rpc', 'spark://')],
    ['Spark master UI', 'operator', ui('spark-master', 'spark-master-https')],
    ['Spark worker UIs', 'operator', ui('spark-worker', 'spark-worker-https')],
  ];
  return list.flatMap(([name, from, urls]) => urls.filter(Boolean).map((url) => ({ name, from, url })));
}

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .description("the cluster's nodes (roles, SSH, addresses) and its endpoints (Kafka bootstrap servers, HDFS, KMS, Spark, UIs), from its inventory")
    .addHelpText('after', '\nNothing is contacted: this reads what `up` recorded. `millrace status` checks that the services answer.')
    .action(function (this: Command) {
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const eps = endpoints(inventory);
      const nodes = formatTable([
        ['NODE', 'ROLES', 'SSH', 'PRIVATE', 'PUBLIC', 'ID'],
        ...inventory.nodes.map((n) => [n.name, n.roles.join('+'), `${n.sshUser}@${n.sshAddress}:${n.sshPort}`, n.privateAddress, n.publicAddress ?? '-', n.id ?? '-']),
      ]);
      const eTable = formatTable([['ENDPOINT', 'FROM', 'URL'], ...eps.map((e) => [e.name, e.from, e.url])]);
      output(this, `cluster "${inventory.cluster}" (target ${inventory.target}, since ${inventory.createdAt})\n\n${nodes}\n\n${eTable}`, {
        cluster: inventory.cluster,
        target: inventory.target,
        createdAt: inventory.createdAt,
        nodes: inventory.nodes,
        endpoints: eps,
      });
    });
}
