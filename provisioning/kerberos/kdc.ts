/**
 * The KDC and the keytabs, over SSH. `ensureKdc` runs once per `up`, before the nodes are
 * provisioned in parallel: it installs MIT Kerberos on the kdc node, creates the realm (its master
 * key made and kept on that node only), starts krb5kdc and creates every principal with a random
 * key. `ensureKeytabs` then runs on each node after its users exist: a keytab that still gets a
 * ticket from the KDC stays as it is; a missing or stale one is exported on the KDC node
 * (`ktadd -norandkey`, so other copies stay valid), carried in memory over SSH, never written on
 * the operator's machine or shown in a log or a command line, and installed 0400 for its user.
 */
import type { Logger } from 'pino';
import { MillraceError } from '../../lib/errors';
import { ROLE_PORTS } from '../../lib/roles';
import { waitFor } from '../../lib/retry';
import { cmd, q } from '../../lib/shell';
import type { RemoteHost } from '../remote-host';
import type { FileSpec, HealthReport, NodeContext, Service } from '../service';
import { portOpenCommand, report, unitAndPortChecks } from '../services/java-service';
import { syncFiles } from '../sync-files';
import { kdcConf, krb5Conf, KEYTAB_DIR, type KerberosFacts, type KeytabSpec } from './realm';

export const KDC_UNIT = 'krb5-kdc.service';
export const KDC_PORT = ROLE_PORTS.kdc[0]!.port;
const KDC_CONF = '/etc/krb5kdc/kdc.conf';
const KADM5_ACL = '/etc/krb5kdc/kadm5.acl';
const KDC_DB = '/var/lib/krb5kdc/principal';
export const KDC_APT = ['krb5-kdc', 'krb5-admin-server', 'krb5-user'];
export const KDC_DNF = ['krb5-server', 'krb5-workstation'];
export const CLIENT_APT = ['krb5-user'];
export const CLIENT_DNF = ['krb5-workstation'];

/**
 * The KDC's files: the realm's config and an empty admin ACL (no remote kadmin: millrace uses
 * kadmin.local over SSH). Its /etc/krb5.conf is every node's (plan.ts), written before the keytabs.
 */
export function kdcFiles(k: KerberosFacts): FileSpec[] {
  return [
    { path: KDC_CONF, content: kdcConf(k), mode: 0o644, owner: 'root', restarts: [KDC_UNIT] },
    // Debian's unit passes DAEMON_ARGS: serve this realm whatever krb5.conf's default realm is when the KDC first starts.
    { path: '/etc/default/krb5-kdc', content: `# Rendered by millrace.\nDAEMON_ARGS="-r ${k.realm}"\n`, mode: 0o644, owner: 'root', restarts: [KDC_UNIT] },
    { path: KADM5_ACL, content: '# No remote administration: millrace runs kadmin.local on this node.\n', mode: 0o600, owner: 'root', restarts: [KDC_UNIT] },
  ];
}

const kadmin = (k: KerberosFacts, query: string): string => cmd('kadmin.local', '-r', k.realm, '-q', query);

/**
 * Packages, realm, KDC, principals. Checks first at every step; returns what it changed. The
 * master key is random, made on the node and piped to kdb5_util (never an argument), and kept
 * only in the KDC's stash file (0600 root), like the CA key on the operator's side.
 */
