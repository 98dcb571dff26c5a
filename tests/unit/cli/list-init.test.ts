/**
 * `millrace list` over a state directory made here (its health probe against real listening and
 * closed ports), and `init --target` for each target. Needs `npm run build`.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeTargets } from '../../../cli/commands/list';
import type { InventoryNode } from '../../../lib/inventory';

const REPO = path.resolve(__dirname, '../../..');
const MAIN = path.join(REPO, 'dist/cli/main.js');

let home: string;
beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-list-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: home, MILLRACE_HOME: path.join(home, '.millrace') });

function millrace(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: home, env: env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

function writeInventory(cluster: string, sshPort: number, createdAt: string): void {
  const dir = path.join(home, '.millrace', 'clusters', cluster);
  fs.mkdirSync(dir, { recursive: true });
  const node = (name: string, roles: string[]) => ({ name, roles, sshAddress: '127.0.0.1', sshPort, sshUser: 'admin', privateKeyPath: '/k', privateAddress: '192.0.2.1' });
  fs.writeFileSync(path.join(dir, 'inventory.json'), JSON.stringify({ cluster, target: 'aws', createdAt, nodes: [node('kafka-1', ['kafka']), node('hdfs-1', ['namenode', 'datanode'])] }));
}

describe('millrace list', () => {
  it('says there are no clusters in an empty state directory', async () => {
    const r = await millrace(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^no clusters in \S+clusters\nnext: `millrace up` creates one/);
  });

  it('lists each cluster with target, nodes, creation time and a quick health probe, in under 3 s', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const open = (server.address() as net.AddressInfo).port;
    const closing = net.createServer();
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    const closed = (closing.address() as net.AddressInfo).port;
    await new Promise((resolve) => closing.close(resolve));
    try {
      writeInventory('alive', open, '2026-01-02T03:04:05.000Z');
      writeInventory('dead', closed, '2026-01-01T00:00:00.000Z');
      fs.mkdirSync(path.join(home, '.millrace', 'clusters', 'gone'), { recursive: true });
      const r = await millrace(['list', '--json']);
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(3000);
      const rows = JSON.parse(r.stdout) as { name: string; target: string | null; nodes: number; createdAt: string | null; health: string; open: number; probed: number }[];
      expect(rows.map((c) => [c.name, c.target, c.nodes, c.createdAt, c.health])).toEqual([
        ['alive', 'aws', 2, '2026-01-02T03:04:05.000Z', 'healthy'],
        ['dead', 'aws', 2, '2026-01-01T00:00:00.000Z', 'down'],
        ['gone', null, 0, null, 'no nodes'],
      ]);
      // Reached at another address than their private one (aws): only SSH is probed, once per address.
      expect(rows[0]!.probed).toBe(1);
      const human = await millrace(['list']);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^NAME +TARGET +NODES +CREATED +HEALTH$/m);
      expect(human.stdout).toMatch(/^alive +aws +2 +2026-01-02T03:04:05Z \(\d+d ago\) +healthy \(1\/1 ports\)$/m);
      expect(human.stdout).toMatch(/^dead +aws +2 .* down \(0\/1 ports\): not answering: kafka-1 ssh/m);
      expect(human.stdout).toMatch(/^gone +- +0 +- +no nodes: no inventory/m);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("probes a node's service ports where its private address is the one reached (local, static), only those the flow table opens to the operator", () => {
    const node = { sshPort: 22, sshUser: 'admin', privateKeyPath: '/k' };
    const ports = (name: string, roles: InventoryNode['roles'], address: string): number[] =>
      probeTargets({ ...node, name, roles, sshAddress: address, privateAddress: address }).map((t) => t.port).sort((a, b) => a - b);
    // Kafka's CLIENT listener (millrace's own clients use it here); not the controller port.
    expect(ports('kafka-1', ['kafka'], '127.0.0.31')).toEqual([22, 9093]);
    // The web UIs; not the RPC ports (7077, 7078), which only Spark nodes reach.
    expect(ports('spark-1', ['spark-master', 'spark-worker'], '127.0.0.32')).toEqual([22, 8080, 8081, 8480, 8481]);
    // The web UIs; not the NameNode's RPC, the DataNode's transfer and IPC ports, or the KMS.
    expect(ports('hdfs-1', ['namenode', 'datanode', 'kms'], '127.0.0.33')).toEqual([22, 9865, 9871]);
    // 9093 goes with every broker having a public address (their clients use EXTERNAL), and only then.
    const broker = (n: number, publicAddress?: string): InventoryNode => ({ ...node, name: `kafka-${n}`, roles: ['kafka'], sshAddress: `127.0.0.3${n}`, privateAddress: `127.0.0.3${n}`, ...(publicAddress ? { publicAddress } : {}) });
    const both = [broker(1, '127.0.1.31'), broker(2, '127.0.1.32')];
    expect(probeTargets(both[0]!, both).map((t) => t.port)).toEqual([22]);
    const mixed = [broker(1, '127.0.1.31'), broker(2)];
    expect(probeTargets(mixed[0]!, mixed).map((t) => t.port)).toEqual([22, 9093]);
  });
});

describe('millrace init --target', () => {
  const init = (args: string[]) => spawnSync(process.execPath, [MAIN, 'init', ...args], { cwd: home, env: env(), encoding: 'utf8' });
  const validate = (file: string) => spawnSync(process.execPath, [MAIN, 'validate', '--json', '-c', file], { cwd: home, env: env(), encoding: 'utf8' });

  it('local: a commented config that validates as written, with the name given', () => {
    const file = path.join(home, 'local.yaml');
    const r = init(['--target', 'local', '--name', 'analytics', '-c', file]);
    expect(r.status).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=(\S+)\n# millrace cluster config for the local target/);
    expect(fs.existsSync(/^# yaml-language-server: \$schema=(\S+)/.exec(text)?.[1] ?? '')).toBe(true);
    expect(text.split('\n').filter((l) => l.trim().startsWith('#')).length).toBeGreaterThan(10);
    const v = validate(file);
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ name: 'analytics', target: 'local' });
  });

  it.each([
    ['aws', /YOUR\.PUBLIC\.IP\/32/g, '198.51.100.7/32', ['network.sshCidr']],
    ['static', /YOUR_HOST_\d/g, '10.0.0.9', ['nodes[0].address', 'nodes[1].address', 'nodes[2].address']],
  ] as const)('%s: fails validation only on its placeholders, each named; validates once they are filled', (target, placeholder, value, paths) => {
    const file = path.join(home, `${target}.yaml`);
    expect(init(['--target', target, '--name', 'analytics', '-c', file]).status).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/CHANGE ME/);
    const v = validate(file);
    expect(v.status).toBe(2);
    const doc = JSON.parse(v.stdout) as { ok: boolean; problems: { path: string; message: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.problems.map((p) => p.path).sort()).toEqual([...paths].sort());
    for (const p of doc.problems) expect(p.message).toMatch(/YOUR/);
    let i = 0;
    fs.writeFileSync(file, text.replace(placeholder, () => (target === 'static' ? `10.0.0.${++i}` : value)));
    const ok = validate(file);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'analytics', target });
  });

  it('refuses to overwrite without --force, and overwrites with it', () => {
    const file = path.join(home, 'twice.yaml');
    expect(init(['-c', file]).status).toBe(0);
    const again = init(['--target', 'aws', '-c', file]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists\nhint: pass --force/);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/target: local/);
    expect(init(['--target', 'aws', '--force', '-c', file]).status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/target: aws/);
  });
});
