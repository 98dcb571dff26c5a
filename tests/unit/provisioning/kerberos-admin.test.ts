/**
 * The shell millrace runs against an existing KDC (kerberos.kdc), run for real by bash on this
 * machine, with stand-ins for MIT's `kinit` and `kadmin` on PATH that keep a principal list in a
 * file and answer as MIT's tools do. What a real KDC and kadmind do with it is
 * tests/integration/70-kerberos.test.ts's part; this checks the script's own logic: the password
 * only on stdin, only missing principals created, every one given the lifetime, nothing left behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { ensureExternalPrincipals, remoteAdmin } from '../../../provisioning/kerberos/kdc';
import type { RemoteHost } from '../../../provisioning/remote-host';
import { bashHost } from '../../fixtures/bash-host';
import { factsFor } from '../../fixtures/facts';

const PASSWORD = 'correct horse $battery `staple`';

const KINIT = `#!/bin/bash
echo "kinit $*" >> "$FAKE_LOG"
while [ $# -gt 0 ]; do case "$1" in -c) cc=$2; shift 2;; -S) shift 2;; *) who=$1; shift;; esac; done
IFS= read -r pw
if [ "$pw" != "$FAKE_PASSWORD" ]; then echo "kinit: Password incorrect while getting initial credentials" >&2; exit 1; fi
echo "$who" > "\${cc#FILE:}"
`;

const KADMIN = `#!/bin/bash
while [ $# -gt 0 ]; do case "$1" in -c) cc=$2; shift 2;; -q) query=$2; shift 2;; *) shift;; esac; done
echo "kadmin $query" >> "$FAKE_LOG"
[ -s "\${cc#FILE:}" ] || { echo "kadmin: No credentials cache found while initializing kadmin interface" >&2; exit 1; }
eval "set -- $query"
cmd=$1; shift
p=\${@: -1}
case $cmd in
  getprinc) if grep -qxF "$p" "$FAKE_DB"; then echo "Principal: $p"; else echo "get_principal: Principal does not exist while retrieving \\"$p\\"." >&2; fi ;;
  addprinc) echo "$p" >> "$FAKE_DB"; echo "Principal \\"$p\\" created." ;;
  modprinc) if grep -qxF "$p" "$FAKE_DB"; then echo "Principal \\"$p\\" modified."; else echo "modify_principal: Principal does not exist while modifying \\"$p\\"." >&2; fi ;;
  ktadd) if grep -qxF "$p" "$FAKE_DB"; then echo "KEYTAB:$p" > "$2"; echo "Entry for principal $p added to keytab WRFILE:$2."; else echo "kadmin: Principal $p does not exist." >&2; fi ;;
esac
`;

/** This machine's bash as the node, with the stand-ins first on PATH. */
const localHost = (dir: string, env: NodeJS.ProcessEnv): RemoteHost => bashHost('hdfs-1', { ...env, PATH: `${dir}/bin:${process.env.PATH}` });

