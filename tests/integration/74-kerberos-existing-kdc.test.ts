/**
 * Kerberos with an existing KDC (kerberos.kdc), as a company's network has one, on a host of its
 * own: the kerberized shared cluster (70, 72) moves to its realm, with the cluster's principals made
 * there through its kadmin server, and millrace's own KDC stopped. It runs after the pipeline on
 * the kerberized cluster (72), last before teardown.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { clusterKnownHosts } from '../../provisioning/known-hosts';
import { connect, type RemoteHost } from '../../provisioning/remote-host';
import { ADDRESSES, allowThroughFirewall, cli, CLUSTER_YAML, ENV, node, SPARK_FS_SHELL, TEST_DIR, writeConfig } from './harness';

/**
 * An existing KDC, as a company's network has one: its own host (a local node of another cluster,
 * booted and never provisioned by millrace), an MIT KDC and kadmind that the test sets up as that
 * KDC's administrator would, with tickets that expire within the test (3 minutes) and an admin
 * principal for millrace whose password millrace gets from the environment.
 */
const CORP = { cluster: 'itest-corp', address: '127.0.0.36', realm: 'CORP.ITEST', admin: 'millrace/admin', password: crypto.randomBytes(18).toString('base64url') };
const CORP_HOST = writeConfig(
  path.join(TEST_DIR, 'corp-kdc-host.yaml'),
  `name: ${CORP.cluster}\ntarget: local\nkerberos: { enabled: false }\nnodes:\n  - { name: corp-kdc, roles: [kafka, namenode, datanode], address: ${CORP.address} }\nartifacts:\n  source: maven\n`,
);
/** Kerberos with the existing KDC, its realm's tickets expiring within the test. */
const EXISTING = writeConfig(
  path.join(TEST_DIR, 'kerberos-existing-kdc.yaml'),
  `${CLUSTER_YAML}kerberos:\n  enabled: true\n  realm: ${CORP.realm}\n  kdc: ${CORP.address}\n  admin: { principal: ${CORP.admin}, passwordEnv: ITEST_KADMIN_PASSWORD }\n  ticketLifetime: 3m\n`,
);
const KADMIN_ENV = { ...ENV, ITEST_KADMIN_PASSWORD: CORP.password };

afterAll(async () => {
  await cli(['down', '--yes', '-c', CORP_HOST]);
});

