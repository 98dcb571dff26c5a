import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Testing } from 'cdktf';
import { ROLE_PORTS, SSH_PORT } from '../../../lib/roles';
import { planIngress } from '../../../stacks';
import { actualIngress, expectedIngress, expectedSources, groupLabels, keyText, label, portsOf, roleSets } from './ingress-expectations';
import { awsConfig, Json, resources, synth } from './stack-fixture';

Testing.setupJest();

const OPEN = ['0.0.0.0/0', '::/0'];
const config = awsConfig();
const { text, doc } = synth(config);
const rules = Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
const labels = groupLabels(doc);
const labelOf = (ref: string): string => labels.get(ref) ?? `? ${ref}`;
const covers = (r: Json, port: number) => r.from_port <= port && port <= r.to_port;
/** EC2's character set for security group and rule descriptions. */
const EC2_DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{1,255}$/;
const WEB_UIS = Object.values(ROLE_PORTS)
  .flat()
  .filter((p) => p.webUi);
const sgRefOf = (roles: string): string => [...labels].find(([, l]) => l === roles)![0];

describe('security groups: one per role combination, least privilege from the flow table', () => {
  it('has one security group per role combination the nodes have, in the cluster VPC', () => {
    expect([...labels.values()].sort()).toEqual(['kafka', 'namenode+datanode+kms', 'spark-master+spark-worker+monitor']);
    expect(Object.keys(resources(doc, 'aws_security_group')).sort()).toEqual(['sg-kafka', 'sg-namenode_datanode_kms', 'sg-spark-master_spark-worker_monitor']);
    for (const roles of roleSets(config))
      expect(text).toHaveResourceWithProperties(SecurityGroup, { name: `millrace-demo-${label(roles)}`, vpc_id: '${aws_vpc.vpc.id}' });
  });

  it('declares no inline rules on any group (every rule is its own resource)', () => {
    for (const sg of Object.values(resources(doc, 'aws_security_group')) as Json[]) {
      expect(sg.ingress).toBeUndefined();
      expect(sg.egress).toBeUndefined();
    }
  });

  it('has exactly the ingress rules the flow table allows: nothing more, nothing less', () => {
    expect(actualIngress(doc).map(keyText).sort()).toEqual(expectedIngress(config).map(keyText).sort());
  });

  it('opens no ingress to 0.0.0.0/0 or ::/0', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(OPEN).not.toContain(r.cidr_ipv4);
      expect(OPEN).not.toContain(r.cidr_ipv6);
    }
  });

  it('uses 0.0.0.0/0 nowhere but in the HTTPS egress rules and the internet route', () => {
    const where: string[] = [];
    for (const [type, byName] of Object.entries(doc.resource as Record<string, Record<string, Json>>))
      for (const [name, resource] of Object.entries(byName)) if (OPEN.some((c) => JSON.stringify(resource).includes(`"${c}"`))) where.push(`${type}.${name}`);
    expect(where.filter((w) => !/^aws_vpc_security_group_egress_rule\.egress-[a-z_-]+-https$/.test(w) && w !== 'aws_route_table.route-table')).toEqual([]);
  });

  it('gives every rule exactly one source, TCP, and a description EC2 accepts', () => {
    for (const r of rules) {
      expect([r.cidr_ipv4, r.cidr_ipv6, r.referenced_security_group_id, r.prefix_list_id].filter((s) => s !== undefined)).toHaveLength(1);
      expect(r.ip_protocol).toBe('tcp');
      expect(r.description).toMatch(EC2_DESCRIPTION);
    }
    for (const sg of Object.values(resources(doc, 'aws_security_group')) as Json[]) expect(sg.description).toMatch(EC2_DESCRIPTION);
  });

  it('allows SSH only from the operator CIDR, on every group', () => {
    const ssh = rules.filter((r) => covers(r, SSH_PORT.port));
    expect(ssh.map((r) => r.cidr_ipv4)).toEqual(roleSets(config).map(() => '198.51.100.7/32'));
    for (const roles of roleSets(config))
      expect(text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, { security_group_id: sgRefOf(label(roles)), from_port: 22, to_port: 22, cidr_ipv4: '198.51.100.7/32' });
  });

  it('opens only 9095 (the EXTERNAL listener) to the Kafka client CIDRs, never 9093, whose metadata names private addresses', () => {
    for (const cidr of config.network.kafkaClientCidrs) {
      const fromClients = rules.filter((r) => r.cidr_ipv4 === cidr);
      expect(fromClients.map((r) => [labelOf(r.security_group_id), r.from_port, r.to_port])).toEqual([['kafka', 9095, 9095]]);
    }
    expect(rules.filter((r) => covers(r, 9093) && !r.referenced_security_group_id)).toEqual([]);
    // The external listener is for the operator and clients only: no cluster group needs it.
    expect(rules.filter((r) => r.from_port === 9095 && r.referenced_security_group_id)).toEqual([]);
    // The operator's own produce/consume/verify go there too.
    expect(text).toHaveResourceWithProperties(VpcSecurityGroupIngressRule, { security_group_id: sgRefOf('kafka'), from_port: 9095, cidr_ipv4: '198.51.100.7/32' });
  });

  it('opens every web UI to the operator CIDR only, and to no group', () => {
    expect(WEB_UIS.map((p) => p.name).sort()).toEqual(
      ['alertmanager', 'datanode-https', 'namenode-https', 'prometheus', 'spark-app-ui', 'spark-master-https', 'spark-master-ui', 'spark-worker-https', 'spark-worker-ui'].sort(),
    );
    for (const ui of WEB_UIS) {
      const mine = rules.filter((r) => r.from_port === ui.port);
      expect([ui.name, mine.length > 0]).toEqual([ui.name, true]);
      for (const r of mine) expect([ui.name, r.cidr_ipv4, r.referenced_security_group_id]).toEqual([ui.name, '198.51.100.7/32', undefined]);
    }
  });

  it('lets the Kafka-only group reach nothing but Kafka: no HDFS, KMS or Spark port', () => {
    const fromKafka = rules.filter((r) => r.referenced_security_group_id === sgRefOf('kafka'));
    expect(fromKafka.map((r) => `${labelOf(r.security_group_id)} ${r.from_port}`).sort()).toEqual(['kafka 9093', 'kafka 9094']);
  });

  it('limits egress to the VPC, plus HTTPS anywhere, on every group', () => {
    const egress = Object.values(resources(doc, 'aws_vpc_security_group_egress_rule')) as Json[];
    for (const roles of roleSets(config)) {
      const mine = egress.filter((e) => e.security_group_id === sgRefOf(label(roles)));
      expect(mine.map((e) => [e.ip_protocol, e.from_port, e.to_port, e.cidr_ipv4]).sort()).toEqual(
        [
          ['-1', undefined, undefined, '10.42.0.0/16'],
          ['tcp', 443, 443, '0.0.0.0/0'],
        ].sort(),
      );
      for (const e of mine) expect(e.description).toMatch(EC2_DESCRIPTION);
    }
  });

  it('names every rule after its group, port and source, so plans are readable', () => {
    expect(planIngress(config).map((r) => r.id).sort()).toEqual(Object.keys(resources(doc, 'aws_vpc_security_group_ingress_rule')).sort());
    expect(Object.keys(resources(doc, 'aws_vpc_security_group_ingress_rule'))).toContain('ingress-kafka-kafka-external-from-203-0-113-0-24');
    expect(Object.keys(resources(doc, 'aws_vpc_security_group_ingress_rule'))).toContain('ingress-namenode_datanode_kms-namenode-rpc-from-sg-spark-master_spark-worker_monitor');
  });
});

