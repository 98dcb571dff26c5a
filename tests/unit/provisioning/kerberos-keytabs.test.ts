/**
 * ensureKeytabs (provisioning/kerberos/kdc.ts) against a scripted node: a keytab just installed
 * may meet a KDC that is still (re)starting, so its first ticket is waited for; one that never gets
 * a ticket stops `up` with kinit's own reason and never the keytab's bytes.
 */
import { ensureKeytabs, type KerberosAdmin } from '../../../provisioning/kerberos/kdc';
import type { KerberosFacts, KeytabSpec } from '../../../provisioning/kerberos/realm';
import type { ExecResult, RemoteHost } from '../../../provisioning/remote-host';

const KEYTAB_B64 = Buffer.from('secret keytab bytes').toString('base64');
const facts: KerberosFacts = { realm: 'T.MILLRACE', kdc: { name: 'hdfs-1', address: '127.0.0.13', port: 88 }, ticketLifetimeSeconds: 180 };
const kt: KeytabSpec = { service: 'spark', principal: 'spark/127.0.0.12@T.MILLRACE', path: '/etc/millrace/keytabs/spark.keytab', owner: 'spark', units: [] };

/** A node whose kinit fails `failures` times after the keytab is installed (never, with Infinity). */
function scriptedNode(failures: number): { host: RemoteHost; admin: KerberosAdmin; kinits: () => number; put: () => number } {
  let installed = false;
  let kinits = 0;
  let puts = 0;
  const result = (code: number, stdout = '', stderr = ''): ExecResult => ({ code, stdout, stderr }) as ExecResult;
  const host = {
    name: 'spark-1',
    address: '127.0.0.12',
    loginUser: 'admin',
    async exec(command: string): Promise<ExecResult> {
      if (command.startsWith('mkdir')) return result(0);
      if (command.includes('kinit -k')) {
        if (!installed) return result(1, '', 'kinit: Keytab contains no suitable keys');
        kinits++;
        return kinits > failures ? result(0) : result(1, '', 'kinit: Cannot contact any KDC for realm \'T.MILLRACE\' while getting initial credentials');
      }
      return result(0, KEYTAB_B64);
    },
    async execOrThrow(): Promise<string> {
      return '';
    },
    async putFile(): Promise<void> {
      installed = true;
      puts++;
    },
  } as unknown as RemoteHost;
  const admin: KerberosAdmin = { host, exportKeytab: () => 'export', stdin: '', hint: 'h' } as KerberosAdmin;
  return { host, admin, kinits: () => kinits, put: () => puts };
}

describe('ensureKeytabs', () => {
  it('waits for the first ticket of a keytab it just installed while the KDC comes up', async () => {
    const n = scriptedNode(2);
    const installed = await ensureKeytabs(facts, n.admin, n.host, [kt], 5000);
    expect(installed.map((x) => x.principal)).toEqual([kt.principal]);
    expect(n.put()).toBe(1);
    expect(n.kinits()).toBe(3);
  });

  it("stops with kinit's reason, naming node, principal and KDC, once the wait is over; never the keytab", async () => {
    const n = scriptedNode(Infinity);
    const failure = ensureKeytabs(facts, n.admin, n.host, [kt], 300);
    await expect(failure).rejects.toThrow(/spark-1: the keytab of spark\/127\.0\.0\.12@T\.MILLRACE at \/etc\/millrace\/keytabs\/spark\.keytab gets no ticket from the KDC at 127\.0\.0\.13:88 \(tried for 0s\): kinit: Cannot contact any KDC/);
    await expect(failure).rejects.not.toThrow(KEYTAB_B64);
  });
});
