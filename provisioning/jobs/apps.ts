/**
 * Running Spark applications, as the master knows them (its JSON status over HTTPS), joined with
 * the driver directories millrace keeps on the master node; and stopping one.
 */
import { MillraceError } from '../../lib/errors';
import { q } from '../../lib/shell';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { fetchMasterStatus, masterUi } from '../services/spark';
import { CA_PEM } from '../services/tls-files';
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

/** Asks the master to kill the application, then stops its driver if millrace started it here. */
export async function killApp(facts: ClusterFacts, master: RemoteHost, id: string): Promise<{ killed: boolean; driverStopped: boolean }> {
  const apps = await listApps(facts, master);
  const app = apps.find((a) => a.id === id);
  if (!app) throw new MillraceError(`no running application ${id}`, { hint: `running: ${apps.map((a) => `${a.id} (${a.name})`).join(', ') || 'none'}; see \`millrace jobs\`` });
  const code = (
    await master.execOrThrow(
      `curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert ${q(CA_PEM)} -X POST -d ${q(`id=${id}&terminate=true`)} ${q(`${masterUi(facts)}/app/kill/`)}`,
      { what: `kill ${id}` },
    )
  ).trim();
  let driverStopped = false;
  if (app.workDir) {
    // A streaming driver may linger after its executors go: end its whole process group.
    const r = await master.exec(`pid=$(cat ${q(`${app.workDir}/driver.pid`)} 2>/dev/null) && kill -TERM -"$pid" 2>/dev/null`);
    driverStopped = r.code === 0;
  }
  return { killed: /^[23]\d\d$/.test(code), driverStopped };
}
