/**
 * The aws target, applied for real by terraform (from PATH, with the AWS provider from a
 * filesystem mirror) against an EC2/KMS/STS API emulator on loopback, through the real CLI:
 * plan → saved plan → `up --infra-only --plan` → inventory → `describe` → `down`, with the result
 * read back through the EC2 and KMS APIs. The emulator's instances can't be reached, so this stops
 * before SSH; the provisioning half runs on the local nodes, which boot with the same user-data.
 */
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient } from '@aws-sdk/client-kms';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfigText } from '../../lib/config';
import type { Inventory } from '../../lib/inventory';
import { planIngress } from '../../stacks/ingress-plan';
import { renderUserData } from '../../templates/cloud-init';
import { EMULATOR_AMI, startEmulator, type Emulator } from '../fixtures/aws-emulator';
import { cli, ENV, randomName, TEST_DIR, writeConfig } from './harness';

const CLUSTER = 'itest-aws';
const DIR = path.join(TEST_DIR, 'aws-emulator');
const YAML = `name: ${CLUSTER}
target: aws
aws:
  region: us-east-1
  ami: ${EMULATOR_AMI}
network:
  sshCidr: 198.51.100.7/32
  kafkaClientCidrs: [203.0.113.0/24]
artifacts:
  source: maven
`;

let emulator: Emulator;
let env: NodeJS.ProcessEnv;
let config: string;
let ec2: EC2Client;
let kms: KMSClient;
const tagged = [{ Name: 'tag:millrace:cluster', Values: [CLUSTER] }];

async function liveInstances(): Promise<Instance[]> {
  const r = await ec2.send(new DescribeInstancesCommand({ Filters: tagged }));
  return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
}

