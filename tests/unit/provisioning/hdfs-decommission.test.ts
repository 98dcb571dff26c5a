/** Decommissioning DataNodes (provisioning/hdfs-decommission.ts): the report and exclude parsing, and the order of the steps. */
import pino from 'pino';
import { decommissionDataNodes, parseDfsReport } from '../../../provisioning/hdfs-decommission';
import { DFS_EXCLUDE, excludeWith, parseExclude } from '../../../provisioning/services/hadoop-conf';
import { namenodeService, readmitConfiguredDataNodes } from '../../../provisioning/services/hdfs';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const node = (address: string, status: string): string => `Name: ${address}:9866 (${address})
Hostname: ${address}
Decommission Status : ${status}
Configured Capacity: 8350298112 (7.78 GB)
DFS Used: 30319 (29.61 KB)
Last contact: Wed Dec 02 11:49:08 UTC 2026
`;
const report = (live: string[], dead: string[] = []): string => `Configured Capacity: 8350298112 (7.78 GB)
Replicated Blocks:
\tUnder replicated blocks: 0

-------------------------------------------------
Live datanodes (${live.length}):

${live.join('\n\n')}
${dead.length ? `\nDead datanodes (${dead.length}):\n\n${dead.join('\n\n')}` : ''}`;

describe('dfsadmin -report', () => {
  it('lists every DataNode with its address, port, decommission status, and whether it is dead', () => {
    const text = report([node('127.0.0.33', 'Normal'), node('127.0.0.37', 'Decommission in progress')], [node('127.0.0.38', 'Decommissioned')]);
    expect(parseDfsReport(text)).toEqual([
      { address: '127.0.0.33', port: 9866, status: 'Normal', dead: false },
      { address: '127.0.0.37', port: 9866, status: 'Decommission in progress', dead: false },
      { address: '127.0.0.38', port: 9866, status: 'Decommissioned', dead: true },
    ]);
  });
});

describe('the exclude file', () => {
  it('reads addresses, one per line, without blanks or comments', () => {
    expect(parseExclude('# decommissioned\n10.0.0.5\n\n 10.0.0.6 \n')).toEqual(['10.0.0.5', '10.0.0.6']);
  });
  it('adds and removes addresses, each once, sorted', () => {
    expect(excludeWith(['10.0.0.6'], ['10.0.0.5', '10.0.0.6'])).toBe('10.0.0.5\n10.0.0.6\n');
    expect(excludeWith(['10.0.0.5', '10.0.0.6'], [], ['10.0.0.5'])).toBe('10.0.0.6\n');
    expect(excludeWith([], [])).toBe('');
  });
});

