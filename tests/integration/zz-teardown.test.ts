/** Runs last: `down` leaves no node processes, mounts or containers behind. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { DeniedConnection, deniedConnections } from '../../targets/local/firewall';
import { ADDRESSES, cli, CLUSTER, CONFIG, DELIBERATE_DENIALS, stateDir } from './harness';

function processesMentioning(dir: string): string[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      return cmd.includes(dir) ? [`${pid}: ${cmd}`] : [];
    } catch {
      return [];
    }
  });
}

const sshAnswers = (address: string): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: address, port: 22, timeout: 1000 });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
    s.on('timeout', () => (s.destroy(), resolve(false)));
  });

describe('teardown', () => {
  it("the local firewall dropped no connection during the run but the deliberate ones (50-security's, 32-metrics'): every flow the tests caused is in the flow table", async () => {
    const named = (a: string): string => Object.entries(ADDRESSES).find(([, x]) => x === a)?.[0] ?? (a === '127.0.0.1' ? 'operator' : a);
    const key = (d: DeniedConnection): string => `${named(d.from)} (${d.from}) -> ${named(d.to)} (${d.to}):${d.port}`;
    const controls = new Set(DELIBERATE_DENIALS.map(key));
    const unexpected = (await deniedConnections(CLUSTER)).map(key).filter((k) => !controls.has(k));
    expect(unexpected).toEqual([]);
  });

  it('`down --yes` stops and removes every node, leaving no processes, mounts or files', async () => {
    const nodes = path.join(stateDir(), 'nodes');
    expect(processesMentioning(nodes).length).toBeGreaterThanOrEqual(3);
    const r = await cli(['down', '--yes', '-c', CONFIG]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster "itest" destroyed: removed .*kafka-1/);
    expect(processesMentioning(nodes)).toEqual([]);
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(nodes));
    expect(mounts).toEqual([]);
    expect(fs.existsSync(nodes) ? fs.readdirSync(nodes) : []).toEqual([]);
    for (const a of Object.values(ADDRESSES)) expect(await sshAnswers(a)).toBe(false);
    expect(fs.existsSync(path.join(stateDir(), 'inventory.json'))).toBe(false);
    // The firewall goes with the nodes.
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(`millrace-${CLUSTER}\n`);
  });
});
