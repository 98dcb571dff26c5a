/** `millrace verify`: prove the cluster's security posture, on any target, at any time. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { HealthCheckError } from '../../lib/errors';
import { operatorBrokers, readInventory } from '../../lib/inventory';
import { logger } from '../../lib/logger';
import { clusterStateDir } from '../../lib/paths';
import { ADMIN_PRINCIPAL } from '../../lib/principals';
import { clientCredentials, clusterSecretValues, loadFacts, requireClusterState } from '../../provisioning/cluster-state';
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
  - Spark: authentication, RPC and disk encryption, UI TLS are on; RPC (7077, 7078) is TLS
    verified against the cluster CA; the UI kill endpoint is off; an application without the
    secret is refused, one with it connects
  - Kafka super users: super.users is exactly the brokers' identities and admin
  - flows: every port a node listens on is one the flow table (lib/flows.ts) has for its
    roles, and every port the table has for it listens
  - TLS versions: every TLS port refuses TLS 1.0 and 1.1 and accepts 1.2
  - KMS ACLs: only hdfs manages keys and generates data keys, only spark decrypts; a user the
    ACL does not name is refused decrypting
  - /lake: owned by spark, not writable by others, an encryption zone
  - certificates: every certificate a TLS port presents, and each node's certificate files,
    has at least 14 days left
  - HDFS RPC: a WARN, not a pass: without Kerberos a client can claim any user name
  - secrets: no secret appears in any node's process list
  - config: no security-critical override is set (one acknowledged in kafka.unsafe,
    hdfs.unsafe or spark.unsafe fails, named, for as long as it is set)

Exits 0 only if every check passes (a WARN does not fail it).`,
    )
    .action(async function (this: Command) {
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const log = logger();
      const started = Date.now();
      // verify only reads: a lost CA or secret is named before any connection, and never re-made.
      requireClusterState(config.name, inventory);
      const rows = await withHosts(config, inventory, async (hosts) => {
        const facts = await loadFacts(config, inventory);
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
          hint: 'a config override may have weakened the cluster (kafka.overrides, spark.overrides, hdfs.overrides, and the keys acknowledged in kafka.unsafe, spark.unsafe, hdfs.unsafe); remove it and run `millrace up`',
        });
    });
}
