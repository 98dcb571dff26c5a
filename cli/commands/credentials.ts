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
import { UsageError } from '../../lib/errors';
import { clusterStateDir } from '../../lib/paths';
import { checkClientPrincipal, isSuperUser, PIPELINE_PRINCIPAL } from '../../lib/principals';
import { requireClusterState } from '../../provisioning/cluster-state';
import { CLIENT_DAYS_DEFAULT, ClusterCa, MAX_LEAF_DAYS } from '../../provisioning/pki/cluster-ca';
import { pemCertificates } from '../../provisioning/pki/expiry';
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
    .option('--superuser', 'allow the Kafka super-user principal (admin): every topic, group and ACL')
    .option('--days <n>', `how long the certificate is valid, 1 to ${MAX_LEAF_DAYS} days`, String(CLIENT_DAYS_DEFAULT))
    .addHelpText(
      'after',
      '\nThe private key and the store password are written 0600. `millrace topics create <topic> --principal <name>` grants a principal a topic.\n' +
        'Refused: wildcards, the names of the cluster\'s nodes, and the super-user principal admin unless --superuser is given.\n' +
        `Each run issues a new certificate, valid for --days (default ${CLIENT_DAYS_DEFAULT}: a lost one stops working within a month, as there is\n` +
        'no revocation); run it again to renew. The key is not kept in the cluster state, only the certificate, so `millrace status`\n' +
        'can show when it expires.',
    )
    .action(async function (this: Command, opts: { principal: string; out?: string; javaStores: boolean; superuser?: boolean; days: string }) {
      const days = parseDays(opts.days);
      const config = configFor(this);
      checkClientPrincipal(opts.principal, { nodeNames: config.nodes.map((n) => n.name), superuser: opts.superuser });
      if (isSuperUser(opts.principal))
        process.stderr.write(`warning: User:${opts.principal} is a Kafka super user: whoever holds this certificate can read, write and delete every topic and change every ACL. Keep its key to yourself.\n`);
      const inventory = readInventory(config.name);
      const dir = path.resolve(opts.out ?? path.join('credentials', opts.principal));
      // Only from the CA `up` made: a new one would sign certificates no broker trusts. Checked
      // before anything is written, so a refused run leaves no empty credentials directory behind.
      requireClusterState(config.name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const ca = await ClusterCa.open(path.join(clusterStateDir(config.name), 'pki'), config.name);
      const c = await ca.issueHandedOut({ name: opts.principal, dnsNames: [], ipAddresses: [], days });
      const notAfter = pemCertificates(c.certPem)[0]!.notAfter;
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
      const human = `wrote ${written.length} files to ${dir} for User:${opts.principal}, valid for ${days} day(s), until about ${notAfter.toISOString().slice(0, 16)}Z:
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
      output(this, human, { principal: opts.principal, dir, brokers, days, notAfter: notAfter.toISOString(), files: written.map((f) => file(f)) });
    });
}

/** --days: a whole number of days, 1 to MAX_LEAF_DAYS; anything else is a usage error (exit 2). */
export function parseDays(value: string): number {
  const days = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_LEAF_DAYS)
    throw new UsageError(`--days must be a whole number of days from 1 to ${MAX_LEAF_DAYS}, not "${value}"`, {
      hint: `client certificates are short-lived on purpose: the default is ${CLIENT_DAYS_DEFAULT}; renew by running \`millrace credentials\` again before they expire`,
    });
  return days;
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
