/** Runs last: `down` leaves no node processes, mounts or containers behind. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ADDRESSES, cli, CONFIG, stateDir } from './harness';

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
  });
});
