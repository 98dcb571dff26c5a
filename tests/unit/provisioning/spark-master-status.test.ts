import { listApps } from '../../../provisioning/jobs/apps';
import { fetchMasterStatus, sparkMasterService } from '../../../provisioning/services/spark';
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