describe('decommissionDataNodes', () => {
  const facts = factsFor();
  const namenode = facts.namenode;
  const log = pino({ level: 'silent' });

  it('excludes the node, refreshes, lowers replication, and waits until the NameNode says Decommissioned', async () => {
    let reports = 0;
    const host = fakeHost('hdfs-1', (c) => {
      if (c.includes('DFSAdmin') && c.includes('-report')) {
        reports++;
        return { stdout: report([node('10.0.0.4', 'Normal'), node('10.0.0.9', reports < 3 ? 'Decommission in progress' : 'Decommissioned')]) };
      }
      if (c.startsWith('cat ')) return { stdout: '10.0.0.8\n' };
      return undefined;
    });
    const said: string[] = [];
    await decommissionDataNodes({ host, ctx: { cluster: facts, node: namenode }, leaving: [{ name: 'hdfs-2', address: '10.0.0.9' }], staying: 1, log, report: (m) => said.push(m) });
    const order = host.commands.map((c) => (c.includes('-setrep') ? 'setrep' : c.includes('-refreshNodes') ? 'refresh' : c.includes('-report') ? 'report' : c.startsWith('cat ') ? 'read exclude' : c));
    expect(order).toEqual(['read exclude', 'refresh', 'setrep', 'report', 'report', 'report']);
    expect(host.commands[2]).toMatch(/FsShell.* -setrep -R 1 \//);
    // The node is added to what was excluded before, not written over it.
    expect(host.files.get(DFS_EXCLUDE)).toBe('10.0.0.8\n10.0.0.9\n');
    expect(said.at(-1)).toMatch(/^decommissioned hdfs-2 in \d+s/);
  }, 30_000);

  it('sets replication to at most 3 when more DataNodes stay', async () => {
    const host = fakeHost('hdfs-1', (c) => (c.includes('-report') ? { stdout: report([node('10.0.0.9', 'Decommissioned')]) } : undefined));
    await decommissionDataNodes({ host, ctx: { cluster: facts, node: namenode }, leaving: [{ name: 'hdfs-5', address: '10.0.0.9' }], staying: 4, log, report: () => undefined });
    expect(host.commands.find((c) => c.includes('-setrep'))).toMatch(/ -setrep -R 3 \//);
  });

  it('goes on when -setrep fails on a file that went away meanwhile (a running job renamed it)', async () => {
    const host = fakeHost('hdfs-1', (c) =>
      c.includes('-setrep') ? { code: 1, stderr: "setrep: `/ckpt/offsets/.7.tmp': No such file or directory" } : c.includes('-report') ? { stdout: report([node('10.0.0.9', 'Decommissioned')]) } : undefined,
    );
    await expect(decommissionDataNodes({ host, ctx: { cluster: facts, node: namenode }, leaving: [{ name: 'hdfs-2', address: '10.0.0.9' }], staying: 1, log, report: () => undefined })).resolves.toEqual({ seconds: expect.any(Number) });
  });

  it('does not wait for a leaving DataNode that is already dead (its blocks are re-replicated by the NameNode anyway)', async () => {
    const host = fakeHost('hdfs-1', (c) => (c.includes('-report') ? { stdout: report([node('10.0.0.4', 'Normal')], [node('10.0.0.9', 'Decommission in progress')]) } : undefined));
    await decommissionDataNodes({ host, ctx: { cluster: facts, node: namenode }, leaving: [{ name: 'hdfs-2', address: '10.0.0.9' }], staying: 1, log, report: () => undefined });
    expect(host.commands.filter((c) => c.includes('-report'))).toHaveLength(1);
  });

  it('refuses (exit 2) when no DataNode stays, before any command', async () => {
    const host = fakeHost('hdfs-1');
    await expect(decommissionDataNodes({ host, ctx: { cluster: facts, node: namenode }, leaving: [{ name: 'hdfs-1', address: '10.0.0.4' }], staying: 0, log, report: () => undefined })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('removes every DataNode the cluster has (hdfs-1)'),
    });
    expect(host.commands).toEqual([]);
  });

  it('names the node and its status when it does not finish in time, and says nothing was removed', async () => {
    const host = fakeHost('hdfs-1', (c) => (c.includes('-report') ? { stdout: report([node('10.0.0.9', 'Decommission in progress')]) } : undefined));
    await expect(
      decommissionDataNodes({ host, ctx: { cluster: facts, node: namenode }, leaving: [{ name: 'hdfs-2', address: '10.0.0.9' }], staying: 1, timeoutMs: 100, log, report: () => undefined }),
    ).rejects.toThrow('DataNode(s) 10.0.0.9 (Decommission in progress) did not finish decommissioning; nothing was removed');
  });
});

describe('the NameNode and its exclude file', () => {
  const facts = factsFor();
  const ctx = { cluster: facts, node: facts.namenode };
  const log = pino({ level: 'silent' });

  it('makes an empty exclude file before the NameNode first starts, and never writes over one', async () => {
    const fresh = fakeHost('hdfs-1', (c) => (c.includes('dfs.exclude') ? { stdout: 'exclude-made\nformatted\n' } : undefined));
    expect(await namenodeService.initialize!(fresh, ctx, log)).toEqual({ changed: true, detail: 'made the DataNode exclude file' });
    expect(fresh.commands[0]).toContain(`if ! test -f ${DFS_EXCLUDE}; then install -m 644 /dev/null ${DFS_EXCLUDE}`);
    const existing = fakeHost('hdfs-1', () => ({ stdout: 'formatted\n' }));
    expect(await namenodeService.initialize!(existing, ctx, log)).toEqual({ changed: false });
  });

  it('takes a DataNode of the config out of the exclude file (a node re-added at a removed address) and refreshes', async () => {
    const dn = facts.datanodes[0]!.privateAddress;
    const host = fakeHost('hdfs-1', (c) => (c.startsWith('cat ') ? { stdout: `10.9.9.9\n${dn}\n` } : undefined));
    expect(await readmitConfiguredDataNodes(host, ctx, log)).toBe(`readmitted DataNode ${dn}`);
    expect(host.files.get(DFS_EXCLUDE)).toBe('10.9.9.9\n');
    expect(host.commands.some((c) => c.includes('DFSAdmin -refreshNodes'))).toBe(true);
  });

  it('leaves the exclude file alone when no DataNode of the config is in it', async () => {
    const host = fakeHost('hdfs-1', (c) => (c.startsWith('cat ') ? { stdout: '10.9.9.9\n' } : undefined));
    expect(await readmitConfiguredDataNodes(host, ctx, log)).toBeUndefined();
    expect(host.files.has(DFS_EXCLUDE)).toBe(false);
    expect(host.commands.some((c) => c.includes('-refreshNodes'))).toBe(false);
  });
});

describe("the NameNode's health and post-start, one JVM each on an `up` that changes nothing", () => {
  const facts = factsFor();
  const ctx = { cluster: facts, node: facts.namenode };
  const log = pino({ level: 'silent' });
  /** The unit active and the RPC port listening, so the check goes on to ask HDFS. */
  const running = (c: string): { stdout: string } | undefined => (c.startsWith('systemctl is-active') ? { stdout: 'active\n' } : c.includes('ss -') ? { stdout: `LISTEN 0 128 ${facts.namenode.privateAddress}:8020 *:*\n` } : undefined);
  const healthWith = async (out: { code?: number; stdout?: string; stderr?: string }) => {
    const host = fakeHost('hdfs-1', (c) => (c.includes('DFSAdmin') ? out : running(c)));
    const h = await namenodeService.healthCheck(host, ctx);
    return { checks: Object.fromEntries(h.checks.map((c) => [c.name, [c.ok, c.detail]])), dfsAdmin: host.commands.filter((c) => c.includes('DFSAdmin')) };
  };

  it('reads safemode and the live DataNodes from one report', async () => {
    const h = await healthWith({ stdout: report([node('127.0.0.13', 'Normal')]) });
    expect(h.dfsAdmin).toHaveLength(1);
    expect(h.dfsAdmin[0]).toContain('-report -live');
    expect(h.checks).toMatchObject({ safemode: [true, 'off'], 'live DataNodes': [true, '1 of 1'] });
  });

  it('control: a report that starts "Safe mode is ON" fails safemode; one that did not answer fails it with its reason', async () => {
    expect((await healthWith({ stdout: `Safe mode is ON\n${report([node('127.0.0.13', 'Normal')])}` })).checks).toMatchObject({ safemode: [false, 'on'] });
    expect((await healthWith({ code: 255, stderr: 'report: Call From hdfs-1 to 127.0.0.13:8020 failed on connection exception\n' })).checks).toMatchObject({
      safemode: [false, 'report: Call From hdfs-1 to 127.0.0.13:8020 failed on connection exception'],
      'live DataNodes': [false, '0 of 1'],
    });
  });

  it('post-start asks once whether /tmp and /user are directories; only a missing one is made', async () => {
    const fsShell = (c: string): boolean => c.includes('FsShell');
    const there = fakeHost('hdfs-1', (c) => (c.includes('-stat') ? { stdout: 'directory\ndirectory\n' } : c.includes('-listZones') ? { stdout: '/lake  lake\n' } : undefined));
    expect(await namenodeService.postStart!(there, ctx, log)).toEqual({ changed: false });
    expect(there.commands.filter(fsShell)).toHaveLength(1);
    const missing = fakeHost('hdfs-1', (c) =>
      c.includes('-stat') ? { code: 1, stdout: 'directory\n', stderr: "stat: `/user': No such file or directory\n" } : c.includes('-test -d /user') ? { code: 1 } : c.includes('-listZones') ? { stdout: '/lake  lake\n' } : undefined,
    );
    expect(await namenodeService.postStart!(missing, ctx, log)).toEqual({ changed: true, detail: 'created /user' });
    expect(missing.commands.some((c) => c.includes('-mkdir -p /user') && c.includes('-chmod 755 /user'))).toBe(true);
    expect(missing.commands.some((c) => c.includes('-mkdir -p /tmp'))).toBe(false);
  });
});