export async function ensureKdc(k: KerberosFacts, host: RemoteHost, principals: string[], log: Logger): Promise<string[]> {
  const changed: string[] = [];
  const missing = (await host.exec(`for p in ${KDC_APT.join(' ')}; do dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done`)).stdout.trim();
  if (missing) {
    log.info({ packages: missing.split('\n') }, 'installing MIT Kerberos on the KDC node');
    // Debian's packages would start the KDC and kadmind on a default config: keep them stopped until ours is written.
    await host.execOrThrow(
      'export DEBIAN_FRONTEND=noninteractive; own=0; if [ ! -e /usr/sbin/policy-rc.d ]; then own=1; printf "#!/bin/sh\\nexit 101\\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; fi; ' +
        `apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends ${missing.split('\n').join(' ')}; rc=$?; [ $own = 1 ] && rm -f /usr/sbin/policy-rc.d; exit $rc`,
      { what: `install ${missing.split('\n').join(', ')} on the KDC node` },
    );
    changed.push(`packages ${missing.split('\n').join(' ')}`);
  }
  const files = await syncFiles(host, kdcFiles(k));
  changed.push(...files.map((f) => f.path));
  if ((await host.exec(`test -f ${KDC_DB}`)).code !== 0) {
    log.info({ realm: k.realm }, 'creating the Kerberos realm');
    await host.execOrThrow(
      `umask 077; pw=$(head -c 48 /dev/urandom | base64 -w0); printf '%s\\n%s\\n' "$pw" "$pw" | kdb5_util -r ${q(k.realm)} create -s >/dev/null; rc=$?; unset pw; exit $rc`,
      { what: `create the Kerberos realm ${k.realm}` },
    );
    changed.push(`realm ${k.realm}`);
  }
  // kadmind is not needed (no remote administration) and would open 749 and 464.
  await host.exec('systemctl disable --now krb5-admin-server.service >/dev/null 2>&1; systemctl mask krb5-admin-server.service >/dev/null 2>&1; true');
  const active = (await host.exec(`systemctl is-active ${KDC_UNIT}`)).stdout.trim() === 'active';
  if (!active || files.length) {
    await host.execOrThrow(`systemctl enable --quiet ${KDC_UNIT} && systemctl restart ${KDC_UNIT}`, { what: 'start the KDC' });
    changed.push(active ? 'restarted the KDC' : 'started the KDC');
  }
  await waitForKdc(k, host);
  const existing = new Set((await host.execOrThrow(kadmin(k, 'listprincs'), { what: 'list the Kerberos principals' })).split('\n').map((l) => l.trim()));
  const life = `${k.ticketLifetimeSeconds} seconds`;
  const newPrincipals = principals.filter((p) => !existing.has(p));
  // One SSH round trip for all of them (kadmin.local per command, stopping at the first failure).
  // Lifetimes follow the config (kerberos.ticketLifetime), for the ticket-granting service too.
  const commands = [
    ...newPrincipals.map((p) => kadmin(k, `addprinc -randkey -maxlife "${life}" -maxrenewlife "${life}" ${p}`)),
    ...[`krbtgt/${k.realm}@${k.realm}`, ...principals].map((p) => kadmin(k, `modprinc -maxlife "${life}" -maxrenewlife "${life}" ${p}`)),
  ];
  await host.execOrThrow(commands.join(' && '), {
    what: newPrincipals.length ? `create the principals ${newPrincipals.join(', ')} and set ticket lifetimes` : 'set the ticket lifetimes of the principals',
  });
  changed.push(...newPrincipals.map((p) => `principal ${p}`));
  return changed;
}

/** Waits until millrace's own KDC listens on its node (after a start or restart there). */
export async function waitForKdc(k: KerberosFacts, host: RemoteHost): Promise<void> {
  await waitFor(async () => ((await host.exec(portOpenCommand(k.kdc.address, KDC_PORT))).code === 0 ? true : undefined), {
    timeout: 60_000,
    interval: 500,
    what: `the KDC on ${k.kdc.name} to listen on ${k.kdc.address}:${KDC_PORT}`,
    hint: `look at \`journalctl -u ${KDC_UNIT}\` on ${k.kdc.name} (millrace ssh ${k.kdc.name})`,
  });
}

/**
 * Where and how keytabs are exported: on millrace's own KDC node with kadmin.local
 * (`ktadd -norandkey`, so other copies stay valid), or through an existing KDC's kadmin from the
 * admin host (`ktadd`, a new random key: each principal has one keytab, on its own node).
 */
export interface KerberosAdmin {
  host: RemoteHost;
  /** A command that prints the principal's keytab in base64 and leaves nothing on disk. */
  exportKeytab(principal: string): string;
  /** What the command reads on stdin (the admin password with an existing KDC). */
  stdin?: string;
  hint: string;
}

export function localAdmin(k: KerberosFacts, kdcHost: RemoteHost): KerberosAdmin {
  return {
    host: kdcHost,
    // The principal is service/address@REALM (checked characters), so it needs no quoting inside the double quotes.
    exportKeytab: (p) => `set -e; d=$(mktemp -d); trap 'rm -rf "$d"' EXIT; kadmin.local -r ${q(k.realm)} -q "ktadd -norandkey -k $d/kt ${p}" >/dev/null; base64 -w0 "$d/kt"`,
    hint: `look at \`journalctl -u ${KDC_UNIT}\` on ${kdcHost.name}, then run \`millrace up\` again`,
  };
}

