/** `millrace verify`: prove the cluster's security posture, on any target, at any time. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { HealthCheckError } from '../../lib/errors';
import { operatorBrokers, readInventory } from '../../lib/inventory';
import { logger } from '../../lib/logger';
import { clusterStateDir } from '../../lib/paths';
import { ADMIN_PRINCIPAL } from '../../lib/principals';
import { buildFacts, clientCredentials, clusterSecretValues } from '../../provisioning/cluster-state';
import { formatVerify, runVerify } from '../../provisioning/verify';
import { INTRUDER_PRINCIPAL } from '../../provisioning/verify/kafka';
import { withHosts } from '../bootstrap';
import { configFor, output } from '../context';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check the cluster's security promises against the live cluster: a pass/fail table")
    .addHelpText(
      'after',
      `
Checks (each refusal is paired with a control that shows the target was reachable):
  - Kafka: listeners are TLS with client auth; a plaintext client, a client without a
    certificate and a principal without ACLs are refused; the admin principal gets in
  - ports: each node listens on exactly the declared ports; each TLS port verifies against the
    cluster CA; Spark's plain HTTP ports only redirect to HTTPS
  - HDFS: the encryption zone exists; a marker file written into it is absent from the raw
    block files on disk, while the same file outside the zone is found there
  - Spark: authentication, RPC and disk encryption, UI TLS are on; an application without the
    secret is refused, one with it connects
  - secrets: no secret appears in any node's process list

Exits 0 only if every check passes.`,
    )
    .action(async function (this: Command) {
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const log = logger();
      const started = Date.now();
      const rows = await withHosts(config, inventory, async (hosts) => {
        const facts = await buildFacts(config, inventory);
        const admin = await clientCredentials(config.name, ADMIN_PRINCIPAL);
        const intruder = await clientCredentials(config.name, INTRUDER_PRINCIPAL);
        return runVerify({
          facts,
          hosts,
          kafka: {
            // From here, the way the operator's clients reach the brokers.
            brokers: operatorBrokers(inventory),
            caPem: fs.readFileSync(path.join(clusterStateDir(config.name), 'pki', 'ca.crt'), 'utf8'),
            admin,
            intruder,
          },
          secrets: clusterSecretValues(config.name),
          report: (m) => process.stderr.write(`verify: ${m}\n`),
        });
      });
      const failed = rows.filter((r) => !r.ok);
      log.debug({ seconds: (Date.now() - started) / 1000, failed: failed.length }, 'verify done');
      output(this, formatVerify(rows), { cluster: config.name, ok: failed.length === 0, checks: rows });
      if (failed.length)
        throw new HealthCheckError(`${failed.length} of ${rows.length} security checks failed: ${failed.map((r) => `${r.check} (${r.target})`).join('; ')}`, {
          hint: 'a config override may have weakened the cluster (kafka.overrides, spark.overrides, hdfs.overrides); fix it and run `millrace up`',
        });
    });
}
