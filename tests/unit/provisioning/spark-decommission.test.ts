/**
 * decommissionWorker's probe, run by bash against real processes of this machine: SIGPWR goes only
 * to a worker whose process handles it (a process that does not would be ended by it) and that the
 * master lists ALIVE; then the master's DECOMMISSIONED listing is waited for. systemctl and the
 * master's status are stood in for (no systemd here, no master).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { NodeContext } from '../../../provisioning/service';
import { decommissionWorker } from '../../../provisioning/services/spark';
import { fakeHost, type FakeHost } from './fake-host';

const ctx = { cluster: { sparkMaster: { name: 'spark-1', privateAddress: '10.0.0.3' } }, node: { name: 'spark-1', privateAddress: '10.0.0.3' } } as unknown as NodeContext;

/** A host whose `systemctl show` names `pid` as the worker's main process, and whose master lists the worker as `state` (DECOMMISSIONED once signalled). */
function workerHost(pid: number, state: string | undefined, { hangs = false } = {}): FakeHost {
  let listed = state;
  return fakeHost('spark-1', (command) => {
    if (command.startsWith('curl ')) return { stdout: JSON.stringify({ status: 'ALIVE', workers: listed ? [{ host: '10.0.0.3', state: listed }] : [], activeapps: [] }) };
    if (command.startsWith('systemctl kill')) {
      if (!hangs) listed = 'DECOMMISSIONED';
      return {};
    }
    try {
      return { stdout: execFileSync('bash', ['-c', `systemctl() { echo ${pid}; }; ${command}`], { encoding: 'utf8' }) };
    } catch (error) {
      return { code: (error as { status?: number }).status ?? 1 };
    }
  });
}

describe("the Spark worker's decommission before a restart", () => {
  const running: ChildProcess[] = [];
  const start = async (script: string): Promise<number> => {
    const p = spawn('bash', ['-c', script], { stdio: 'ignore' });
    running.push(p);
    await new Promise((r) => setTimeout(r, 300)); // the trap is set
    return p.pid!;
  };
  afterAll(() => running.forEach((p) => p.kill('SIGKILL')));

  it('signals a worker that handles SIGPWR and that the master lists ALIVE, and waits for DECOMMISSIONED', async () => {
    const host = workerHost(await start("trap 'true' PWR; while :; do sleep 1; done"), 'ALIVE');
    expect(await decommissionWorker(host, ctx)).toEqual({ message: 'decommissioned' });
    expect(host.commands.filter((c) => c.startsWith('systemctl kill'))).toEqual(['systemctl kill -s SIGPWR --kill-whom=main millrace-spark-worker.service']);
  });

  it('a worker the master never lists DECOMMISSIONED is stopped anyway, with a warning', async () => {
    const host = workerHost(await start("trap 'true' PWR; while :; do sleep 1; done"), 'ALIVE', { hangs: true });
    expect(await decommissionWorker(host, ctx, 1500)).toEqual({ message: 'the master did not list it decommissioned within 2 s; stopped anyway', warn: true });
  });

  it('sends nothing to a process that does not handle SIGPWR (it would end it): a plain restart', async () => {
    const host = workerHost(await start('exec sleep 60'), 'ALIVE');
    expect(await decommissionWorker(host, ctx)).toBeUndefined();
    expect(host.commands.some((c) => c.startsWith('systemctl kill'))).toBe(false);
  });

  it('sends nothing to a worker the master does not list ALIVE: nothing runs there to protect', async () => {
    const host = workerHost(await start("trap 'true' PWR; while :; do sleep 1; done"), undefined);
    expect(await decommissionWorker(host, ctx)).toBeUndefined();
    expect(host.commands.some((c) => c.startsWith('systemctl kill'))).toBe(false);
  });
});