beforeAll(async () => {
  fs.rmSync(DIR, { recursive: true, force: true });
  emulator = await startEmulator(DIR);
  // A state directory of its own: nothing of the shared local cluster is touched.
  env = { ...ENV, ...emulator.env, MILLRACE_HOME: path.join(DIR, 'home') };
  config = writeConfig(path.join(DIR, 'aws.yaml'), YAML);
  const clients = { region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  ec2 = new EC2Client(clients);
  kms = new KMSClient(clients);
});

afterAll(async () => {
  // If a test failed half-way, leave nothing applied behind in the emulator's state dir.
  if (fs.existsSync(path.join(DIR, 'home', 'clusters', CLUSTER, 'terraform.tfstate'))) await cli(['down', '--yes', '-c', config], { env });
  ec2?.destroy();
  kms?.destroy();
  await emulator?.stop();
});

describe('aws target against the EC2 API emulator', () => {
  let inventory: Inventory;

  it('`up` without --yes and no terminal to ask on shows the plan, refuses, and creates nothing', async () => {
    const r = await cli(['up', '--infra-only', '-c', config], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to apply without confirmation \(no terminal to ask on\)/);
    expect(r.stderr).toMatch(/hint: pass --yes, or save the plan with `millrace plan --target aws -o FILE`/);
    expect(await liveInstances()).toEqual([]);
  });

  it('`plan -o` saves a plan and `up --infra-only --plan` applies exactly it, printing the inventory the provisioner would get', async () => {
    const planFile = path.join(DIR, `${randomName('cluster')}.tfplan`);
    const plan = await cli(['plan', '--json', '-o', planFile, '-c', config], { env });
    expect(`${plan.code} ${plan.stderr.slice(-2000)}`).toMatch(/^0 /);
    const summary = JSON.parse(plan.stdout) as { create: number; update: number; destroy: number; replace: number; planFile: string };
    expect(summary).toMatchObject({ update: 0, destroy: 0, replace: 0, planFile });
    // Everything the synthesized stack declares, and nothing else.
    const synthesized = JSON.parse(fs.readFileSync(path.join(DIR, 'home', 'clusters', CLUSTER, 'synth', 'stacks', 'cluster', 'cdk.tf.json'), 'utf8')) as {
      resource: Record<string, Record<string, unknown>>;
    };
    expect(summary.create).toBe(Object.values(synthesized.resource).reduce((n, byName) => n + Object.keys(byName).length, 0));
    expect(summary.create).toBeGreaterThan(40);
    expect((fs.statSync(planFile).mode & 0o777).toString(8)).toBe('600');

    const up = await cli(['up', '--infra-only', '--json', '--plan', planFile, '-c', config], { env });
    expect(`${up.code} ${up.stderr.slice(-3000)}`).toMatch(/^0 /);
    expect(up.stderr).toMatch(new RegExp(`Apply complete! Resources: ${summary.create} added, 0 changed, 0 destroyed`));
    inventory = (JSON.parse(up.stdout) as { inventory: Inventory }).inventory;
    expect(inventory.target).toBe('aws');
    expect(inventory.nodes.map((n) => n.name)).toEqual(['kafka-1', 'spark-1', 'hdfs-1']);
    for (const n of inventory.nodes) {
      expect(n).toMatchObject({ sshUser: 'admin', sshPort: 22, dataVolume: { sizeBytes: 100 * 1024 ** 3, deviceTypes: ['disk'] } });
      expect(n.id).toMatch(/^i-[0-9a-f]+$/);
      expect(n.privateAddress).toMatch(/^10\.42\.1\.\d+$/);
      expect(n.sshAddress).toBe(n.publicAddress);
    }
  });

  it('the instances require IMDSv2 with hop limit 1, boot the same user-data as the local nodes, and carry the cluster tags', async () => {
    const instances = await liveInstances();
    expect(instances.map((i) => i.InstanceId).sort()).toEqual(inventory.nodes.map((n) => n.id).sort());
    const publicKey = fs.readFileSync(path.join(DIR, 'home', 'clusters', CLUSTER, 'ssh', 'id_ed25519.pub'), 'utf8').trim();
    const expected = renderUserData(CLUSTER, 'admin', publicKey);
    for (const i of instances) {
      expect(i.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      const tags = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]));
      const node = inventory.nodes.find((n) => n.id === i.InstanceId)!;
      expect(tags).toMatchObject({ 'millrace:cluster': CLUSTER, 'managed-by': 'millrace', 'millrace:role': node.roles.join('+'), Name: `${CLUSTER}-${node.name}` });
      const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: i.InstanceId, Attribute: 'userData' }));
      expect(Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8')).toBe(expected);
    }
  });

  it("root and data volumes are encrypted with the stack's customer-managed key, which rotates", async () => {
    const volumes = (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: inventory.nodes.map((n) => n.id!) }] }))).Volumes ?? [];
    expect(volumes).toHaveLength(inventory.nodes.length * 2);
    const keys = new Set(volumes.map((v) => v.KmsKeyId));
    expect(keys.size).toBe(1);
    const key = [...keys][0]!;
    expect(key).toMatch(/^arn:aws:kms:us-east-1:\d+:key\//);
    for (const v of volumes) expect([v.VolumeId, v.Encrypted, v.VolumeType]).toEqual([v.VolumeId, true, 'gp3']);
    expect(volumes.map((v) => v.Size).sort((a, b) => a! - b!)).toEqual([30, 30, 30, 100, 100, 100]);
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: key }))).KeyRotationEnabled).toBe(true);
    // The key policy is the stack's, not the default: use only through EC2 in the region, by this account.
    const policy = JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: key, PolicyName: 'default' }))).Policy ?? '{}') as {
      Statement: { Sid: string; Action: string[]; Condition?: Record<string, Record<string, string>> }[];
    };
    const account = /^arn:aws:kms:us-east-1:(\d+):key\//.exec(key)![1];
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['AccountAdministersTheKey', 'AccountUsesItOnlyThroughEc2']);
    expect(policy.Statement[1]!.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com', 'kms:CallerAccount': account } });
    expect(policy.Statement[0]!.Action).not.toContain('kms:Decrypt');
  });

  it('security groups hold exactly the planned ingress rules, none open to the world', async () => {
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }))).SecurityGroups ?? [];
    const roleOf = new Map(groups.map((g) => [g.GroupId!, (g.Tags ?? []).find((t) => t.Key === 'millrace:role')?.Value ?? '?']));
    const actual = groups.flatMap((g) =>
      (g.IpPermissions ?? []).flatMap((p) => [
        ...(p.IpRanges ?? []).map((r) => `${roleOf.get(g.GroupId!)} ${p.FromPort}-${p.ToPort} from ${r.CidrIp}`),
        ...(p.Ipv6Ranges ?? []).map((r) => `${roleOf.get(g.GroupId!)} ${p.FromPort}-${p.ToPort} from ${r.CidrIpv6}`),
        ...(p.UserIdGroupPairs ?? []).map((u) => `${roleOf.get(g.GroupId!)} ${p.FromPort}-${p.ToPort} from sg:${roleOf.get(u.GroupId!)}`),
      ]),
    );
    const planned = planIngress(parseConfigText(YAML)).map(
      (r) => `${r.groupRoles.join('+')} ${r.fromPort}-${r.toPort} from ${r.source.kind === 'cidr' ? r.source.cidr : r.source.kind === 'bastion' ? 'sg:bastion' : `sg:${r.source.roles.join('+')}`}`,
    );
    expect(actual.sort()).toEqual(planned.sort());
    expect(actual.filter((a) => / from (0\.0\.0\.0\/0|::\/0)$/.test(a))).toEqual([]);
    // Egress: the VPC, and HTTPS anywhere; nothing else.
    expect(groups.map((g) => g.GroupName).sort()).toEqual(['default', ...['kafka', 'spark-master+spark-worker+monitor', 'namenode+datanode+kms'].map((r) => `millrace-${CLUSTER}-${r}`)].sort());
    for (const g of groups) {
      const egress = (g.IpPermissionsEgress ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.IpProtocol} ${p.FromPort ?? ''}-${p.ToPort ?? ''} to ${r.CidrIp}`));
      // The VPC's default group, emptied by the stack, allows nothing.
      const expected = g.GroupName === 'default' ? [] : ['-1 - to 10.42.0.0/16', 'tcp 443-443 to 0.0.0.0/0'];
      expect([g.GroupName, egress.sort()]).toEqual([g.GroupName, expected.sort()]);
    }
    // Every instance is in exactly one group, the one of its role combination (AWS allows 5 per interface).
    for (const i of await liveInstances()) {
      const node = inventory.nodes.find((n) => n.id === i.InstanceId)!;
      // The quota is per network interface, so read the groups off each one.
      expect(i.NetworkInterfaces?.length).toBeGreaterThan(0);
      for (const eni of i.NetworkInterfaces ?? []) expect((eni.Groups ?? []).map((g) => roleOf.get(g.GroupId!))).toEqual([node.roles.join('+')]);
    }
  });

  it('`describe` shows the nodes and the endpoints, Kafka at the public addresses for the operator', async () => {
    const r = await cli(['describe', '--json', '-c', config], { env });
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { endpoints: { name: string; from: string; url: string }[] };
    const operatorKafka = d.endpoints.find((e) => e.name === 'Kafka bootstrap servers' && e.from === 'operator')!.url;
    expect(operatorKafka).toBe(inventory.nodes.filter((n) => n.roles.includes('kafka')).map((n) => `${n.publicAddress}:9095`).join(','));
    expect(d.endpoints.find((e) => e.name === 'HDFS')!.url).toBe(`hdfs://${inventory.nodes.find((n) => n.name === 'hdfs-1')!.privateAddress}:8020`);
  });

  it('`down --yes` destroys everything, waits for it, and reports the KMS key pending deletion with its date', async () => {
    const r = await cli(['down', '--yes', '--json', '-c', config], { env });
    expect(`${r.code} ${r.stderr.slice(-3000)}`).toMatch(/^0 /);
    const result = JSON.parse(r.stdout) as { removed: string[]; left: string[] };
    expect(result.removed.sort()).toEqual(['hdfs-1', 'kafka-1', 'spark-1']);
    expect(result.left).toHaveLength(1);
    expect(result.left[0]).toMatch(/^KMS key [0-9a-f-]+: pending deletion until \d{4}-\d\d-\d\dT/);
    expect(await liveInstances()).toEqual([]);
    expect((await ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }))).SecurityGroups ?? []).toEqual([]);
    expect((await ec2.send(new DescribeVpcsCommand({ Filters: tagged }))).Vpcs ?? []).toEqual([]);
    expect((await ec2.send(new DescribeVolumesCommand({ Filters: tagged }))).Volumes ?? []).toEqual([]);
  });
});
