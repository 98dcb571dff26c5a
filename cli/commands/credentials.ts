/**
 * `millrace credentials`: a Kafka client identity for any client. A certificate from the cluster
 * CA (CN = the principal) as PEM for kafkajs and librdkafka clients, a client.properties for Java
 * clients (which read PEM too), and a PKCS#12 keystore with a JKS truststore for clients that only
 * take those, built on a Kafka node with its keytool and openssl.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { operatorBrokers, readInventory } from '../../lib/inventory';
import { checkPrincipal, PIPELINE_PRINCIPAL } from '../../lib/principals';
import { clientCredentials } from '../../provisioning/cluster-state';
import { buildClientStores, planClientStores } from '../../provisioning/keystores';
import { render, sortedProperties } from '../../templates/render';
import { withHosts } from '../bootstrap';
import { configFor, output } from '../context';

export function registerCredentials(program: Command): void {
  program
    .command('credentials')
    .description('write a Kafka client certificate (PEM, Java keystore and truststore) for a principal, and how to use it')
    .option('--principal <name>', 'the principal (the certificate CN); ACLs decide what it may do', PIPELINE_PRINCIPAL)
    .option('-o, --out <dir>', 'where to write the files (default ./credentials/<principal>)')
    .option('--no-java-stores', 'skip the PKCS#12 keystore and JKS truststore (they are built on a Kafka node)')
    .addHelpText('after', '\nThe private key and the store password are written 0600. `millrace topics create <topic> --principal <name>` grants a principal a topic.')
    .action(async function (this: Command, opts: { principal: string; out?: string; javaStores: boolean }) {
      checkPrincipal(opts.principal);
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const dir = path.resolve(opts.out ?? path.join('credentials', opts.principal));
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const c = await clientCredentials(config.name, opts.principal);
      const file = (name: string): string => path.join(dir, name);
      fs.writeFileSync(file('ca.pem'), c.caPem);
      fs.writeFileSync(file(`${opts.principal}.crt`), c.certPem);
      fs.writeFileSync(file(`${opts.principal}.key`), c.keyPem, { mode: 0o600 });
      fs.chmodSync(file(`${opts.principal}.key`), 0o600);
      const brokers = operatorBrokers(inventory);
      const keystorePem = file(`${opts.principal}.keystore.pem`);
      fs.writeFileSync(keystorePem, c.keyPem + c.certPem, { mode: 0o600 });
      fs.chmodSync(keystorePem, 0o600);
      fs.writeFileSync(file('client.properties'), clientPropertiesFile(opts.principal, brokers, keystorePem, file('ca.pem')));
      const written = ['ca.pem', `${opts.principal}.crt`, `${opts.principal}.key`, `${opts.principal}.keystore.pem`, 'client.properties'];
      if (opts.javaStores) {
        const kafkaNode = inventory.nodes.find((n) => n.roles.includes('kafka'))!;
        const password = crypto.randomBytes(18).toString('base64url');
        await withHosts(config, { ...inventory, nodes: [kafkaNode] }, async (hosts) => {
          // The same script that builds the services' stores; the password stays in a file.
          const stores = await buildClientStores(hosts.get(kafkaNode.name)!, planClientStores(opts.principal, c, password));
          fs.writeFileSync(file('keystore.p12'), stores.keystore, { mode: 0o600 });
          fs.writeFileSync(file('truststore.jks'), stores.truststore);
        });
        fs.writeFileSync(file('store.password'), password + '\n', { mode: 0o600 });
        written.push('keystore.p12', 'truststore.jks', 'store.password');
      }
      const human = `wrote ${written.length} files to ${dir} for User:${opts.principal}:
  ${written.join(', ')}

kafkajs:
  new Kafka({ brokers: ${JSON.stringify(brokers)}, ssl: {
    ca: [fs.readFileSync('${file('ca.pem')}', 'utf8')],
    cert: fs.readFileSync('${file(`${opts.principal}.crt`)}', 'utf8'),
    key: fs.readFileSync('${file(`${opts.principal}.key`)}', 'utf8') } })
Java clients and Kafka's tools:  --command-config ${file('client.properties')}  (or --producer.config / --consumer.config)
librdkafka: security.protocol=ssl ssl.ca.location=${file('ca.pem')} ssl.certificate.location=${file(`${opts.principal}.crt`)} ssl.key.location=${file(`${opts.principal}.key`)}${
        opts.javaStores ? `\nJKS/PKCS#12 clients: keystore.p12 and truststore.jks, password in store.password` : ''
      }`;
      output(this, human, { principal: opts.principal, dir, brokers, files: written.map((f) => file(f)) });
    });
}

/** client.properties for Java clients on the operator's machine: the PEM key store and the CA, over TLS. */
export function clientPropertiesFile(principal: string, brokers: string[], keystorePem: string, caPem: string): string {
  return render('credentials/client.properties', {
    principal,
    properties: sortedProperties({
      'bootstrap.servers': brokers.join(','),
      'security.protocol': 'SSL',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': keystorePem,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': caPem,
    }),
  });
}