/**
 * A shell prelude for an existing KDC: a private krb5.conf and a kadmin/admin ticket for the admin
 * principal, from the password on stdin (read into a shell variable, never an argument), all in a
 * 0700 temporary directory removed on exit; `ka QUERY` then runs one kadmin query.
 */
function adminSession(k: KerberosFacts): string {
  const a = k.admin!;
  return [
    'set -e; umask 077; d=$(mktemp -d); trap \'rm -rf "$d"\' EXIT',
    `printf '%s' ${q(krb5Conf(k))} > "$d/krb5.conf"; export KRB5_CONFIG="$d/krb5.conf"`,
    `IFS= read -r pw || true; if ! printf '%s\\n' "$pw" | kinit -c "FILE:$d/cc" -S ${q(`kadmin/admin@${k.realm}`)} ${q(a.principal)} >/dev/null; then unset pw; echo ${q(`the admin principal ${a.principal} could not log in`)} >&2; exit 4; fi; unset pw`,
    `ka() { kadmin -c "FILE:$d/cc" -r ${q(k.realm)} -s ${q(`${a.server}:${a.port}`)} -q "$1" 2>&1 || true; }`,
  ].join('\n');
}

/** The admin password from the environment variable kerberos.admin.passwordEnv names, or a clear error. */
export function adminPassword(k: KerberosFacts, env: NodeJS.ProcessEnv = process.env): string {
  const a = k.admin!;
  const pw = env[a.passwordEnv];
  if (!pw)
    throw new MillraceError(`kerberos.admin: $${a.passwordEnv} is not set; millrace needs the password of ${a.principal} to create the cluster's principals on ${k.kdc.name}`, {
      hint: `export ${a.passwordEnv}=… (read from your password manager) and run \`millrace up\` again; it is never written to disk, a log or a command line`,
    });
  if (/[\r\n]/.test(pw)) throw new MillraceError(`kerberos.admin: $${a.passwordEnv} holds a line break`, { hint: 'set it to the password alone' });
  return pw;
}

export function remoteAdmin(k: KerberosFacts, adminHost: RemoteHost, password: string): KerberosAdmin {
  return {
    host: adminHost,
    exportKeytab: (p) => `${adminSession(k)}\nout=$(ka "ktadd -k $d/kt ${p}"); if [ ! -s "$d/kt" ]; then echo "$out" >&2; exit 3; fi; base64 -w0 "$d/kt"`,
    stdin: `${password}\n`,
    hint: `check that ${k.admin!.principal} may add, inquire, modify and change the keys of the cluster's principals (kadm5.acl "aicm"), then run \`millrace up\` again`,
  };
}

/**
 * The cluster's principals in an existing KDC, through its kadmin server from the admin host (a
 * node with the Kerberos client tools; they are installed here if missing): each missing one is
 * created with a random key, and each gets kerberos.ticketLifetime as its maximum ticket life. The
 * realm's own limits (krbtgt, max_life) are the KDC administrator's and stay as they are.
 */
export async function ensureExternalPrincipals(k: KerberosFacts, admin: KerberosAdmin, principals: string[], log: Logger): Promise<string[]> {
  const host = admin.host;
  if ((await host.exec('command -v kadmin >/dev/null && command -v kinit >/dev/null')).code !== 0) {
    log.info({ host: host.name }, 'installing the Kerberos client tools for kadmin');
    await host.execOrThrow(
      `if command -v apt-get >/dev/null; then export DEBIAN_FRONTEND=noninteractive; apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends ${CLIENT_APT.join(' ')}; else dnf install -y -q ${CLIENT_DNF.join(' ')}; fi`,
      { what: `install the Kerberos client tools on ${host.name}` },
    );
  }
  const life = `${k.ticketLifetimeSeconds} seconds`;
  const lines = principals.map((p) => {
    const add = `addprinc -randkey -maxlife "${life}" -maxrenewlife "${life}" ${p}`;
    const mod = `modprinc -maxlife "${life}" -maxrenewlife "${life}" ${p}`;
    return [
      `if ! ka ${q(`getprinc ${p}`)} | grep -qxF ${q(`Principal: ${p}`)}; then out=$(ka ${q(add)}); echo "$out" | grep -qF ${q(`"${p}" created`)} || { echo "addprinc ${p}: $out" >&2; exit 3; }; echo ${q(`created ${p}`)}; fi`,
      `out=$(ka ${q(mod)}); echo "$out" | grep -qF ${q(`"${p}" modified`)} || { echo "modprinc ${p}: $out" >&2; exit 3; }`,
    ].join('\n');
  });
  const r = await host.exec([adminSession(k), ...lines].join('\n'), { stdin: admin.stdin });
  if (r.code !== 0)
    throw new MillraceError(
      `${host.name}: could not set up the cluster's principals through the kadmin server ${k.admin!.server}:${k.admin!.port} (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
      { hint: r.code === 4 ? `check the password in $${k.admin!.passwordEnv} and that ${host.name} reaches ${k.kdc.name}, then run \`millrace up\` again` : admin.hint },
    );
  return r.stdout.split('\n').filter((l) => l.startsWith('created ')).map((l) => `principal ${l.slice('created '.length)}`);
}

