/** The cluster as a whole: healthy from nothing, and a second `up` changes nothing. */
import { cli, CONFIG, node } from './harness';

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
      if (id && t) out[`${name}/${id}`] = t;
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
      ['hdfs-1/hadoop-kms', 'hdfs-1/hdfs-datanode', 'hdfs-1/hdfs-namenode', 'kafka-1/kafka', 'spark-1/spark-master', 'spark-1/spark-worker'].sort(),
    );
    const check = (svc: string, name: string): string => s.services.find((x) => x.service === svc)!.checks.find((c) => c.name === name)!.detail;
    expect(check('kafka', 'KRaft quorum (TLS)')).toMatch(/^leader 1, voters/);
    expect(check('hdfs-namenode', 'safemode')).toBe('off');
    expect(check('hdfs-namenode', 'live DataNodes')).toBe('1 of 1');
    expect(check('spark-master', 'ALIVE workers')).toBe('1 of 1');
  });

  it('a second `up` reports no changes and restarts nothing', async () => {
    const before = await startTimes();
    expect(Object.keys(before)).toHaveLength(6);
    const r = await cli(['up', '--json', '-c', CONFIG]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { changed: boolean; nodes: { node: string; seconds?: Record<string, number> }[] };
    expect(result.changed).toBe(false);
    expect(await startTimes()).toEqual(before);
    // Where a no-op `up` spends its time (every file's ensureBaseCluster is one), in CI's log.
    console.log(`no-op up: ${r.seconds.toFixed(1)} s; per node and step: ${result.nodes.map((n) => `${n.node} ${Object.entries(n.seconds ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}`);
  });

  it('a changed Kafka override rewrites only server.properties and restarts only Kafka', async () => {
    const fs = await import('node:fs');
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
        if (k.startsWith('kafka-1/')) expect(after[k]).not.toEqual(v);
        else expect(after[k]).toEqual(v);
      }
    } finally {
      // Converge back to the base config for the tests that follow.
      const back = await cli(['up', '-c', CONFIG]);
      expect(back.code).toBe(0);
    }
  });
});
