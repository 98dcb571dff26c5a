/**
 * The README's security tables are lib/roles.ts and lib/flows.ts, row for row: the docs cannot
 * drift. The ports table lists every declared port with who may reach it; the flows table lists
 * every entry of the flow table with its reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FLOWS, flowPort, flowsInto, type FlowSource } from '../../lib/flows';
import { NODE_METRICS_PORT, PortSpec, Role, ROLE_PORTS, SSH_PORT } from '../../lib/roles';

const sourceName = (s: FlowSource): string => (s === 'operator' ? 'operator' : s === 'clients' ? 'Kafka clients' : s);
const ports = (p: PortSpec): string => (p.toPort ? `${p.port}-${p.toPort}` : `${p.port}`);

export function securityRows(): string[] {
  const row = (role: string, roles: Role[], p: PortSpec): string => {
    const from = [...new Set(flowsInto(roles, p.name).map((f) => sourceName(f.from)))].join(', ');
    return `| ${ports(p)} | ${role} | ${p.description} | ${p.encryption} | ${p.authentication} | ${from} |`;
  };
  return [
    row('all', [], SSH_PORT),
    row('all', [], NODE_METRICS_PORT),
    ...(Object.entries(ROLE_PORTS) as [Role, PortSpec[]][]).flatMap(([role, specs]) => specs.map((p) => row(role, [role], p))),
  ];
}

export function flowRows(): string[] {
  return FLOWS.map((f) => `| ${sourceName(f.from)} | ${f.to === 'any' ? 'every node' : f.to} | ${ports(flowPort(f))} (${f.port}) | ${f.reason} |`);
}

describe('README security tables', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

  it('lists every declared port with its encryption, authentication and who may reach it', () => {
    expect(securityRows().filter((r) => !readme.includes(r))).toEqual([]);
  });

  it('lists every entry of the flow table with its reason', () => {
    expect(flowRows().filter((r) => !readme.includes(r))).toEqual([]);
  });
});
