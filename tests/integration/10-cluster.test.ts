/** The cluster as a whole: healthy from nothing, and a second `up` changes nothing. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RemoteHost } from '../../provisioning/remote-host';
import { cli, CONFIG, ENV, node, REPO, TEST_DIR, writeConfig } from './harness';

interface StatusJson {
  healthy: boolean;
  services: { node: string; service: string; healthy: boolean; checks: { name: string; ok: boolean; detail: string }[] }[];
}

async function startTimes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ['kafka-1', 'spark-1', 'hdfs-1'] as const) {
    const host = await node(name);
    const r = await host.execOrThrow("systemctl show -p Id -p ActiveEnterTimestampMonotonic 'millrace-*.service'");
    await host.close();
    for (const block of r.trim().split('\n\n')) {
      const id = /Id=(.*)/.exec(block)?.[1];
      const t = /ActiveEnterTimestampMonotonic=(\d+)/.exec(block)?.[1];
      // The certificate scan is a oneshot its timer runs every minute: not a service that restarts.
      if (id && t && id !== 'millrace-cert-expiry.service') out[`${name}/${id}`] = t;
    }
  }
  return out;
}

describe('local cluster', () => {
  it('`status` reports every service healthy with protocol checks, and exits 0', async () => {
    const r = await cli(['status', '--json', '-c', CONFIG]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as StatusJson;
    expect(s.healthy).toBe(true);
    expect(s.services.map((x) => `${x.node}/${x.service}`).sort()).toEqual(
      [
        'hdfs-1/hadoop-kms',
        'hdfs-1/hdfs-datanode',
        'hdfs-1/hdfs-namenode',
        'kafka-1/kafka',
        'spark-1/spark-master',
        'spark-1/spark-worker',
        // Monitoring: Prometheus and Alertmanager on the spark-master's node, host metrics on every node.
        'spark-1/alertmanager',
        'spark-1/prometheus',
        'hdfs-1/node-exporter',
        'kafka-1/node-exporter',
        'spark-1/node-exporter',
      ].sort(),
    );
    const check = (svc: string, name: string): string => s.services.find((x) => x.service === svc)!.checks.find((c) => c.name === name)!.detail;
    expect(check('kafka', 'KRaft quorum (TLS)')).toMatch(/^leader 1, voters/);
    expect(check('hdfs-namenode', 'safemode')).toBe('off');
    expect(check('hdfs-namenode', 'live DataNodes')).toBe('1 of 1');
    expect(check('spark-master', 'ALIVE workers')).toBe('1 of 1');
  });

  it('a second `up` reports no changes and restarts nothing', async () => {
    const before = await startTimes();
    expect(Object.keys(before)).toHaveLength(11);
    const r = await cli(['up', '--json', '-c', CONFIG]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { changed: boolean; nodes: { node: string; seconds?: Record<string, number> }[] };
    expect(result.changed).toBe(false);
    expect(await startTimes()).toEqual(before);
    // Where a no-op `up` spends its time (every file's ensureBaseCluster is one), in CI's log.
    console.log(`no-op up: ${r.seconds.toFixed(1)} s; per node and step: ${result.nodes.map((n) => `${n.node} ${Object.entries(n.seconds ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}`);
  });

  it('a changed Kafka override rewrites only server.properties and restarts only Kafka', async () => {
    const base = fs.readFileSync(CONFIG, 'utf8');
    const before = await startTimes();
    const changed = `${CONFIG}.override.yaml`;
    fs.writeFileSync(changed, `${base}kafka:\n  overrides:\n    log.retention.hours: 72\n`);
    try {
      const r = await cli(['up', '--json', '-c', changed]);
      expect(r.code).toBe(0);
      const nodes = (JSON.parse(r.stdout) as { nodes: { node: string; changedFiles: string[]; restarted: string[]; started: string[] }[] }).nodes;
      const byNode = Object.fromEntries(nodes.map((n) => [n.node, n]));
      expect(byNode['kafka-1']!.changedFiles).toEqual(['/etc/millrace/kafka/server.properties']);
      expect(byNode['kafka-1']!.restarted).toEqual(['kafka']);
      for (const other of ['spark-1', 'hdfs-1']) expect([byNode[other]!.changedFiles, byNode[other]!.restarted, byNode[other]!.started]).toEqual([[], [], []]);
      const after = await startTimes();
      for (const [k, v] of Object.entries(before)) {
        if (k === 'kafka-1/millrace-kafka.service') expect(after[k]).not.toEqual(v);
        else expect(after[k]).toEqual(v);
      }
    } finally {
      fs.rmSync(changed, { force: true });
    }
    // The cluster goes on with the override: the next test changes it again, and puts the base config back.
  });

  // Issue 14: the SSH connection cut in the middle of `up`. The cut falls where it does the most harm:
  // after the new server.properties is written and before the broker restarts with it. A systemctl
  // first on root's PATH on kafka-1 holds the broker's restart, and the `up` is killed while it waits
  // there; the next `up` finds no file to change, and must still restart the broker.
  /**
   * An `up` with a broker config change, held on kafka-1 at the broker's restart (a systemctl that
   * sleeps instead), then cut by `cut`: the file has the change, the broker has not restarted, and
   * the node owes the restart. The next `up` restarts the broker, which then runs the new config;
   * a third changes nothing. Returns how the cut `up` exited, and its stderr.
   */
  async function cutAtBrokerRestart(hours: number, cut: (kafka: RemoteHost, held: string) => Promise<void>): Promise<{ code: number | null; stderr: string }> {
    const changed = writeConfig(path.join(TEST_DIR, `itest.cut-${hours}.yaml`), `${fs.readFileSync(CONFIG, 'utf8')}kafka:\n  overrides:\n    log.retention.hours: ${hours}\n`);
    const HELD = '/run/millrace-itest-restart-held';
    const kafka = await node('kafka-1');
    try {
      await kafka.putFile('/usr/local/sbin/systemctl', `#!/bin/sh\ncase "$*" in *restart*millrace-kafka*) echo $$ > ${HELD}; exec sleep 600;; esac\nexec /usr/bin/systemctl "$@"\n`, { mode: 0o755, owner: 'root' });
      const brokerSince = async (): Promise<string> => (await kafka.execOrThrow('/usr/bin/systemctl show -p ActiveEnterTimestampMonotonic --value millrace-kafka.service')).trim();
      const before = await brokerSince();
      const up = spawn(process.execPath, [path.join(REPO, 'dist/cli/main.js'), 'up', '-c', changed], { env: ENV, cwd: TEST_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      up.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((resolve) => up.on('close', (code) => resolve(code)));
      const deadline = Date.now() + 5 * 60_000;
      while ((await kafka.exec(`test -s ${HELD}`)).code !== 0) {
        if (Date.now() > deadline) throw new Error('the `up` never reached the broker restart');
        await new Promise((r) => setTimeout(r, 250));
      }
      await cut(kafka, HELD);
      const code = await exited;
      await kafka.execOrThrow(`kill $(cat ${HELD}) 2>/dev/null; rm -f /usr/local/sbin/systemctl ${HELD}`);
      // Cut off: the file has the change, the broker has not restarted, and the node owes the restart.
      expect(await kafka.execOrThrow(`grep -x log.retention.hours=${hours} /etc/millrace/kafka/server.properties`)).toContain(String(hours));
      expect(await brokerSince()).toBe(before);
      expect(await kafka.execOrThrow('cat /var/lib/millrace/pending-restarts')).toContain('millrace-kafka.service');

      const again = await cli(['up', '--json', '-c', changed]);
      if (again.code !== 0) throw new Error(`the up after the cut failed (exit ${again.code}):\n${again.stderr.slice(-3000)}`);
      const nodes = (JSON.parse(again.stdout) as { nodes: { node: string; changedFiles: string[]; restarted: string[] }[] }).nodes;
      expect(nodes.find((n) => n.node === 'kafka-1')).toMatchObject({ changedFiles: [], restarted: ['kafka'] });
      expect(await brokerSince()).not.toBe(before);
      expect((await kafka.exec('test -e /var/lib/millrace/pending-restarts')).code).not.toBe(0);
      // The running broker's own view of its config (ConfigCommand asks the broker).
      const running = await kafka.execOrThrow(
        "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '/opt/millrace/kafka/current/libs/*' kafka.admin.ConfigCommand --bootstrap-server 127.0.0.31:9093 --command-config /etc/millrace/kafka/client.properties --describe --entity-type brokers --entity-name 1 --all",
      );
      expect(running).toMatch(new RegExp(`^\\s*log\\.retention\\.hours=${hours} `, 'm'));
      const third = await cli(['up', '--json', '-c', changed]);
      expect(JSON.parse(third.stdout)).toMatchObject({ changed: false });
      return { code, stderr };
    } finally {
      await kafka.exec(`test -s ${HELD} && kill $(cat ${HELD}); rm -f /usr/local/sbin/systemctl ${HELD}`);
      await kafka.close();
    }
  }

  // The same cut from the operator's side (the `up` itself killed: its connections close as they
  // do here) is `npm run bench -- faults up`, "`up` killed mid-change, run again".
  it("an `up` whose SSH connection is cut on the node (its sshd session killed) at the broker's restart, after the config change is written: `up` exits 1 naming kafka-1 and the lost connection; the next `up` restarts the broker, which then runs the new config", async () => {
    try {
      const { code, stderr } = await cutAtBrokerRestart(96, async (kafka, held) => {
        // The sshd processes of the `up`'s own session: those among the held restart's ancestors
        // (not the listener, and not this test's own session, which is another connection). One of
        // them may be gone by the time it is sent its signal (the session's other process exits as
        // the first dies), so "No such process" is no failure: the `up`'s exit below is the proof.
        const killed = await kafka.execOrThrow(
          `p=$(cat ${held}); pids=; while [ -n "$p" ] && [ "$p" -gt 1 ]; do case "$(tr '\\0' ' ' < /proc/$p/cmdline)" in sshd*admin*) pids="$pids $p";; esac; p=$(awk '{print $4}' /proc/$p/stat); done; [ -n "$pids" ] || exit 1; kill -KILL $pids 2>/dev/null; echo $pids`,
        );
        expect(killed.trim()).toMatch(/^\d+( \d+)*$/);
      });
      expect(code).toBe(1);
      expect(stderr).toMatch(/kafka-1 \(127\.0\.0\.31\): the SSH connection was lost while running/);
      console.log(`the cut up exited ${code}: ${stderr.split('\n').filter((l) => /connection was lost/.test(l)).slice(0, 2).join(' | ').slice(0, 600)}`);
    } finally {
      expect((await cli(['up', '-c', CONFIG])).code).toBe(0);
    }
  });
});
