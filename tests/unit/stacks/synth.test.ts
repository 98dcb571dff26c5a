import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../lib/config';
import { synthClusterStack } from '../../../stacks';
import { Json, PUBLIC_KEY } from './stack-fixture';

let home: string;
const savedHome = process.env.MILLRACE_HOME;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-synth-'));
  process.env.MILLRACE_HOME = home;
});
afterEach(() => {
  if (savedHome === undefined) delete process.env.MILLRACE_HOME;
  else process.env.MILLRACE_HOME = savedHome;
  fs.rmSync(home, { recursive: true, force: true });
});

const example = () => parseConfigText(fs.readFileSync('examples/aws.yaml', 'utf8'), 'examples/aws.yaml');

describe('synthClusterStack', () => {
  it('writes cdk.tf.json in the stack directory and says where', () => {
    const out = path.join(home, 'out');
    const result = synthClusterStack(example(), out, PUBLIC_KEY);
    expect(result.stackDir).toBe(path.join(out, 'stacks', 'cluster'));
    expect(result.file).toBe(path.join(result.stackDir, 'cdk.tf.json'));
    const doc = JSON.parse(fs.readFileSync(result.file, 'utf8')) as Json;
    expect(Object.keys(doc.resource.aws_instance)).toHaveLength(3);
  });

  it('keeps local state in the cluster state directory under MILLRACE_HOME', () => {
    const result = synthClusterStack(example(), path.join(home, 'out'), PUBLIC_KEY);
    const doc = JSON.parse(fs.readFileSync(result.file, 'utf8')) as Json;
    expect(doc.terraform.backend.local.path).toBe(path.join(home, 'clusters', 'millrace-aws', 'terraform.tfstate'));
  });

  it('writes the same file again on a second synth and keeps terraform\'s working files', () => {
    const out = path.join(home, 'out');
    const first = synthClusterStack(example(), out, PUBLIC_KEY);
    const before = fs.readFileSync(first.file, 'utf8');
    fs.mkdirSync(path.join(first.stackDir, '.terraform'));
    const second = synthClusterStack(example(), out, PUBLIC_KEY);
    expect(fs.readFileSync(second.file, 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(second.stackDir, '.terraform'))).toBe(true);
  });
});

// What `millrace synth -c examples/aws.yaml` must write (issue 2's acceptance criteria).
describe('acceptance: the stack for examples/aws.yaml', () => {
  it('has exactly 3 aws_instance, each with IMDSv2 required and an encrypted root volume, and no open ingress', () => {
    const config = example();
    const result = synthClusterStack(config, path.join(home, 'out'), PUBLIC_KEY);
    const doc = JSON.parse(fs.readFileSync(result.file, 'utf8')) as Json;
    const instances = Object.values(doc.resource.aws_instance) as Json[];
    expect(instances).toHaveLength(3);
    for (const i of instances) {
      expect(i.metadata_options.http_tokens).toBe('required');
      expect(i.root_block_device.encrypted).toBe(true);
    }
    const ingress = Object.values(doc.resource.aws_vpc_security_group_ingress_rule) as Json[];
    expect(ingress.length).toBeGreaterThan(0);
    for (const r of ingress) expect(['0.0.0.0/0', '::/0']).not.toContain(r.cidr_ipv4 ?? r.cidr_ipv6);
    for (const sg of Object.values(doc.resource.aws_security_group) as Json[]) expect(sg.ingress).toBeUndefined();
  });
});
