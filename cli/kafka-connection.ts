/**
 * How the operator's machine reaches the cluster's Kafka: the brokers from the inventory, the
 * cluster CA to verify them, and a client certificate whose CN is the principal the brokers'
 * ACLs name (User:<principal>). The certificate is issued on first use and reused after.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../lib/config';
import { MillraceError } from '../lib/errors';
import { operatorBrokers, readInventory } from '../lib/inventory';
import { clusterStateDir } from '../lib/paths';
import { checkPrincipal } from '../lib/principals';
import type { KafkaConnection } from '../producers/kafka-types';
import { ClusterCa } from '../provisioning/pki/cluster-ca';

export async function kafkaConnectionFor(config: ClusterConfig, principal: string): Promise<KafkaConnection> {
  checkPrincipal(principal);
  const inventory = readInventory(config.name);
  const brokers = operatorBrokers(inventory);
  if (brokers.length === 0)
    throw new MillraceError(`cluster ${config.name} has no kafka node in its inventory`, { hint: 'check the nodes in the config and run `millrace up`' });
  const pkiDir = path.join(clusterStateDir(config.name), 'pki');
  // ClusterCa.open would make a new CA if none exists, and no broker would trust its certificates.
  if (!fs.existsSync(path.join(pkiDir, 'ca.crt')) || !fs.existsSync(path.join(pkiDir, 'ca.key')))
    throw new MillraceError(`cluster ${config.name} has no CA in ${pkiDir}`, { hint: 'run `millrace up` first; it creates the CA and the broker certificates' });
  const ca = await ClusterCa.open(pkiDir, config.name);
  const leaf = await ca.issue({ name: principal, usage: 'client', dnsNames: [], ipAddresses: [] });
  return {
    brokers,
    client: config.kafka.client,
    clientId: `millrace-${principal}`,
    tls: { caPem: fs.readFileSync(path.join(pkiDir, 'ca.crt'), 'utf8'), certPem: leaf.certPem, keyPem: leaf.keyPem },
  };
}
