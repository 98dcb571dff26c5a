import { listApps } from '../../../provisioning/jobs/apps';
import type { NodeContext } from '../../../provisioning/service';
import { decommissionWorker, fetchMasterStatus, sparkMasterService, sparkWorkerService } from '../../../provisioning/services/spark';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const facts = factsFor();
const status = {
  status: 'ALIVE',
  workers: [{ host: '127.0.0.12', state: 'ALIVE' }],
  activeapps: [{ id: 'app-1', name: 'millrace-ingest-flights', state: 'RUNNING', cores: 1, memoryperexecutor: 1024, submitdate: 'today', duration: 61_400 }],
};
const isStatus = (c: string): boolean => c.includes('/json/');

describe("the Spark master's status", () => {
  it('is read by one request, over HTTPS verified against the cluster CA, for `jobs` as for the health check', async () => {
    const host = fakeHost('spark-1', (c) => (isStatus(c) ? { stdout: JSON.stringify(status) } : c.includes('app-id') ? { stdout: '/var/lib/millrace/spark/apps/x/app-id:app-1\n' } : undefined));
    expect(await fetchMasterStatus(host, facts)).toEqual(status);
    expect(host.commands[0]).toBe("curl -sS --fail --max-time 10 --cacert /etc/millrace/tls/ca.pem https://127.0.0.12:8480/json/");
    expect(await listApps(facts, host)).toEqual([
      { id: 'app-1', name: 'millrace-ingest-flights', state: 'RUNNING', cores: 1, memoryPerExecutorMB: 1024, submitted: 'today', durationSeconds: 61, workDir: '/var/lib/millrace/spark/apps/x' },
    ]);
    expect(host.commands.filter(isStatus)).toHaveLength(2);
    expect(new Set(host.commands.filter(isStatus)).size).toBe(1);
  });

  it('names the host when the answer is not JSON; the health check reports no answer instead of throwing', async () => {
    const host = fakeHost('spark-1', (c) => (isStatus(c) ? { stdout: '<html>proxy error</html>' } : c.startsWith('systemctl') ? { stdout: 'active' } : undefined));
    await expect(fetchMasterStatus(host, facts)).rejects.toThrow("spark-1: the Spark master's status is not JSON: <html>proxy error</html>");
    const health = await sparkMasterService.healthCheck(host, { cluster: facts, node: facts.sparkMaster! });
    expect(health.checks.find((c) => c.name === 'master status')).toEqual({ name: 'master status', ok: false, detail: 'no answer from the master UI' });
  });
});

describe("a worker on another node than the master's", () => {
  // The master's UI is open to the operator and the master's node only (lib/flows.ts): on EC2 a
  // curl from the worker's node is dropped by the security group, so it is read on the master's node.
  const worker = { ...facts.nodes[0]!, name: 'worker-2', roles: ['spark-worker' as const], privateAddress: '127.0.0.14', sshAddress: '127.0.0.14' };
  const listing = (state: string) => JSON.stringify({ status: 'ALIVE', workers: [{ host: '127.0.0.14', state }], activeapps: [] });

  it("is checked for its registration on the master's node, over the caller's connection to it, never from its own", async () => {
    const own = fakeHost('worker-2');
    const master = fakeHost('spark-1', (c) => (isStatus(c) ? { stdout: listing('ALIVE') } : undefined));
    const ctx: NodeContext = { cluster: facts, node: worker, peers: new Map([['spark-1', master]]) };
    const health = await sparkWorkerService.healthCheck(own, ctx);
    expect(health.checks.find((c) => c.name === 'registered with master')).toEqual({ name: 'registered with master', ok: true, detail: 'ALIVE' });
    expect(master.commands.filter(isStatus)).toHaveLength(1);
    expect(own.commands.filter((c) => c.includes('curl'))).toEqual([]);
  });

  it("fails the check and names the master's node when the caller holds no connection to it", async () => {
    const own = fakeHost('worker-2');
    const health = await sparkWorkerService.healthCheck(own, { cluster: facts, node: worker });
    expect(health.healthy).toBe(false);
    expect(health.checks.find((c) => c.name === 'registered with master')).toEqual({
      name: 'registered with master',
      ok: false,
      detail: "no SSH connection to the master's node, spark-1, to read its status",
    });
    expect(own.commands.filter((c) => c.includes('curl'))).toEqual([]);
  });

  it('is stopped with a warning, not signalled, when the master cannot be asked whether it is decommissioned', async () => {
    // The worker's JVM handles SIGPWR (the probe succeeds); only the master's answer is missing.
    const own = fakeHost('worker-2');
    expect(await decommissionWorker(own, { cluster: facts, node: worker })).toEqual({
      message: "not decommissioned (no SSH connection to the master's node, spark-1, to read its status); stopped without it",
      warn: true,
    });
    expect(own.commands.some((c) => c.startsWith('systemctl kill'))).toBe(false);
  });
});
