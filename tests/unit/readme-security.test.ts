/** The README's security table is the ports of lib/roles.ts, row for row: the docs cannot drift. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROLE_PORTS, SSH_PORT, PortSpec, Role } from '../../lib/roles';

export function securityRows(): string[] {
  const row = (role: string, p: PortSpec): string =>
    `| ${p.toPort ? `${p.port}-${p.toPort}` : p.port} | ${role} | ${p.description} | ${p.encryption} | ${p.authentication} |`;
  return [row('all', SSH_PORT), ...(Object.entries(ROLE_PORTS) as [Role, PortSpec[]][]).flatMap(([role, ports]) => ports.map((p) => row(role, p)))];
}

describe('README security table', () => {
  it('lists every declared port with its encryption and authentication', () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const missing = securityRows().filter((r) => !readme.includes(r));
    expect(missing).toEqual([]);
  });
});
