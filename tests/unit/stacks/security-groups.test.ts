import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Testing } from 'cdktf';
import { ROLE_PORTS, SSH_PORT } from '../../../lib/roles';
import { planIngress } from '../../../stacks';
import { actualIngress, expectedIngress, expectedSources, keyText, presentRoles } from './ingress-expectations';
import { awsConfig, Json, resources, sgRef, synth } from './stack-fixture';

Testing.setupJest();

const OPEN = ['0.0.0.0/0', '::/0'];
const config = awsConfig();
const { text, doc } = synth(config);
const rules = Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
const covers = (r: Json, port: number) => r.from_port <= port && port <= r.to_port;

describe('security groups: one per role, least privilege', () => {
  it('has one security group per role present, in the cluster VPC', () => {
    expect(Object.keys(resources(doc, 'aws_security_group')).sort()).toEqual(presentRoles(config).map((r) => `sg-${r}`).sort());
    for (const role of presentRoles(config))
      expect(text).toHaveResourceWithProperties(SecurityGroup, { name: `millrace-demo-${role}`, vpc_id: '${aws_vpc.vpc.id}' });
  });

  it('declares no inline rules on any group (every rule is its own resource)', () => {
    for (const sg of Object.values(resources(doc, 'aws_security_group')) as Json[]) {
      expect(sg.ingress).toBeUndefined();
      expect(sg.egress).toBeUndefined();
    }
  });

  it('has exactly the ingress rules ROLE_PORTS declares: nothing more, nothing less', () => {
    expect(actualIngress(doc).map(keyText).sort()).toEqual(expectedIngress(config).map(keyText).sort());
  });

  it('opens no ingress to 0.0.0.0/0 or ::/0', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(OPEN).not.toContain(r.cidr_ipv4);
      expect(OPEN).not.toContain(r.cidr_ipv6);
    }
  });

  it('uses 0.0.0.0/0 nowhere but in egress rules and the internet route', () => {
    const where: string[] = [];
    for (const [type, byName] of Object.entries(doc.resource as Record<string, Record<string, Json>>))
      for (const [name, resource] of Object.entries(byName)) if (OPEN.some((c) => JSON.stringify(resource).includes(`"${c}"`))) where.push(`${type}.${name}`);
    expect(where.filter((w) => !w.startsWith('aws_vpc_security_group_egress_rule.') && w !== 'aws_route_table.route-table')).toEqual([]);
  });

  it('gives every rule exactly one source, TCP, and a description', () => {
    for (const r of rules) {
      expect([r.cidr_ipv4, r.cidr_ipv6, r.referenced_security_group_id, r.prefix_list_id].filter((s) => s !== undefined)).toHaveLength(1);
      expect(r.ip_protocol).toBe('tcp');
      expect(r.description).toMatch(/\S{3,}/);
    }
  });

  it('allows SSH only from the operator CIDR, on every group', () => {
    const ssh = rules.filter((r) => covers(r, SSH_PORT.port));
    expect(ssh.map((r) => r.cidr_ipv4)).toEqual(presentRoles(config).map(() => '198.51.100.7/32'));
    for (const role of presentRoles(config))
      expect(text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, { security_group_id: sgRef(role), from_port: 22, to_port: 22, cidr_ipv4: '198.51.100.7/32' });
  });

  it('opens only SSH and the Kafka client ports (9093 inside the VPC, 9095 at public addresses) to address ranges; everything else only to cluster groups', () => {
    const kafkaClient = ROLE_PORTS.kafka.filter((p) => p.from.includes('clients')).map((p) => p.port);
    expect(kafkaClient.sort()).toEqual([9093, 9095]);
    const cidrPorts = new Set(rules.filter((r) => !r.referenced_security_group_id).map((r) => r.from_port));
    expect([...cidrPorts].sort()).toEqual([SSH_PORT.port, ...kafkaClient].sort());
    for (const cidr of config.network.kafkaClientCidrs)
      for (const port of kafkaClient)
        expect(text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, { security_group_id: sgRef('kafka'), from_port: port, to_port: port, cidr_ipv4: cidr });
    // The external listener is for clients only: no cluster group needs it.
    expect(rules.filter((r) => r.from_port === 9095 && r.referenced_security_group_id)).toEqual([]);
  });

  it('lets every group send anywhere (egress may be open)', () => {
    for (const role of presentRoles(config))
      expect(text).toHaveResourceWithProperties(VpcSecurityGroupEgressRule, { security_group_id: sgRef(role), ip_protocol: '-1', cidr_ipv4: '0.0.0.0/0' });
  });

  it('names every rule after its group, port and source, so plans are readable', () => {
    expect(planIngress(config).map((r) => r.id).sort()).toEqual(Object.keys(resources(doc, 'aws_vpc_security_group_ingress_rule')).sort());
    expect(Object.keys(resources(doc, 'aws_vpc_security_group_ingress_rule'))).toContain('ingress-kafka-kafka-client-from-203-0-113-0-24');
  });
});

// One check per declared port, so a failure names the port that is wrong.
const portCases = presentRoles(config).flatMap((role) => ROLE_PORTS[role].map((spec) => [role, spec.name, spec.port, spec] as const));

describe.each(portCases)('ingress to %s %s (port %d)', (role, _name, _port, spec) => {
  const mine = rules.filter((r) => r.security_group_id === sgRef(role) && r.from_port === spec.port);

  it('comes only from the declared sources', () => {
    const sources = mine.map((r) => (r.referenced_security_group_id ? r.referenced_security_group_id : `cidr:${r.cidr_ipv4 ?? r.cidr_ipv6}`));
    const expected = expectedSources(config, spec).map((s) => (s.startsWith('sg:') ? sgRef(s.slice(3)) : s));
    expect(sources.sort()).toEqual(expected.sort());
  });

  it('covers exactly the declared port range', () => {
    for (const r of mine) expect([r.from_port, r.to_port]).toEqual([spec.port, spec.toPort ?? spec.port]);
    for (const source of expectedSources(config, spec).filter((s) => s.startsWith('sg:')))
      expect(text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, {
        security_group_id: sgRef(role),
        from_port: spec.port,
        to_port: spec.toPort ?? spec.port,
        referenced_security_group_id: sgRef(source.slice(3)),
      });
  });
});

describe('security groups: address families and client lists', () => {
  it('writes an IPv6 operator CIDR as cidr_ipv6', () => {
    const v6 = awsConfig('', 'name: demo\ntarget: aws\nnetwork:\n  sshCidr: 2001:db8:42::/48\n');
    const ssh = (Object.values(resources(synth(v6).doc, 'aws_vpc_security_group_ingress_rule')) as Json[]).filter((r) => r.from_port === 22);
    expect(ssh.length).toBe(presentRoles(v6).length);
    for (const r of ssh) expect([r.cidr_ipv6, r.cidr_ipv4]).toEqual(['2001:db8:42::/48', undefined]);
  });

  it('opens the Kafka client port to no address range when no client CIDRs are configured', () => {
    const noClients = awsConfig('', 'name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n');
    const kafka = (Object.values(resources(synth(noClients).doc, 'aws_vpc_security_group_ingress_rule')) as Json[]).filter((r) => r.from_port === 9093);
    expect(kafka.length).toBeGreaterThan(0);
    for (const r of kafka) expect(r.referenced_security_group_id).toMatch(/^\$\{aws_security_group\./);
  });
});
