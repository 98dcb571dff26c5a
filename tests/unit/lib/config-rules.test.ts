/**
 * The rules that close validation's blind spots (issue 11): what used to pass and now is refused,
 * each with its path, message and hint; and what must still pass.
 */
import { EC2_INSTANCE_TYPE, MAX_AUTO_LOCAL_NODES, parseConfigText } from '../../../lib/config';
import { ConfigError, ConfigIssue } from '../../../lib/errors';
import { didYouMean, hostAddressProblem } from '../../../lib/schema';

function issues(yaml: string): ConfigIssue[] {
  try {
    parseConfigText(yaml, 'bad.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const line = (i: ConfigIssue): string => `${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;
const problems = (yaml: string): string[] => issues(yaml).map(line);

const ROLES_ALL = 'roles: [kafka, spark-master, spark-worker, namenode, datanode, kms]';

describe('addresses', () => {
  it('refuses two static nodes on one address, and two on one public address', () => {
    expect(
      problems(`name: demo
target: static
nodes:
  - { name: kafka-1, roles: [kafka], address: 10.0.0.5, publicAddress: 203.0.113.5 }
  - { name: hdfs-1, roles: [namenode, datanode], address: 10.0.0.5, publicAddress: 203.0.113.5 }
  - { name: spark-1, roles: [spark-master, spark-worker], address: KAFKA.example.org }
  - { name: spark-2, roles: [spark-worker], address: kafka.example.org. }
`),
    ).toEqual([
      'nodes[1].address: "10.0.0.5" is also nodes[0].address (hint: give every node its own address)',
      'nodes[1].publicAddress: "203.0.113.5" is also nodes[0].publicAddress (hint: give every node its own address)',
      'nodes[3].address: "kafka.example.org." is also nodes[2].address (hint: give every node its own address)',
    ]);
  });

  it("refuses a node's public address that is another node's address", () => {
    expect(
      problems(`name: demo
target: static
nodes:
  - { name: kafka-1, roles: [kafka], address: 10.0.0.5 }
  - { name: hdfs-1, roles: [namenode, datanode], address: 10.0.0.6, publicAddress: 10.0.0.5 }
`),
    ).toEqual(['nodes[1].publicAddress: "10.0.0.5" is also nodes[0].address (hint: give every node its own address)']);
  });

  it("refuses a local node's explicit address that is another node's automatic one", () => {
    // nodes[1] gets 127.0.0.12 by position; nodes[0] says 127.0.0.12 outright.
    expect(
      problems(`name: demo
nodes:
  - { name: kafka-1, roles: [kafka], address: 127.0.0.12 }
  - { name: hdfs-1, roles: [namenode, datanode] }
`),
    ).toEqual([
      'nodes[0].address: "127.0.0.12" is also the automatic address of nodes[1] (127.0.0.11 + its position) (hint: local nodes without an address get 127.0.0.11, .12, ... by position; pick an address past 127.0.0.12, or set every node\'s address)',
    ]);
    // Past the automatic ones it is fine, and the automatic ones are still assigned.
    const c = parseConfigText('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka], address: 127.0.0.20 }\n  - { name: hdfs-1, roles: [namenode, datanode] }\n');
    expect(c.nodes.map((n) => n.address)).toEqual(['127.0.0.20', '127.0.0.12']);
  });

  it('refuses more local nodes than automatic addresses, naming the limit', () => {
    const many = (n: number): string =>
      `name: demo\nnodes:\n  - { name: n-0, ${ROLES_ALL} }\n` + Array.from({ length: n - 1 }, (_, i) => `  - { name: n-${i + 1}, roles: [datanode] }\n`).join('');
    expect(MAX_AUTO_LOCAL_NODES).toBe(244);
    expect(parseConfigText(many(244)).nodes[243]?.address).toBe('127.0.0.254');
    expect(problems(many(250))).toEqual([
      'nodes: 250 local nodes are too many for automatic addresses: nodes[244] would get 127.0.0.255 (hint: at most 244 local nodes get an automatic address (127.0.0.11 to 127.0.0.254); use fewer nodes, or set address on nodes[244] and after)',
    ]);
  });

  it('refuses 999.1.1.1 and other non-addresses in every address field, and IPv6 with a reason', () => {
    expect(
      problems(`name: demo
target: static
nodes:
  - { name: kafka-1, roles: [kafka], address: 10.0.0.5, publicAddress: 999.1.1.1 }
  - { name: hdfs-1, roles: [namenode, datanode], address: "10.0.0.256" }
  - { name: spark-1, roles: [spark-master], address: "-bad-.example" }
  - { name: spark-2, roles: [spark-worker], address: "2001:db8::1" }
  - { name: spark-3, roles: [spark-worker], address: 0.0.0.0 }
  - { name: spark-4, roles: [spark-worker], address: 239.1.1.1 }
`),
    ).toEqual([
      'nodes[0].publicAddress: "999.1.1.1" is not a valid IPv4 address (four numbers 0-255, without leading zeros) (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
      'nodes[1].address: "10.0.0.256" is not a valid IPv4 address (four numbers 0-255, without leading zeros) (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
      'nodes[2].address: "-bad-.example" is not an IPv4 address or a host name (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
      'nodes[3].address: "2001:db8::1" is an IPv6 address; millrace needs an IPv4 address or a host name (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
      'nodes[4].address: "0.0.0.0" is in 0.0.0.0/8, which is no host\'s address (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
      'nodes[5].address: "239.1.1.1" is a multicast address, not a host\'s (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
    ]);
  });

  it('knows addresses from host names', () => {
    for (const ok of ['10.0.0.5', '127.0.0.31', 'kafka-1', 'kafka-1.example.org', 'ip-10-0-0-5.ec2.internal', 'host.example.org.']) expect(hostAddressProblem(ok)).toBeUndefined();
    for (const bad of ['999.1.1.1', '1.2.3', '01.2.3.4', 'a..b', 'under_score.example', 'x'.repeat(64), 'host.123', '']) expect(hostAddressProblem(bad)).toBeDefined();
  });

  it('refuses an address on an aws node, and a per-node user or key outside static', () => {
    expect(
      problems(`name: demo
target: aws
network: { sshCidr: 203.0.113.7/32 }
nodes:
  - { name: kafka-1, ${ROLES_ALL}, address: 10.0.0.5, user: ops, privateKeyPath: ~/.ssh/k }
`),
    ).toEqual([
      'nodes[0].address: an aws node gets its address from EC2 (hint: remove address (or use target: static for hosts you already have))',
      'nodes[0].privateKeyPath: only static nodes take their own key; the aws target puts one key on every node (hint: remove it, and set ssh.privateKeyPath for the whole cluster)',
      'nodes[0].user: only static nodes take their own user; the aws target creates one user on every node (hint: remove it, and set ssh.user to name the user for the whole cluster)',
    ]);
  });
});

describe('EC2 instance types', () => {
  it('takes the real shapes: family, generation, attributes, size', () => {
    for (const t of ['t3.micro', 'm7i.2xlarge', 'c7gn.metal-48xl', 'r6id.large', 't4g.nano', 'm7i-flex.large', 'u-6tb1.metal', 'u7i-12tb.224xlarge', 'mac2-m2pro.metal', 'x2iedn.32xlarge', 'p5.48xlarge', 'i4i.metal'])
      expect(t).toMatch(EC2_INSTANCE_TYPE);
    for (const t of ['banana.superhuge', 't3', 'T3.micro', 't3.Micro', 'm7i..large', '3t.large', 't3.large ', 't3.hugexlarge']) expect(t).not.toMatch(EC2_INSTANCE_TYPE);
  });

  it('refuses banana.superhuge in aws.instanceType and per node, with the shape and an example', () => {
    expect(
      problems(`name: demo
target: aws
network: { sshCidr: 203.0.113.7/32 }
aws: { instanceType: banana.superhuge }
nodes:
  - { name: kafka-1, ${ROLES_ALL}, instanceType: t3.superhuge }
`),
    ).toEqual([
      'aws.instanceType: is not an EC2 instance type (hint: EC2 instance type of nodes without their own, family + generation + size, e.g. t3.large, m7i.2xlarge)',
      'nodes[0].instanceType: is not an EC2 instance type (hint: aws: the EC2 instance type of this node, family + generation + size, e.g. t3.large, m7i.2xlarge (default aws.instanceType))',
    ]);
  });

  it('gives nodes without their own type aws.instanceType (t3.large by default)', () => {
    const c = parseConfigText(`name: demo
target: aws
network: { sshCidr: 203.0.113.7/32 }
aws: { instanceType: m7i.2xlarge }
nodes:
  - { name: kafka-1, roles: [kafka], instanceType: r6id.large }
  - { name: hdfs-1, roles: [namenode, datanode] }
`);
    expect(c.nodes.map((n) => n.instanceType)).toEqual(['r6id.large', 'm7i.2xlarge']);
    expect(parseConfigText('name: demo\n').nodes.map((n) => n.instanceType)).toEqual(['t3.large', 't3.large', 't3.large']);
  });
});

describe('artifact mirrors', () => {
  it('refuses plain http unless artifacts.allowInsecureHttp says so, naming the key in the hint', () => {
    expect(problems('name: demo\nartifacts: { mavenRepository: "http://nexus.internal/maven2" }\n')).toEqual([
      'artifacts.mavenRepository: "http://nexus.internal/maven2" is plain http: what the nodes install could be read and changed on the way (hint: use https://; for an internal mirror that only speaks http, set artifacts.allowInsecureHttp: true to accept that risk)',
    ]);
    expect(parseConfigText('name: demo\nartifacts: { mavenRepository: "http://nexus.internal/maven2", allowInsecureHttp: true }\n').artifacts.mavenRepository).toBe('http://nexus.internal/maven2');
  });

  it('refuses other schemes, credentials in the URL and non-URLs', () => {
    expect(
      problems('name: demo\nartifacts:\n  apacheMirror: "ftp://mirror.example.org/apache"\n  pypiIndex: "https://user:secret@pypi.internal"\n  mavenRepository: "not a url"\n  allowInsecureHttp: true\n'),
    ).toEqual([
      'artifacts.apacheMirror: "ftp://mirror.example.org/apache" is not an https URL (ftp) (hint: use an https:// URL, e.g. https://mirror.example.org/)',
      'artifacts.mavenRepository: is not a URL (hint: A Maven repository (Maven Central, or an Artifactory/Nexus mirror): an https URL, e.g. https://repo1.maven.org/maven2)',
      'artifacts.pypiIndex: holds a user name or password, which would show in logs (hint: use a mirror that allows anonymous reads from the nodes, without credentials in the URL)',
    ]);
  });
});

describe('networks and AWS names', () => {
  it('refuses CIDRs with host bits, suggesting the network', () => {
    expect(problems('name: demo\nnetwork: { sshCidr: 203.0.113.7/24, kafkaClientCidrs: [10.1.2.3/8] }\n')).toEqual([
      'network.kafkaClientCidrs[0]: "10.1.2.3/8" has host bits set after the /8 prefix (hint: did you mean 10.0.0.0/8? (or 10.1.2.3/32 for the one address))',
      'network.sshCidr: "203.0.113.7/24" has host bits set after the /24 prefix (hint: did you mean 203.0.113.0/24? (or 203.0.113.7/32 for the one address))',
    ]);
  });

  it('checks the VPC and subnet CIDRs: IPv4, /16 to /28, the subnet inside the VPC', () => {
    expect(problems('name: demo\naws: { vpcCidr: 10.42.0.0/8, subnetCidr: banana }\n')).toEqual([
      'aws.subnetCidr: "banana" is not a valid IPv4 CIDR (hint: write an IPv4 network and prefix length, e.g. 10.42.1.0/24)',
      'aws.vpcCidr: "10.42.0.0/8": AWS takes /16 to /28 for a VPC (hint: use a prefix length from 16 to 28)',
    ]);
    expect(problems('name: demo\naws: { vpcCidr: 10.42.0.0/16, subnetCidr: 10.43.1.0/24 }\n')).toEqual([
      'aws.subnetCidr: "10.43.1.0/24" is not inside aws.vpcCidr 10.42.0.0/16 (hint: pick a subnet of 10.42.0.0/16, e.g. 10.42.0.0/24)',
    ]);
  });

  it('checks the availability zone against the region, and the S3 state names', () => {
    expect(
      problems('name: demo\naws:\n  region: eu-west-1\n  availabilityZone: us-east-1a\n  state: { backend: s3, bucket: My_Bucket, key: /abs, dynamodbTable: "x" }\n'),
    ).toEqual([
      'aws.availabilityZone: "us-east-1a" is not in aws.region eu-west-1 (hint: use a zone of eu-west-1, e.g. eu-west-1a, or change aws.region)',
      'aws.state.bucket: is not an S3 bucket name (hint: S3 bucket name: 3 to 63 of a-z, 0-9, ".", "-", e.g. my-terraform-state)',
      'aws.state.dynamodbTable: is not a DynamoDB table name (hint: DynamoDB table for state locking: 3 to 255 of A-Z, a-z, 0-9, "_", ".", "-", e.g. terraform-locks)',
      'aws.state.key: must be an object key without spaces or a leading "/" (hint: Object key of the state file, e.g. millrace/demo.tfstate)',
    ]);
  });

  it('refuses override properties that would break the rendered files', () => {
    expect(problems('name: demo\nkafka:\n  overrides:\n    "log retention": 1\n    log.retention.hours: "72\\nssl.client.auth=none"\n')).toEqual([
      'kafka.overrides.log retention: "log retention" is not a property name (hint: write the property as the component names it, e.g. log.retention.hours)',
      'kafka.overrides.log.retention.hours: holds a line break or another control character (hint: a property value is one line of text)',
    ]);
  });
});

describe('hints and suggestions', () => {
  it('suggests the close key at any depth, and lists the valid keys when none is close', () => {
    expect(
      problems(`name: demo
aws: { regoin: eu-west-1, state: { backend: s3, bucket: my-state, dynamoTable: locks } }
nodes:
  - { name: kafka-1, roles: [kafka, namenode, datanode], adress: 127.0.0.11 }
artifacts: { mirror: "https://x.example" }
`),
    ).toEqual([
      'artifacts: unknown key "mirror" (hint: valid keys here: source, apacheMirror, mavenRepository, pypiIndex, allowInsecureHttp, cacheDir)',
      'aws: unknown key "regoin" (hint: did you mean "region"?)',
      'aws.state: unknown key "dynamoTable" (hint: did you mean "dynamodbTable"?)',
      'nodes[0]: unknown key "adress" (hint: did you mean "address"?)',
    ]);
  });

  it('suggests close values of fixed sets', () => {
    expect(problems(`name: demo\ntarget: statik\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode, spark-workr] }\n`)).toEqual([
      'nodes[0].roles[3]: "spark-workr" is not one of kafka, spark-master, spark-worker, namenode, datanode, kms, kdc, monitor (hint: did you mean "spark-worker"? valid values: kafka, spark-master, spark-worker, namenode, datanode, kms, kdc, monitor)',
      'target: "statik" is not one of aws, static, local (hint: did you mean "static"? valid values: aws, static, local)',
    ]);
    expect(problems('name: demo\naws: { amiFamily: debian12 }\n')).toEqual(['aws.amiFamily: "debian12" is not one of debian-12, ubuntu-24.04 (hint: did you mean "debian-12"?)']);
  });

  it('did-you-mean only when close', () => {
    expect(didYouMean('sshCIDR', ['sshCidr', 'kafkaClientCidrs'])).toBe('sshCidr');
    expect(didYouMean('nodse', ['name', 'nodes', 'network'])).toBe('nodes');
    expect(didYouMean('banana', ['name', 'nodes', 'network'])).toBeUndefined();
    expect(didYouMean('x', ['aws'])).toBeUndefined();
  });

  it('puts a hint on every problem of a config that is wrong everywhere', () => {
    const all = issues(`name: Bad_Name
target: gcp
aws: { region: mars, rootVolumeGb: 2, dataVolumeGb: big, vpcId: banana, amiFamily: arch, state: { backend: gcs } }
nodes:
  - { name: K, roles: [], instanceType: banana.superhuge, adress: x }
  - { name: hdfs-1, roles: [namenod], user: "Root!" }
versions: { kafka: 3.9.0, java: 8 }
network: { sshCidr: 0.0.0.0/0, kafkaClientCidrs: nope }
ssh: { publicKey: "", privateKeyPath: 3 }
artifacts: { source: npm, apacheMirror: "http://x", allowInsecureHttp: "yes" }
kafka: { overrides: { a: [1] } }
spark: 12
extra: true
`);
    expect(all.length).toBeGreaterThan(15);
    for (const i of all) expect(i.hint ?? `no hint for ${i.path}: ${i.message}`).toMatch(/\S/);
    expect(all.filter((i) => !i.hint)).toEqual([]);
  });
});
