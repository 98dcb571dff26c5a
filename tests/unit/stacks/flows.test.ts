/** The flow table (lib/flows.ts) against the ports (lib/roles.ts), and the policy it must keep. */
import { FLOWS, flowAllowed, flowPort, flowsInto, rolesReaching } from '../../../lib/flows';
import { ROLE_PORTS, ROLES, SSH_PORT, type Role } from '../../../lib/roles';

const ALL_PORTS = ROLES.flatMap((role) => ROLE_PORTS[role].map((spec) => [role, spec.name, spec] as const));
const NON_KAFKA = ROLES.filter((r) => r !== 'kafka');

describe('flow table', () => {
  it('names only ports its targets declare, each entry once, each with a reason', () => {
    for (const f of FLOWS) expect(() => flowPort(f)).not.toThrow();
    const keys = FLOWS.map((f) => `${f.from}>${f.to}:${f.port}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const f of FLOWS) expect(f.reason).toMatch(/\w{3,}.*\w{3,}/);
  });

  it('refuses a port name its target does not declare', () => {
    expect(() => flowPort({ to: 'kafka', port: 'namenode-rpc' })).toThrow(/role kafka has no port named namenode-rpc/);
  });

  it.each(ALL_PORTS)('lets someone reach %s %s (no declared port is left without a flow)', (role, name) => {
    expect(flowsInto([role], name).length).toBeGreaterThan(0);
  });

  it('lets the operator, and only the operator, reach SSH on every node', () => {
    expect(FLOWS.filter((f) => f.port === SSH_PORT.name).map((f) => [f.from, f.to])).toEqual([['operator', 'any']]);
  });

  it('lets only the operator reach web UIs', () => {
    const uis = FLOWS.filter((f) => flowPort(f).webUi);
    expect(uis.length).toBeGreaterThanOrEqual(7);
    expect([...new Set(uis.map((f) => f.from))]).toEqual(['operator']);
  });

  it("lets Kafka clients reach only the EXTERNAL listener, never 9093 (whose metadata names private addresses)", () => {
    expect(FLOWS.filter((f) => f.from === 'clients').map((f) => f.port)).toEqual(['kafka-external']);
    expect(flowAllowed('clients', ['kafka'], 9093)).toBeUndefined();
    expect(flowAllowed('clients', ['kafka'], 9095)?.port).toBe('kafka-external');
  });

  it('keeps Kafka-only nodes away from every HDFS, KMS and Spark port', () => {
    for (const role of NON_KAFKA)
      for (const spec of ROLE_PORTS[role]) for (let p = spec.port; p <= (spec.toPort ?? spec.port); p++) expect([role, p, flowAllowed(['kafka'], [role], p)]).toEqual([role, p, undefined]);
    // Control: Kafka nodes do reach each other.
    expect(flowAllowed(['kafka'], ['kafka'], 9093)).toBeDefined();
    expect(flowAllowed(['kafka'], ['kafka'], 9094)).toBeDefined();
  });

  it('has the flows the services really use', () => {
    const yes: [Role[], Role[], number][] = [
      [['spark-worker'], ['namenode'], 8020],
      [['spark-worker'], ['datanode'], 9866],
      [['spark-worker'], ['datanode'], 9867],
      [['datanode'], ['namenode'], 8020],
      [['datanode'], ['datanode'], 9866],
      [['namenode'], ['kms'], 9600],
      [['spark-master'], ['kms'], 9600],
      [['spark-worker'], ['kms'], 9600],
      [['spark-worker'], ['spark-master'], 7077],
      [['spark-master'], ['spark-worker'], 7078],
      [['spark-worker'], ['spark-master'], 7100],
      [['spark-master'], ['spark-worker'], 7120],
      [['spark-worker'], ['spark-worker'], 7136],
      [['spark-master'], ['kafka'], 9093],
      [['spark-worker'], ['kafka'], 9093],
    ];
    for (const [from, to, port] of yes) expect([from, to, port, !!flowAllowed(from, to, port)]).toEqual([from, to, port, true]);
  });

  it('has nothing more: these connections are not in the table', () => {
    const no: [Role[] | 'operator' | 'clients', Role[], number][] = [
      [['datanode'], ['kms'], 9600],
      [['kms'], ['namenode'], 8020],
      [['namenode'], ['datanode'], 9866],
      [['spark-worker'], ['kafka'], 9094],
      [['spark-master'], ['kafka'], 9095],
      [['spark-worker'], ['spark-master'], 8480],
      [['spark-worker'], ['spark-master'], 7160],
      [['datanode'], ['spark-master'], 7077],
      ['operator', ['namenode'], 8020],
      ['operator', ['kafka'], 9093],
      ['clients', ['spark-master'], 22],
    ];
    for (const [from, to, port] of no) expect([from, to, port, flowAllowed(from, to, port)]).toEqual([from, to, port, undefined]);
  });

  it('says which roles may reach a port', () => {
    expect(rolesReaching('namenode', 'namenode-rpc')).toEqual(['spark-master', 'spark-worker', 'datanode']);
    expect(rolesReaching('kms', 'kms-https')).toEqual(['spark-master', 'spark-worker', 'namenode']);
    expect(rolesReaching('kafka', 'kafka-controller')).toEqual(['kafka']);
  });
});
