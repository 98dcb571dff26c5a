/**
 * A Spark job run for its answer: submitted attached on the master node, its output collected, and
 * its `MILLRACE_RESULT` line returned (`sql`, `quality`, `report`). Its own error lines become the
 * error: exit 2 is a usage error (a bad query or argument), any other failure names where it ran.
 */
import { assetPath } from '../lib/assets';
import type { ClusterConfig } from '../lib/config';
import { MillraceError, UsageError } from '../lib/errors';
import type { PipelineSpec } from '../lib/pipeline-spec';
import { planSubmit, submitAttached } from '../provisioning/jobs/submit';
import { onMaster } from './commands/jobs';
import { parseResultLine } from './demo/steps';

/** The job's own error lines (`error: ...` and what follows them), without Spark's log noise. */
export function jobErrorText(output: string): string {
  const lines = output.split('\n');
  const first = lines.findIndex((l) => l.startsWith('error: '));
  if (first < 0) return '';
  return lines
    .slice(first)
    .filter((l) => l.startsWith('error: ') || /^\s{2}\S/.test(l))
    .join('\n')
    .replace(/^error: /gm, '');
}

export interface JobRun {
  /** The job under spark-jobs/, e.g. quality.py. */
  job: string;
  args: string[];
  spec: PipelineSpec;
  /** The application's name. */
  name: string;
  /** What the job does, for the progress line and the errors ("the query"). */
  what: string;
  /** The hint of a usage error (exit 2). */
  usageHint?: string;
  /** A key the result must have. */
  resultKey: string;
}

export async function runJobForResult<T>(config: ClusterConfig, run: JobRun): Promise<T> {
  return onMaster(config, async (facts, master) => {
    const plan = planSubmit(facts, { job: assetPath('spark-jobs', run.job), args: run.args, spec: run.spec, name: run.name, conf: { 'spark.cores.max': '2' } });
    if (process.stderr.isTTY) process.stderr.write(`${run.what}: a Spark application on ${master.name}...\n`);
    let stdout = '';
    let stderr = '';
    const code = await submitAttached(master, plan, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    // spark-submit runs the Python driver with its stderr joined to its stdout: the job's error lines are there.
    const why = jobErrorText(`${stdout}\n${stderr}`);
    const rerun = `the driver ran in ${plan.workDir} on ${master.name}; \`millrace submit --spec <spec> spark-jobs/${run.job}\` runs the same job with its whole output shown`;
    if (code === 2) throw new UsageError(why || `${run.job} refused its arguments (exit 2) on ${master.name}`, run.usageHint ? { hint: run.usageHint } : undefined);
    if (code !== 0) throw new MillraceError(`${run.what} failed on ${master.name} (exit ${code})${why ? `: ${why}` : ''}`, { hint: rerun });
    const r = parseResultLine(stdout) as Record<string, unknown> | undefined;
    if (!r || !(run.resultKey in r)) throw new MillraceError(`${run.job} printed no result on ${master.name}`, { hint: rerun });
    return r as T;
  });
}
