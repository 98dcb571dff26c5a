/**
 * The built CLI as a subprocess, the way a user runs it: exit codes 0, 1 and 2, and what goes to
 * stdout and stderr. Needs `npm run build` (npm test builds first).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliRun, REPO, runCli, tempHome } from './built-cli';

let home: string;
beforeAll(() => (home = tempHome('millrace-cli-')));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const millrace = (args: string[], env: NodeJS.ProcessEnv = {}): CliRun => runCli(home, args, { env });

const THREE_ERRORS = `name: Bad_Name
network:
  sshCidr: 0.0.0.0/0
nodes:
  - { name: kafka-1, roles: [kafka, brokr] }
  - { name: hdfs-1, roles: [namenode, datanode] }
`;

describe('millrace CLI', () => {
  it('--help lists every command and the exit codes, on stdout, exit 0', () => {
    const r = millrace(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const c of ['init', 'validate', 'synth', 'plan', 'up', 'down', 'describe', 'status', 'verify', 'ssh', 'exec', 'logs', 'doctor', 'topics', 'produce', 'consume', 'submit', 'jobs', 'demo', 'credentials']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    expect(r.stdout).toMatch(/Exit codes: 0 done, 1 failure, 2 usage or config error/);
  });

  it('synth -c examples/aws.yaml writes 3 instances with IMDSv2 and encrypted roots, and no open ingress', () => {
    const r = millrace(['synth', '-c', path.join(REPO, 'examples/aws.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = /^wrote (\S+)$/m.exec(r.stdout)?.[1];
    expect(file).toBeDefined();
    const stack = JSON.parse(fs.readFileSync(file!, 'utf8')) as { resource: Record<string, Record<string, Record<string, unknown>>> };
    const instances = Object.values(stack.resource.aws_instance ?? {}) as { metadata_options: { http_tokens: string }; root_block_device: { encrypted: boolean } }[];
    expect(instances).toHaveLength(3);
    for (const i of instances) {
      expect(i.metadata_options.http_tokens).toBe('required');
      expect(i.root_block_device.encrypted).toBe(true);
    }
    const ingress = Object.values(stack.resource.aws_vpc_security_group_ingress_rule ?? {}) as { cidr_ipv4?: string; cidr_ipv6?: string }[];
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule.cidr_ipv4).not.toBe('0.0.0.0/0');
      expect(rule.cidr_ipv6).not.toBe('::/0');
    }
    expect(JSON.stringify(stack.resource.aws_security_group ?? {})).not.toMatch(/"ingress":\s*\[\s*\{[^\]]*0\.0\.0\.0\/0/);
  });

  it('a config with 3 errors exits 2 and names all 3 with their paths, without a stack trace', () => {
    const file = path.join(home, 'three-errors.yaml');
    fs.writeFileSync(file, THREE_ERRORS);
    const r = millrace(['synth', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: ${file}: 3 problems in the cluster config`);
    expect(r.stderr).toContain('  - name: must be a lowercase DNS label');
    expect(r.stderr).toContain('  - network.sshCidr: "0.0.0.0/0" opens the port to the whole internet');
    expect(r.stderr).toContain('  - nodes[0].roles[1]: "brokr" is not one of kafka, spark-master, spark-worker, namenode, datanode, kms');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--debug (or LOG_LEVEL=debug) adds the stack trace to a user error', () => {
    const file = path.join(home, 'three-errors.yaml');
    fs.writeFileSync(file, THREE_ERRORS);
    for (const r of [millrace(['validate', '--debug', '-c', file]), millrace(['validate', '-c', file], { LOG_LEVEL: 'debug' })]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/\n\s+at /);
    }
  });

  it('a missing config file exits 2 and says how to make one', () => {
    const r = millrace(['validate', '-c', 'nope.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.yaml: 1 problem in the cluster config\n {2}- \(root\): \S*nope\.yaml does not exist \(hint: run `millrace init -c \S*nope\.yaml` to write one/);
  });

  it('an unknown command or option exits 2', () => {
    expect(millrace(['launch']).code).toBe(2);
    expect(millrace(['synth', '--bogus']).code).toBe(2);
  });

  it('a runtime failure exits 1 with a hint: status before any up', () => {
    fs.copyFileSync(path.join(REPO, 'examples/local.yaml'), path.join(home, 'millrace.yaml'));
    const r = millrace(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no inventory for cluster "local" at .*inventory\.json\nhint: run `millrace up` first/);
  });

  it('init writes a commented config that validates, and refuses to overwrite it', () => {
    const file = path.join(home, 'init.yaml');
    expect(millrace(['init', '-c', file]).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^(# yaml-language-server: \$schema=\S+\n)?# millrace cluster config/);
    const v = millrace(['validate', '-c', file]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ok: cluster "demo", target local, 3 nodes \(kafka-1: kafka, spark-1: spark-master\+spark-worker\+monitor, hdfs-1: namenode\+datanode\+kms\)/);
    const again = millrace(['init', '-c', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists\nhint: pass --force/);
  });

  it('--target goes through the same validation as target: in the file (an aws stack is never planned with a loopback SSH CIDR)', () => {
    const r = millrace(['plan', '--target', 'aws', '-c', path.join(REPO, 'examples/local.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("network.sshCidr: the aws target needs the operator's public CIDR for SSH");
    const s = millrace(['up', '--target', 'static', '-c', path.join(REPO, 'examples/local.yaml')]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('nodes[0].address: a static node needs an address');
    expect(millrace(['up', '--target', 'moon', '-c', path.join(REPO, 'examples/local.yaml')]).code).toBe(2);
  });

  it('refuses root as the login user where the nodes boot with cloud-init (root logins are refused there)', () => {
    const file = path.join(home, 'root-login.yaml');
    fs.writeFileSync(file, 'name: demo\ntarget: local\nssh:\n  user: root\n');
    const r = millrace(['validate', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ssh.user: the local target's nodes refuse root logins");
  });

  it('synthesizes the stack with the cloud-init user-data the local nodes boot with, the same for every instance', () => {
    const r = millrace(['synth', '--json', '-c', path.join(REPO, 'examples/aws.yaml')]);
    expect(r.code).toBe(0);
    const stack = JSON.parse(fs.readFileSync((JSON.parse(r.stdout) as { file: string }).file, 'utf8')) as { resource: { aws_instance: Record<string, { user_data: string }> } };
    const userData = Object.values(stack.resource.aws_instance).map((i) => i.user_data);
    expect(new Set(userData).size).toBe(1);
    expect(userData[0]).toMatch(/^#cloud-config\n/);
    expect(userData[0]).toMatch(/^ {2}- name: admin$/m);
    expect(userData[0]).toContain('sudo: "ALL=(ALL) NOPASSWD:ALL"');
    expect(userData[0]).toContain('PermitRootLogin no');
  });

  it('plan without terraform or tofu on PATH says how to install one', () => {
    const bin = fs.mkdtempSync(path.join(home, 'bin-'));
    const r = millrace(['plan', '--target', 'aws', '-c', path.join(REPO, 'examples/aws.yaml')], { PATH: bin });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/terraform/i);
    expect(r.stderr).toMatch(/tofu/i);
    expect(r.stderr).toMatch(/install/i);
  });
});