/**
 * A keytab that gets a ticket from the KDC for its principal is good; the check uses a memory
 * cache. kinit's own complaint (never a key) goes to stderr, for the error.
 */
function keytabWorks(kt: KeytabSpec): string {
  return `test -f ${q(kt.path)} && [ "$(stat -c '%a %U' ${q(kt.path)})" = "400 ${kt.owner}" ] && kinit -k -t ${q(kt.path)} -c MEMORY:millrace-check ${q(kt.principal)} >/dev/null`;
}

/** How long a keytab just installed may take to get its first ticket: a KDC that has just started or restarted. */
export const NEW_KEYTAB_WAIT_MS = 60_000;

/**
 * Puts this node's keytabs in place (see the file comment); returns the ones it installed, whose
 * units must restart. The keytab bytes exist only in this process's memory and on the two nodes.
 */
export async function ensureKeytabs(k: KerberosFacts, admin: KerberosAdmin, host: RemoteHost, keytabs: KeytabSpec[], waitMs = NEW_KEYTAB_WAIT_MS): Promise<KeytabSpec[]> {
  const installed: KeytabSpec[] = [];
  if (keytabs.length) await host.execOrThrow(`mkdir -p ${KEYTAB_DIR} && chmod 755 ${KEYTAB_DIR}`, { what: `create ${KEYTAB_DIR}` });
  for (const kt of keytabs) {
    if ((await host.exec(keytabWorks(kt))).code === 0) continue;
    const exported = await admin.host.exec(admin.exportKeytab(kt.principal), { stdin: admin.stdin });
    if (exported.code !== 0 || !exported.stdout.trim())
      throw new MillraceError(`${admin.host.name}: could not export the keytab of ${kt.principal} (exit ${exported.code}): ${exported.stderr.trim().split('\n').slice(-3).join(' ')}`, {
        hint: admin.hint,
      });
    await host.putFile(kt.path, Buffer.from(exported.stdout.trim(), 'base64'), { mode: 0o400, owner: kt.owner });
    let said = '';
    try {
      await waitFor(
        async () => {
          const r = await host.exec(keytabWorks(kt));
          said = r.stderr.trim().split('\n').slice(-2).join(' ');
          return r.code === 0 ? true : undefined;
        },
        { timeout: waitMs, interval: Math.min(2000, waitMs), what: `a ticket for ${kt.principal}` },
      );
    } catch {
      throw new MillraceError(
        `${host.name}: the keytab of ${kt.principal} at ${kt.path} gets no ticket from the KDC at ${k.kdc.address}:${k.kdc.port} (tried for ${Math.round(waitMs / 1000)}s)${said ? `: ${said}` : ''}`,
        { hint: `check that ${host.name} reaches ${k.kdc.name} on TCP ${k.kdc.port} and that the clocks agree (Kerberos allows 5 minutes), then run \`millrace up\` again` },
      );
    }
    installed.push(kt);
  }
  return installed;
}

/** The KDC as a service of the node with the kdc role: `ensureKdc` has set it up before the nodes are provisioned. */
export const kdcService: Service = {
  id: 'kdc',
  role: 'kdc',
  unit: KDC_UNIT,
  user: 'root',
  ports: ROLE_PORTS.kdc,
  packages: { apt: KDC_APT, dnf: KDC_DNF },
  directories: () => [],
  files: (ctx: NodeContext): FileSpec[] => (ctx.cluster.kerberos ? kdcFiles(ctx.cluster.kerberos) : []),
  async healthCheck(host: RemoteHost, ctx: NodeContext): Promise<HealthReport> {
    const checks = await unitAndPortChecks(host, KDC_UNIT, ctx.node.privateAddress, KDC_PORT);
    return report(checks);
  },
};
