/**
 * Permissions on the lake, read from the NameNode: /lake belongs to spark with the mode
 * provisioning gave it, it is an encryption zone, and nothing in it is world-writable.
 */
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { LAKE } from '../services/hadoop-conf';
import { hdfsTool, LAKE_MODE, LAKE_OWNER, parseZones } from '../services/hdfs';
import type { VerifyRow } from './types';

export interface LakeEntry {
  perm: string;
  owner: string;
  group: string;
  path: string;
}

/** `hdfs dfs -ls -R` lines → entries (the path may hold spaces; "Found N items" lines are skipped). */
export function parseLsR(out: string): LakeEntry[] {
  return out.split('\n').flatMap((line) => {
    const m = /^([dl-][rwxsStT-]{9}[+]?)\s+(?:\d+|-)\s+(\S+)\s+(\S+)\s+\d+\s+\S+\s+\S+\s+(.+)$/.exec(line.trim());
    return m ? [{ perm: m[1]!, owner: m[2]!, group: m[3]!, path: m[4]! }] : [];
  });
}

export interface LakeState {
  /** `-stat '%u %g %a'` of /lake: owner, group, octal mode. */
  owner: string;
  group: string;
  mode: string;
  /** The zone's key, if /lake is a zone. */
  zoneKey?: string;
  entries: LakeEntry[];
}

const worldWritable = (perm: string): boolean => perm[8] === 'w';

/**
 * The zone's trash root: HDFS makes /lake/.Trash itself when it creates the zone, 1777 with the
 * sticky bit (like /tmp: each user's trash under it, nobody removes another's). Others cannot
 * reach it while /lake is 750; that is what the mode check holds.
 */
export const ZONE_TRASH = `${LAKE}/.Trash`;
const isZoneTrash = (e: LakeEntry): boolean => e.path === ZONE_TRASH && /^drwxrwxrwt\+?$/.test(e.perm);

export function lakeRow(s: LakeState): VerifyRow {
  const problems: string[] = [];
  if (s.owner !== LAKE_OWNER) problems.push(`owner is ${s.owner}, not ${LAKE_OWNER}`);
  if (s.mode !== LAKE_MODE) problems.push(`mode is ${s.mode}, not ${LAKE_MODE}`);
  if (worldWritable(`d${octalToPerm(s.mode)}`)) problems.push(`${LAKE} itself is world-writable`);
  if (!s.zoneKey) problems.push(`${LAKE} is not an encryption zone`);
  const ww = s.entries.filter((e) => worldWritable(e.perm) && !isZoneTrash(e));
  if (ww.length) problems.push(`world-writable: ${ww.slice(0, 5).map((e) => `${e.path} (${e.perm})`).join(', ')}${ww.length > 5 ? ` and ${ww.length - 5} more` : ''}`);
  return {
    check: `HDFS: ${LAKE} is ${LAKE_OWNER}'s, mode ${LAKE_MODE}, an encryption zone, nothing in it world-writable`,
    target: LAKE,
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${s.owner}:${s.group} ${s.mode}, zone key ${s.zoneKey}, ${s.entries.length} entries below, none world-writable${s.entries.some(isZoneTrash) ? ` but the zone's trash ${ZONE_TRASH} (1777 with the sticky bit, as HDFS makes it; unreachable for others through ${LAKE} ${s.mode})` : ''}`,
  };
}

/** 750 → rwxr-x--- (the last three digits; a sticky or setuid digit in front is ignored). */
export function octalToPerm(mode: string): string {
  const digits = mode.slice(-3).padStart(3, '0');
  return [...digits].map((d) => ['---', '--x', '-w-', '-wx', 'r--', 'r-x', 'rw-', 'rwx'][Number(d)] ?? '???').join('');
}

const FS_SHELL = 'org.apache.hadoop.fs.FsShell';
const CRYPTO_ADMIN = 'org.apache.hadoop.hdfs.tools.CryptoAdmin';

export async function readLake(facts: ClusterFacts, nn: RemoteHost): Promise<LakeState> {
  const ctx = { cluster: facts, node: facts.namenode };
  const stat = (await nn.execOrThrow(hdfsTool(ctx, FS_SHELL, '-stat', '%u %g %a', LAKE), { what: `stat ${LAKE}` })).trim().split('\n').pop() ?? '';
  const [owner = '?', group = '?', mode = '?'] = stat.split(/\s+/);
  const zones = parseZones(await nn.execOrThrow(hdfsTool(ctx, CRYPTO_ADMIN, '-listZones'), { what: 'list encryption zones' }));
  // A running streaming job deletes old checkpoint files, which can fail a listing midway: once more then.
  let ls = await nn.exec(hdfsTool(ctx, FS_SHELL, '-ls', '-R', LAKE));
  if (ls.code !== 0) ls = await nn.exec(hdfsTool(ctx, FS_SHELL, '-ls', '-R', LAKE));
  if (ls.code !== 0) throw new Error(`cannot list ${LAKE}: ${(ls.stderr.trim().split('\n').pop() ?? '').slice(0, 200)}`);
  const zone = zones.find((z) => z.path === LAKE);
  return { owner, group, mode, ...(zone ? { zoneKey: zone.key } : {}), entries: parseLsR(ls.stdout) };
}

export async function verifyLake(facts: ClusterFacts, nn: RemoteHost): Promise<VerifyRow[]> {
  return [lakeRow(await readLake(facts, nn))];
}
