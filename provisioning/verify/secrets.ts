/** No secret in any node's process list: every command line is read and searched for every secret. */
import type { RemoteHost } from '../remote-host';
import type { VerifyRow } from './types';

export interface Secret {
  name: string;
  value: string;
}

/** Names of the secrets that occur in a text (never the values: they must not reach the output). */
export function secretsIn(text: string, secrets: Secret[]): string[] {
  return [...new Set(secrets.filter((s) => s.value && text.includes(s.value)).map((s) => s.name))];
}

export async function verifyProcessLists(hosts: Map<string, RemoteHost>, secrets: Secret[]): Promise<VerifyRow[]> {
  const rows: VerifyRow[] = [];
  for (const [name, host] of hosts) {
    const ps = await host.execOrThrow('ps -eo args --no-headers', { what: 'list processes' });
    const found = secretsIn(ps, secrets);
    rows.push({
      check: 'secrets: none in the process list',
      target: name,
      ok: found.length === 0,
      detail: found.length ? `found: ${found.join(', ')}` : `${ps.split('\n').length} command lines, ${secrets.length} secrets searched`,
    });
  }
  return rows;
}