/** The existing KDC's host, booted and reached over SSH; `fn` runs with it. */
async function onCorpKdc<T>(fn: (host: RemoteHost) => Promise<T>): Promise<T> {
  const n = readInventory(CORP.cluster).nodes[0]!;
  const host = await connect(n, { knownHosts: clusterKnownHosts(CORP.cluster) });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

/**
 * Boots the existing KDC's host and sets up MIT Kerberos there the way its administrator would:
 * the realm, tickets of at most 3 minutes, kadmind on 749, and an admin principal for millrace
 * allowed to add, inquire, modify and re-key the realm's two-part principals (kadm5.acl "aicm").
 */
async function startCorpKdc(): Promise<void> {
  await cli(['down', '--yes', '-c', CORP_HOST]);
  const boot = await cli(['up', '--infra-only', '-c', CORP_HOST]);
  if (boot.code !== 0) throw new Error(`could not boot the existing KDC's host (exit ${boot.code}):\n${boot.stderr.slice(-3000)}`);
  // The host's own firewall (a local node's) knows nothing of a KDC: the corporate network lets
  // everyone on it reach the KDC, kadmind and kpasswd.
  for (const port of [88, 749, 464]) allowThroughFirewall(CORP.cluster, '127.0.0.0/8', CORP.address, port);
  const krb5 = `[libdefaults]\n  default_realm = ${CORP.realm}\n  dns_lookup_kdc = false\n  dns_canonicalize_hostname = false\n  rdns = false\n[realms]\n  ${CORP.realm} = {\n    kdc = ${CORP.address}:88\n    admin_server = ${CORP.address}:749\n  }\n`;
  const kdc = [
    '[kdcdefaults]',
    `  kdc_listen = ${CORP.address}:88`,
    `  kdc_tcp_listen = ${CORP.address}:88`,
    '[realms]',
    `  ${CORP.realm} = {`,
    '    database_name = /var/lib/krb5kdc/principal',
    '    key_stash_file = /etc/krb5kdc/stash',
    '    acl_file = /etc/krb5kdc/kadm5.acl',
    `    kadmind_listen = ${CORP.address}:749`,
    `    kpasswd_listen = ${CORP.address}:464`,
    '    max_life = 180s',
    '    max_renewable_life = 180s',
    '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
    '  }',
    '[logging]',
    '  kdc = SYSLOG:INFO:DAEMON',
    '  admin_server = SYSLOG:INFO:DAEMON',
    '',
  ].join('\n');
  await onCorpKdc((host) =>
    host.execOrThrow(
      [
        'set -e; export DEBIAN_FRONTEND=noninteractive',
        'printf "#!/bin/sh\\nexit 101\\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d',
        'apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends krb5-kdc krb5-admin-server krb5-user >/dev/null',
        'rm -f /usr/sbin/policy-rc.d',
        `printf '%s' '${krb5}' > /etc/krb5.conf`,
        `printf '%s' '${kdc}' > /etc/krb5kdc/kdc.conf`,
        `echo '${CORP.admin}@${CORP.realm} aicm */*@${CORP.realm}' > /etc/krb5kdc/kadm5.acl`,
        'IFS= read -r pw',
        `if [ ! -f /var/lib/krb5kdc/principal ]; then m=$(head -c 32 /dev/urandom | base64 -w0); printf '%s\\n%s\\n' "$m" "$m" | kdb5_util -r ${CORP.realm} create -s >/dev/null; fi`,
        `printf '%s\\n%s\\n' "$pw" "$pw" | kadmin.local -q 'addprinc ${CORP.admin}' >/dev/null`,
        'systemctl enable --quiet krb5-kdc krb5-admin-server && systemctl restart krb5-kdc krb5-admin-server',
        `for i in $(seq 60); do ss -ltn | grep -q '${CORP.address}:749 ' && ss -ltn | grep -q '${CORP.address}:88 ' && exit 0; sleep 1; done; echo 'the KDC or kadmind did not listen' >&2; exit 1`,
      ].join('\n'),
      { stdin: `${CORP.password}\n`, what: 'set up the existing KDC' },
    ),
  );
}

describe('Kerberos with an existing KDC', () => {
  it('an existing KDC (kerberos.kdc) on a host of its own: without or with a wrong admin password up stops, naming the variable or the admin principal; with it, the cluster\'s principals are made there, up converges, and a second up changes nothing', async () => {
    await startCorpKdc();
    const unset = await cli(['up', '--json', '-c', EXISTING]);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/\$ITEST_KADMIN_PASSWORD is not set; millrace needs the password of millrace\/admin@CORP\.ITEST/);
    const wrongPassword = `wrong-${crypto.randomBytes(6).toString('hex')}`;
    const wrong = await cli(['up', '--json', '-c', EXISTING], { env: { ...ENV, ITEST_KADMIN_PASSWORD: wrongPassword } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/could not set up the cluster's principals through the kadmin server 127\.0\.0\.36:749/);
    expect(wrong.stderr).toMatch(/the admin principal millrace\/admin@CORP\.ITEST could not log in/);
    expect(wrong.stderr).toMatch(/check the password in \$ITEST_KADMIN_PASSWORD/);
    expect(wrong.stderr).not.toContain(wrongPassword);

    const on = await cli(['up', '--json', '-c', EXISTING], { env: KADMIN_ENV });
    expect(on.stderr.slice(-3000)).not.toMatch(/error:/);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain('stopped the KDC');
    expect(`${on.stdout}${on.stderr}`).not.toContain(CORP.password);
    // The principals are in the existing KDC, made by millrace's admin principal through kadmind.
    const principals = await onCorpKdc(async (host) => (await host.execOrThrow('kadmin.local -q listprincs')).split('\n').map((l) => l.trim()));
    for (const p of [`nn/${ADDRESSES['hdfs-1']}`, `dn/${ADDRESSES['hdfs-1']}`, `HTTP/${ADDRESSES['hdfs-1']}`, `spark/${ADDRESSES['spark-1']}`]) expect(principals).toContain(`${p}@${CORP.realm}`);
    const spark = await node('spark-1');
    try {
      const krb5 = await spark.execOrThrow('cat /etc/krb5.conf');
      expect(krb5).toContain(`kdc = ${CORP.address}:88`);
      expect(krb5).toContain(`admin_server = ${CORP.address}:749`);
      expect((await spark.execOrThrow("stat -c '%a %U' /etc/millrace/keytabs/spark.keytab")).trim()).toBe('400 spark');
      // Spark's ticket now comes from the existing KDC, and HDFS takes it.
      const ls = await spark.exec(`${SPARK_FS_SHELL} -ls /lake`);
      expect(`${ls.code} ${ls.stderr.slice(-1500)}`).toMatch(/^0 /);
    } finally {
      await spark.close();
    }
    // Nothing of the admin session is left on the namenode's node, which ran kadmin; millrace's own KDC stays stopped.
    const hdfs = await node('hdfs-1');
    try {
      expect((await hdfs.exec("grep -rl 'millrace/admin' /tmp /var/tmp 2>/dev/null | wc -l")).stdout.trim()).toBe('0');
      expect((await hdfs.exec('systemctl is-active krb5-kdc.service')).stdout.trim()).not.toBe('active');
    } finally {
      await hdfs.close();
    }
    const again = await cli(['up', '--json', '-c', EXISTING], { env: KADMIN_ENV });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/no changes|"changed":\s*false/);
  }, 20 * 60_000);
});
