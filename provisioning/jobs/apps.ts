/**
 * Running Spark applications, as the master knows them (its JSON status over HTTPS), joined with
 * the driver directories millrace keeps on the master node; and stopping one, over SSH.
 */
import { MillraceError } from '../../lib/errors';
import { q } from '../../lib/shell';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { sleep } from '../../lib/retry';
import { fetchMasterStatus } from '../services/spark';
import { APPS_DIR } from './submit';

export interface SparkApp {
  id: string;
  name: string;
  state: string;
  cores: number;
  memoryPerExecutorMB: number;
  submitted: string;
  durationSeconds: number;
  /** The driver's directory on the master node, when millrace submitted it. */
  workDir?: string;
}

export async function listApps(facts: ClusterFacts, master: RemoteHost): Promise<SparkApp[]> {
  const status = await fetchMasterStatus(master, facts);
  const dirs = await master.exec(`grep -H . ${q(APPS_DIR)}/*/app-id 2>/dev/null`);
  const dirOf = new Map(
    dirs.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [file, id] = [l.slice(0, l.lastIndexOf(':')), l.slice(l.lastIndexOf(':') + 1)];
        return [id.trim(), file.replace(/\/app-id$/, '')] as const;
      }),
  );
  return status.activeapps.map((a) => ({
    id: a.id,
    name: a.name,
    state: a.state,
    cores: a.cores,
    memoryPerExecutorMB: a.memoryperexecutor ?? a.memoryperslave ?? 0,
    submitted: a.submitdate,
    durationSeconds: Math.round(a.duration / 1000),
    ...(dirOf.get(a.id) ? { workDir: dirOf.get(a.id) } : {}),
  }));
}

export interface KillResult {
  id: string;
  /** The node the driver ran on, and its process group. */
  node: string;
  pid: number;
  /** KILL was needed: the driver did not stop within the grace period after TERM. */
  forced: boolean;
  seconds: number;
}

export interface KillOptions {
  /** How long the driver gets to stop after TERM before KILL. */
  graceMs?: number;
  /** How long the application may stay in the master's list in all. */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Stops an application through an authenticated path: over SSH (the cluster key) to the node its
 * driver runs on, where its process group is signalled, TERM first (Spark's shutdown hook stops
 * the SparkContext, which unregisters from the master) and KILL after the grace period (the
 * master then drops the application when the driver's connection goes). Spark's web UIs can not
 * kill anything (spark.ui.killEnabled is false): they have no authentication. Resolves once the
 * master no longer lists the application.
 */
export async function killApp(facts: ClusterFacts, master: RemoteHost, id: string, opts: KillOptions = {}): Promise<KillResult> {
  const { graceMs = 30_000, timeoutMs = 90_000, pollMs = 1000 } = opts;
  const started = Date.now();
  const apps = await listApps(facts, master);
  const app = apps.find((a) => a.id === id);
  if (!app)
    throw new MillraceError(`no running application ${id}`, {
      hint: `\`millrace jobs\` lists the running ones${apps.length ? ` (now: ${apps.map((a) => `${a.id} ${a.name}`).join(', ')})` : ''}`,
    });
  if (!app.workDir)
    throw new MillraceError(`${id} (${app.name}) was not started by \`millrace submit --detach\`: millrace does not know where its driver runs`, {
      hint: `stop it where it was started (Ctrl-C, or signal its driver on that node); \`millrace jobs\` shows the driver node of the ones it can stop`,
    });
  const pidFile = `${app.workDir}/driver.pid`;
  const pid = Number((await master.exec(`cat ${q(pidFile)} 2>/dev/null`)).stdout.trim());
  if (!Number.isInteger(pid) || pid <= 1)
    throw new MillraceError(`${master.name}: no driver pid for ${id} in ${pidFile}`, { hint: `look at the driver's log: millrace exec ${master.name} -- tail ${app.workDir}/driver.log` });
  // A streaming driver may linger after its executors go: signal its whole process group.
  const signal = (sig: 'TERM' | 'KILL'): Promise<unknown> => master.exec(`kill -${sig} -${pid} 2>/dev/null`);
  const listed = async (): Promise<boolean> => (await fetchMasterStatus(master, facts)).activeapps.some((a) => a.id === id);
  await signal('TERM');
  let forced = false;
  for (;;) {
    await sleep(pollMs);
    if (!(await listed())) break;
    const elapsed = Date.now() - started;
    if (!forced && elapsed >= graceMs) {
      forced = true;
      await signal('KILL');
    }
    if (elapsed >= timeoutMs)
      throw new MillraceError(`${id} is still listed by the Spark master ${Math.round(elapsed / 1000)} s after its driver (pid ${pid} on ${master.name}) was ${forced ? 'killed' : 'stopped'}`, {
        hint: `look at the master: \`millrace logs ${master.name} spark-master\``,
      });
  }
  // The group is gone or going: make sure nothing of it survives the master's forgetting it.
  if (!forced && (await master.exec(`kill -0 -${pid} 2>/dev/null`)).code === 0) {
    await sleep(Math.min(5000, graceMs));
    if ((await master.exec(`kill -0 -${pid} 2>/dev/null`)).code === 0) {
      forced = true;
      await signal('KILL');
    }
  }
  return { id, node: master.name, pid, forced, seconds: Math.round((Date.now() - started) / 100) / 10 };
}
