/**
 * Brings the real local cluster up once for the whole integration run. A machine that cannot
 * run it (no root, no systemd-nspawn) fails here, saying what is missing; nothing is skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, CLUSTER_YAML, CONFIG, ENV, HOST_BEFORE, hostNetworkFacts, REPO, sampleProcessLists, TEST_DIR, UP_LOG, UP_PS, writeConfig } from './harness';

export default async function globalSetup(): Promise<void> {
  if (!fs.existsSync(path.join(REPO, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  fs.mkdirSync(TEST_DIR, { recursive: true });
  writeConfig(CONFIG, CLUSTER_YAML);
  // Leftovers from an interrupted run go first.
  await cli(['down', '--yes', '-c', CONFIG]);
  // 12-ec2-like-nodes checks that booting nodes with cloud-init left this machine's network alone.
  fs.writeFileSync(HOST_BEFORE, JSON.stringify(hostNetworkFacts(), null, 2));
  // The whole log (debug level) and every process list during `up` are kept: 50-security checks
  // that no secret shows up in either.
  fs.rmSync(UP_PS, { force: true });
  const stop = sampleProcessLists(UP_PS);
  const up = await cli(['up', '-c', CONFIG], { env: { ...ENV, LOG_LEVEL: 'debug' } });
  const samples = stop();
  fs.writeFileSync(UP_LOG, up.stdout + up.stderr);
  fs.writeFileSync(path.join(TEST_DIR, 'setup.json'), JSON.stringify({ upSeconds: up.seconds, code: up.code, psSamples: samples }, null, 2));
  if (up.code !== 0) {
    // No test runs, so zz-teardown does not either: a failed up is taken down here, so that its
    // nodes, loop devices and firewall table are not left for the next run to trip on.
    const down = await cli(['down', '--yes', '-c', CONFIG]);
    const after = down.code === 0 ? 'it was taken down again' : `and \`down\` failed too (exit ${down.code}):\n${down.stderr.slice(-1500)}`;
    throw new Error(`millrace up failed (exit ${up.code}) in ${up.seconds}s; ${after}\n${up.stderr.slice(-6000)}`);
  }
  process.stderr.write(`\nlocal test cluster up in ${up.seconds.toFixed(0)}s\n`);
}