// One check per port of each group, so a failure names the port that is wrong.
const portCases = roleSets(config).flatMap((roles) => portsOf(roles).map((spec) => [label(roles), spec.name, spec.port, roles, spec] as const));

describe.each(portCases)('ingress to the %s group, %s (port %d)', (group, _name, _port, roles, spec) => {
  const mine = rules.filter((r) => labelOf(r.security_group_id) === group && r.from_port === spec.port);

  it('comes only from the sources the flow table names', () => {
    const sources = mine.map((r) => (r.referenced_security_group_id ? `sg:${labelOf(r.referenced_security_group_id)}` : `cidr:${r.cidr_ipv4 ?? r.cidr_ipv6}`));
    expect(sources.sort()).toEqual(expectedSources(config, roles, spec).sort());
  });

  it('covers exactly the declared port range', () => {
    for (const r of mine) expect([r.from_port, r.to_port]).toEqual([spec.port, spec.toPort ?? spec.port]);
  });
});

describe('security groups: address families, client lists, image families', () => {
  it('writes an IPv6 operator CIDR as cidr_ipv6', () => {
    const v6 = awsConfig('', 'name: demo\ntarget: aws\nnetwork:\n  sshCidr: 2001:db8:42::/48\n');
    const ssh = (Object.values(resources(synth(v6).doc, 'aws_vpc_security_group_ingress_rule')) as Json[]).filter((r) => r.from_port === 22);
    expect(ssh.length).toBe(roleSets(v6).length);
    for (const r of ssh) expect([r.cidr_ipv6, r.cidr_ipv4]).toEqual(['2001:db8:42::/48', undefined]);
  });

  it('opens the Kafka ports to no client range when no client CIDRs are configured; 9095 then only to the operator', () => {
    const noClients = awsConfig('', 'name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n');
    const kafka = (Object.values(resources(synth(noClients).doc, 'aws_vpc_security_group_ingress_rule')) as Json[]).filter((r) => r.from_port === 9093 || r.from_port === 9095);
    expect(kafka.filter((r) => r.from_port === 9093).length).toBeGreaterThan(0);
    for (const r of kafka.filter((r) => r.from_port === 9093)) expect(r.referenced_security_group_id).toMatch(/^\$\{aws_security_group\./);
    expect(kafka.filter((r) => r.from_port === 9095).map((r) => r.cidr_ipv4)).toEqual(['198.51.100.7/32']);
  });

  it('makes one rule for a CIDR that is both the operator and a client range', () => {
    const same = awsConfig('', 'name: demo\ntarget: aws\nnetwork:\n  sshCidr: 203.0.113.0/24\n  kafkaClientCidrs: [203.0.113.0/24]\n');
    const external = planIngress(same).filter((r) => r.portName === 'kafka-external');
    expect(external.map((r) => [r.source.kind === 'cidr' && r.source.cidr, r.source.kind === 'cidr' && r.source.who])).toEqual([['203.0.113.0/24', ['operator', 'clients']]]);
    expect(external[0]!.description).toMatch(/from the operator and Kafka clients 203\.0\.113\.0\/24$/);
  });

  it('gives the Ubuntu family HTTP egress for its apt mirrors, and Debian none', () => {
    const ports = (c: ReturnType<typeof awsConfig>) =>
      [...new Set((Object.values(resources(synth(c).doc, 'aws_vpc_security_group_egress_rule')) as Json[]).map((e) => e.from_port ?? 'all'))].sort();
    expect(ports(awsConfig('aws:\n  amiFamily: ubuntu-24.04\n'))).toEqual([443, 80, 'all'].sort());
    expect(ports(awsConfig('aws:\n  amiFamily: debian-12\n'))).toEqual([443, 'all'].sort());
  });
});