describe('the kadmin shell for an existing KDC, run by bash with stand-in kinit and kadmin', () => {
  const facts = factsFor('name: demo\nkerberos:\n  enabled: true\n  realm: CORP.EXAMPLE.COM\n  kdc: 10.20.0.5\n  ticketLifetime: 3m\n  admin: { principal: millrace/admin }\n');
  const k = facts.kerberos!;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const log = pino({ level: 'silent' });
  const logOf = (): string => fs.readFileSync(path.join(dir, 'log'), 'utf8');

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-kadmin-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'bin', 'kinit'), KINIT, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'bin', 'kadmin'), KADMIN, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'db'), 'nn/127.0.0.13@CORP.EXAMPLE.COM\n');
    fs.writeFileSync(path.join(dir, 'log'), '');
    env = { FAKE_LOG: path.join(dir, 'log'), FAKE_DB: path.join(dir, 'db'), FAKE_PASSWORD: PASSWORD, TMPDIR: path.join(dir, 'tmp') };
    fs.mkdirSync(env.TMPDIR!);
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates only the missing principals, gives each the configured lifetime, and leaves no temporary files', async () => {
    const admin = remoteAdmin(k, localHost(dir, env), PASSWORD);
    const principals = ['HTTP/127.0.0.13@CORP.EXAMPLE.COM', 'nn/127.0.0.13@CORP.EXAMPLE.COM', 'spark/127.0.0.12@CORP.EXAMPLE.COM'];
    const changed = await ensureExternalPrincipals(k, admin, principals, log);
    expect(changed).toEqual(['principal HTTP/127.0.0.13@CORP.EXAMPLE.COM', 'principal spark/127.0.0.12@CORP.EXAMPLE.COM']);
    expect(fs.readFileSync(path.join(dir, 'db'), 'utf8').trim().split('\n').sort()).toEqual(principals);
    const calls = logOf();
    expect(calls).toContain('kinit -c FILE:');
    expect(calls).toContain('-S kadmin/admin@CORP.EXAMPLE.COM millrace/admin@CORP.EXAMPLE.COM');
    for (const p of principals) expect(calls).toContain(`kadmin modprinc -maxlife "180 seconds" -maxrenewlife "180 seconds" ${p}`);
    expect(calls).toContain('kadmin addprinc -randkey -maxlife "180 seconds" -maxrenewlife "180 seconds" spark/127.0.0.12@CORP.EXAMPLE.COM');
    expect(calls).not.toContain('addprinc -randkey -maxlife "180 seconds" -maxrenewlife "180 seconds" nn/');
    // The password went in on stdin only: no program was given it as an argument.
    expect(calls).not.toContain('battery');
    expect(fs.readdirSync(env.TMPDIR!)).toEqual([]);

    // A second run creates nothing.
    expect(await ensureExternalPrincipals(k, admin, principals, log)).toEqual([]);
  });

  it('exports a keytab as base64 on stdout, from the kadmin server, and removes the file it wrote', async () => {
    const admin = remoteAdmin(k, localHost(dir, env), PASSWORD);
    const r = await admin.host.exec(admin.exportKeytab('nn/127.0.0.13@CORP.EXAMPLE.COM'), { stdin: admin.stdin });
    expect(r.code).toBe(0);
    expect(Buffer.from(r.stdout.trim(), 'base64').toString()).toBe('KEYTAB:nn/127.0.0.13@CORP.EXAMPLE.COM\n');
    expect(logOf()).toMatch(/kadmin ktadd -k \S+\/kt nn\/127\.0\.0\.13@CORP\.EXAMPLE\.COM/);
    expect(fs.readdirSync(env.TMPDIR!)).toEqual([]);
    // A principal the KDC does not have: no keytab, kadmin's words on stderr, exit 3.
    const missing = await admin.host.exec(admin.exportKeytab('dn/127.0.0.99@CORP.EXAMPLE.COM'), { stdin: admin.stdin });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('Principal dn/127.0.0.99@CORP.EXAMPLE.COM does not exist');
  });

  it('a wrong password stops before any kadmin query, naming the admin principal and not the password', async () => {
    const wrong = 'not-the-password-42';
    const admin = remoteAdmin(k, localHost(dir, env), wrong);
    const error = await ensureExternalPrincipals(k, admin, ['spark/127.0.0.12@CORP.EXAMPLE.COM'], log).then(
      () => undefined,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(error?.message).toMatch(/^hdfs-1: could not set up the cluster's principals through the kadmin server 10\.20\.0\.5:749 \(exit 4\): kinit: Password incorrect/);
    expect(error?.message).toContain('the admin principal millrace/admin@CORP.EXAMPLE.COM could not log in');
    expect(error?.hint).toContain('check the password in $MILLRACE_KADMIN_PASSWORD');
    expect(`${error?.message} ${error?.hint}`).not.toContain(wrong);
    expect(logOf()).not.toContain('kadmin ');
    expect(fs.readFileSync(path.join(dir, 'db'), 'utf8')).toBe('nn/127.0.0.13@CORP.EXAMPLE.COM\n');
    expect(fs.readdirSync(env.TMPDIR!)).toEqual([]);
  });

  it('an admin principal without the right to add stops up with what kadmin said', async () => {
    fs.writeFileSync(
      path.join(dir, 'bin', 'kadmin'),
      KADMIN.replace('addprinc) echo "$p" >> "$FAKE_DB"; echo "Principal \\"$p\\" created." ;;', 'addprinc) echo "add_principal: Operation requires add privilege while creating \\"$p\\"." >&2 ;;'),
      { mode: 0o755 },
    );
    const admin = remoteAdmin(k, localHost(dir, env), PASSWORD);
    await expect(ensureExternalPrincipals(k, admin, ['spark/127.0.0.12@CORP.EXAMPLE.COM'], log)).rejects.toThrow(/exit 3\): addprinc spark\/127\.0\.0\.12@CORP\.EXAMPLE\.COM: add_principal: Operation requires add privilege/);
  });
});
