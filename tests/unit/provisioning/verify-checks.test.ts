/** The evaluation of issue 12's `verify` rows: flow table vs ports, KMS ACLs, /lake, TLS versions, HDFS RPC, WARN. */
import type { ClusterFacts } from '../../../provisioning/service';
import type { InventoryNode } from '../../../lib/inventory';
import { sortedProperties } from '../../../templates/render';
import { hadoopXml } from '../../../provisioning/services/java-service';
import { buildKmsAcls } from '../../../provisioning/services/kms';
import { formatVerify } from '../../../provisioning/verify';
import { compareFlowPorts, flowPortsRow, servedPorts } from '../../../provisioning/verify/flows';
import { hdfsRpcRow, probeClaim } from '../../../provisioning/verify/hdfs-rpc';
import { KMS_STRANGER, kmsAclFileRow, kmsAclProblems, kmsProbeRows, parseAcl, parseHadoopXml, probeKms } from '../../../provisioning/verify/kms';
import { lakeRow, LakeState, octalToPerm, parseLsR } from '../../../provisioning/verify/lake';
import { classifyHandshake, clientPemFor, controlRow, controlScript, handshakeCommand, portVerdict, tlsPorts, tlsVersionRow } from '../../../provisioning/verify/tls-version';
import { rowStatus } from '../../../provisioning/verify/types';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const node = (name: string, roles: InventoryNode['roles'], extra: Partial<InventoryNode> = {}): InventoryNode => ({
  name,
  roles,
  sshAddress: '127.0.0.31',
  sshPort: 22,
  sshUser: 'admin',
  privateKeyPath: '/dev/null',
  privateAddress: '127.0.0.31',
  ...extra,
});
const kafka = node('kafka-1', ['kafka']);
const hdfs = node('hdfs-1', ['namenode', 'datanode', 'kms']);
const spark = node('spark-1', ['spark-master', 'spark-worker']);

describe('verify: the flow table against the live ports', () => {
  it('a node serves the ports flows reach on its roles, 9095 only with a public address', () => {
    expect(servedPorts(kafka).map((s) => s.port)).toEqual([22, 9093, 9094, 9100, 9404]);
    expect(servedPorts({ ...kafka, publicAddress: '203.0.113.5' }).map((s) => s.port)).toEqual([22, 9093, 9094, 9095, 9100, 9404]);
    expect(servedPorts(hdfs).map((s) => s.port).sort((a, b) => a - b)).toEqual([22, 8020, 9100, 9405, 9406, 9407, 9600, 9865, 9866, 9867, 9871]);
  });

  it('passes exactly the served ports, naming who may reach each', () => {
    const row = flowPortsRow(kafka, [22, 9093, 9094, 9100, 9404]);
    expect(row).toMatchObject({ ok: true, target: 'kafka-1' });
    expect(row.detail).toBe('22 ← operator; 9093 ← kafka, spark-master, spark-worker; 9094 ← kafka; 9100 ← monitor; 9404 ← monitor');
  });

  it('fails a listener no flow reaches, and a served port that does not listen; on-demand ports may be either', () => {
    expect(compareFlowPorts(kafka, [22, 9093, 9094, 9100, 9404, 9092])).toMatchObject({ unreached: [9092], missing: [] });
    // 9095 listening without a public address: the table has no flow to it on this node.
    expect(compareFlowPorts(kafka, [22, 9093, 9094, 9100, 9404, 9095]).unreached).toEqual([9095]);
    const v = compareFlowPorts(spark, [22, 7077, 8080, 8480, 7078, 8081, 8481, 7105, 7160, 9100, 9408, 9409]);
    expect(v).toMatchObject({ unreached: [], missing: [] });
    const row = flowPortsRow(hdfs, [22, 8020, 9600, 9865, 9866, 9867, 9100, 9405, 9406, 4444]);
    expect(row.ok).toBe(false);
    expect(row.detail).toBe('listening, but no flow of the table reaches it: 4444; the table says it serves, not listening: 9871 (namenode-https), 9407 (kms-metrics)');
  });
});

describe('verify: KMS ACLs', () => {
  const live = hadoopXml('kms-acls', sortedProperties(buildKmsAcls()));

  it('reads the XML millrace writes, and ACL values', () => {
    expect(parseHadoopXml(live)['hadoop.kms.acl.DECRYPT_EEK']).toBe('spark');
    expect(parseAcl('*')).toEqual({ everyone: true, users: [], groups: [] });
    expect(parseAcl('hdfs,spark admins')).toEqual({ everyone: false, users: ['hdfs', 'spark'], groups: ['admins'] });
    expect(parseAcl(' admins')).toEqual({ everyone: false, users: [], groups: ['admins'] });
  });

  it('passes the ACLs millrace provisions', () => {
    expect(kmsAclProblems(parseHadoopXml(live))).toEqual([]);
    expect(kmsAclFileRow('hdfs-1', live).ok).toBe(true);
  });

  it('fails an operation opened to everyone, a missing one (the KMS defaults it to *), an extra user or group, and a widening whitelist', () => {
    const acls = buildKmsAcls();
    const problems = (edit: (a: Record<string, string>) => void): string[] => {
      const a = { ...acls };
      edit(a);
      return kmsAclProblems(a);
    };
    expect(problems((a) => (a['hadoop.kms.acl.DECRYPT_EEK'] = '*'))).toEqual(['hadoop.kms.acl.DECRYPT_EEK is * (everyone)']);
    expect(problems((a) => delete a['hadoop.kms.acl.CREATE'])).toEqual(['hadoop.kms.acl.CREATE is not set, so the KMS allows everyone']);
    expect(problems((a) => (a['key.acl.lake.DECRYPT_EEK'] = 'spark,hdfs'))).toEqual(['key.acl.lake.DECRYPT_EEK allows hdfs (only spark)']);
    expect(problems((a) => (a['hadoop.kms.acl.GENERATE_EEK'] = 'hdfs wheel'))).toEqual(['hadoop.kms.acl.GENERATE_EEK names groups: wheel']);
    expect(problems((a) => (a['whitelist.key.acl.DECRYPT_EEK'] = 'mallory'))).toEqual(['whitelist.key.acl.DECRYPT_EEK allows mallory (only spark)']);
    expect(problems((a) => (a['hadoop.kms.acl.DECRYPT_EEK'] = 'nobody'))).toEqual(['hadoop.kms.acl.DECRYPT_EEK allows nobody (only spark)', 'hadoop.kms.acl.DECRYPT_EEK does not allow spark']);
  });

  it('judges the live calls: refusals only count beside their controls', () => {
    const good = { listKeys: { hdfs: 200, spark: 403, [KMS_STRANGER]: 403 }, generate: { hdfs: 200, spark: 403, [KMS_STRANGER]: 403 }, decrypt: { spark: 200, hdfs: 403, [KMS_STRANGER]: 403 } };
    expect(kmsProbeRows('hdfs-1', good).map((r) => r.ok)).toEqual([true, true]);
    expect(kmsProbeRows('hdfs-1', { ...good, decrypt: { ...good.decrypt, [KMS_STRANGER]: 200 } }).map((r) => r.ok)).toEqual([true, false]);
    // Everything refused, the control too (the KMS down, say): no pass.
    expect(kmsProbeRows('hdfs-1', { ...good, decrypt: { spark: 403, hdfs: 403, [KMS_STRANGER]: 403 } })[1]!.ok).toBe(false);
    expect(kmsProbeRows('hdfs-1', { ...good, decrypt: { spark: 200, hdfs: 0, [KMS_STRANGER]: 403 } })[1]!.ok).toBe(false);
  });

  it('probes over TLS with pseudo auth, keeps the data key off the wire back and the EEK off command lines', async () => {
    const eek = JSON.stringify([{ versionName: 'lake@0', iv: 'aXY=', encryptedKeyVersion: { versionName: 'EEK', material: 'bWF0' } }]);
    const host = fakeHost('hdfs-1', (c) => {
      if (c.includes('eek_op=generate') && c.includes('user.name=hdfs')) return { stdout: `${eek}\n200` };
      const user = /user\.name=([\w-]+)/.exec(c)?.[1];
      return { stdout: (user === 'hdfs' && !c.includes('decrypt')) || (user === 'spark' && c.includes('decrypt')) ? '200' : '403' };
    });
    const p = await probeKms({} as ClusterFacts, new Map([['hdfs-1', host]]), hdfs);
    expect(p).toEqual({
      listKeys: { hdfs: 200, spark: 403, [KMS_STRANGER]: 403 },
      generate: { spark: 403, [KMS_STRANGER]: 403, hdfs: 200 },
      decrypt: { spark: 200, hdfs: 403, [KMS_STRANGER]: 403 },
    });
    const decrypts = host.commands.filter((c) => c.includes('eek_op=decrypt'));
    expect(decrypts).toHaveLength(3);
    for (const c of decrypts) {
      expect(c).toContain('-o /dev/null');
      expect(c).toContain('--cacert /etc/millrace/tls/ca.pem');
      expect(c).toContain('https://127.0.0.31:9600/kms/v1/keyversion/lake%400/_eek?eek_op=decrypt');
      expect(c).not.toContain('bWF0');
    }
    expect([...host.files.values()][0]).toBe('{"name":"lake","iv":"aXY=","material":"bWF0"}');
    expect(host.commands[host.commands.length - 1]).toMatch(/^rm -f \/tmp\/millrace-verify-eek-[0-9a-f]+\.json$/);
  });
});

describe('verify: /lake permissions', () => {
  const LS = `Found 2 items
drwxr-x---   - spark spark          0 2026-11-30 23:00 /lake/flights
-rw-r--r--   1 spark spark       1234 2026-11-30 23:01 /lake/flights/part 0.parquet
drwxrwxrwx   - spark spark          0 2026-11-30 23:02 /lake/open
-rw-rw-rw-+  1 spark spark         10 2026-11-30 23:02 /lake/open/f`;
  const state = (s: Partial<LakeState> = {}): LakeState => ({ owner: 'spark', group: 'spark', mode: '750', zoneKey: 'lake', entries: parseLsR(LS).slice(0, 2), ...s });

  it('parses a recursive listing (paths with spaces, ACL marks)', () => {
    expect(parseLsR(LS).map((e) => `${e.perm} ${e.owner} ${e.path}`)).toEqual([
      'drwxr-x--- spark /lake/flights',
      '-rw-r--r-- spark /lake/flights/part 0.parquet',
      'drwxrwxrwx spark /lake/open',
      '-rw-rw-rw-+ spark /lake/open/f',
    ]);
    expect(octalToPerm('750')).toBe('rwxr-x---');
    expect(octalToPerm('1777')).toBe('rwxrwxrwx');
  });

  it('passes the provisioned state, and fails each way it can go wrong', () => {
    expect(lakeRow(state())).toMatchObject({ ok: true, detail: 'spark:spark 750, zone key lake, 2 entries below, none world-writable' });
    expect(lakeRow(state({ mode: '777' })).detail).toBe('mode is 777, not 750; /lake itself is world-writable');
    expect(lakeRow(state({ owner: 'hdfs' })).detail).toBe('owner is hdfs, not spark');
    const { zoneKey: _, ...noZone } = state();
    expect(lakeRow(noZone).detail).toBe('/lake is not an encryption zone');
    expect(lakeRow(state({ entries: parseLsR(LS) })).detail).toBe('world-writable: /lake/open (drwxrwxrwx), /lake/open/f (-rw-rw-rw-+)');
    // The zone's trash, as HDFS makes it (1777, sticky), is named but not a failure; made world-writable without the sticky bit, it is.
    const trash = parseLsR('drwxrwxrwt   - hdfs hdfs          0 2026-11-30 23:00 /lake/.Trash');
    expect(lakeRow(state({ entries: trash })).detail).toMatch(/^spark:spark 750, zone key lake, 1 entries below, none world-writable but the zone's trash \/lake\/\.Trash \(1777 with the sticky bit/);
    expect(lakeRow(state({ entries: parseLsR('drwxrwxrwx   - hdfs hdfs          0 2026-11-30 23:00 /lake/.Trash') })).ok).toBe(false);
    expect(lakeRow(state({ entries: parseLsR('drwxrwxrwt   - hdfs hdfs          0 2026-11-30 23:00 /lake/flights/.Trash') })).ok).toBe(false);
  });
});

describe('verify: minimum TLS version', () => {
  it('classifies handshakes by who ended them', () => {
    expect(classifyHandshake('CONNECTION ESTABLISHED\nProtocol version: TLSv1.2\nCiphersuite: ECDHE-RSA-AES256-GCM-SHA384\n')).toEqual({ result: 'accepted', protocol: 'TLSv1.2' });
    expect(classifyHandshake('40B7514EAC7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1601:SSL alert number 70\n')).toEqual({
      result: 'refused',
      why: 'protocol_version alert',
    });
    expect(classifyHandshake('error:0A000126:SSL routines:ssl3_read_n:unexpected eof while reading:../ssl/record/rec_layer_s3.c:318:\n')).toMatchObject({ result: 'refused' });
    // OpenSSL 3 at its default security level gives up on its own: not the server's refusal.
    expect(classifyHandshake('error:0A00014D:SSL routines:tls_process_key_exchange:legacy sigalg disallowed or unsupported:../ssl/statem/statem_clnt.c:2254:\n')).toMatchObject({ result: 'inconclusive' });
    expect(classifyHandshake('error:0A0000BF:SSL routines:tls_setup_handshake:no protocols available\n')).toMatchObject({ result: 'inconclusive' });
    expect(classifyHandshake('connect:errno=111\n')).toMatchObject({ result: 'inconclusive' });
  });

  it('offers the old versions at security level 0, and a client certificate only to mutual-TLS ports on the Kafka node', () => {
    expect(handshakeCommand('127.0.0.31', 9093, 'tls1_1', '/etc/millrace/tls/kafka/node.pem')).toBe(
      'timeout 10 openssl s_client -connect 127.0.0.31:9093 -tls1_1 -cipher DEFAULT@SECLEVEL=0 -cert /etc/millrace/tls/kafka/node.pem -key /etc/millrace/tls/kafka/node.pem -CAfile /etc/millrace/tls/ca.pem -brief </dev/null 2>&1',
    );
    expect(handshakeCommand('127.0.0.33', 9871, 'tls1_2')).toBe('timeout 10 openssl s_client -connect 127.0.0.33:9871 -tls1_2 -CAfile /etc/millrace/tls/ca.pem -brief </dev/null 2>&1');
    expect(tlsPorts(kafka).map((s) => [s.port, clientPemFor(s, kafka)])).toEqual([
      [9100, undefined],
      [9093, '/etc/millrace/tls/kafka/node.pem'],
      [9094, '/etc/millrace/tls/kafka/node.pem'],
      [9404, undefined],
    ]);
    expect(tlsPorts(spark).map((s) => [s.port, clientPemFor(s, spark)])).toEqual([
      [9100, undefined],
      [8480, undefined],
      [9408, undefined],
      [8481, undefined],
      [9409, undefined],
    ]);
    expect(tlsPorts(hdfs).map((s) => s.port)).toEqual([9100, 9871, 9405, 9865, 9406, 9600, 9407]);
  });

  it('passes a port only when both old versions are refused by the server and 1.2 completes', () => {
    const refused = { result: 'refused', why: 'protocol_version alert' } as const;
    const accepted = (protocol: string) => ({ result: 'accepted', protocol }) as const;
    expect(portVerdict({ port: 9093, tls1: refused, tls1_1: refused, tls1_2: accepted('TLSv1.2') }).ok).toBe(true);
    expect(portVerdict({ port: 9093, tls1: refused, tls1_1: accepted('TLSv1.1'), tls1_2: accepted('TLSv1.2') })).toEqual({
      ok: false,
      detail: '9093: TLS 1.0 refused (protocol_version alert), TLS 1.1 accepted (TLSv1.1), TLS 1.2 accepted (TLSv1.2)',
    });
    expect(portVerdict({ port: 9093, tls1: refused, tls1_1: { result: 'inconclusive', why: 'no protocols available' }, tls1_2: accepted('TLSv1.2') }).ok).toBe(false);
    expect(portVerdict({ port: 9093, tls1: refused, tls1_1: refused, tls1_2: refused }).ok).toBe(false);
    expect(tlsVersionRow('kafka-1', []).ok).toBe(false);
    expect(tlsVersionRow('kafka-1', [{ port: 9093, name: 'kafka-client', tls1: refused, tls1_1: refused, tls1_2: accepted('TLSv1.2') }])).toMatchObject({
      ok: true,
      detail: '9093 (kafka-client): 1.0 and 1.1 refused by the server, 1.2 completed',
    });
  });

  it('the control server speaks only TLS 1.1 on a port the kernel picks, and the control passes only on a TLS 1.1 handshake', () => {
    const s = controlScript();
    // On 127.0.0.1, never the node's address: the ports rows run meanwhile.
    expect(s).toContain('openssl s_server -accept 127.0.0.1:0 ');
    expect(s).toContain('-tls1_1 -cipher DEFAULT@SECLEVEL=0 -www -naccept 1');
    expect(controlRow('kafka-1', 'CONNECTION ESTABLISHED\nProtocol version: TLSv1.1\n').ok).toBe(true);
    expect(controlRow('kafka-1', 'error:0A00014D:SSL routines::legacy sigalg disallowed or unsupported\n').ok).toBe(false);
  });
});

describe('verify: HDFS RPC without authentication, and WARN', () => {
  it('is a WARN (ok, not failing) when a claimed user is believed, PASS when not, FAIL when the control does not hold', () => {
    const warn = hdfsRpcRow('hdfs-1', { asItself: 1, claimingHdfs: 0 });
    expect(warn).toMatchObject({ ok: true, status: 'warn' });
    expect(warn.detail).toMatch(/^HDFS RPC \(8020, 9867\) has no authentication without Kerberos: a client can claim any user; see README 'Without Kerberos'/);
    expect(rowStatus(hdfsRpcRow('hdfs-1', { asItself: 1, claimingHdfs: 1 }))).toBe('pass');
    expect(rowStatus(hdfsRpcRow('hdfs-1', { asItself: 0, claimingHdfs: 0 }))).toBe('fail');
    expect(rowStatus(hdfsRpcRow('hdfs-1', { asItself: 1, claimingHdfs: 255 }))).toBe('fail');
    expect(rowStatus(hdfsRpcRow('hdfs-1', undefined))).toBe('warn');
  });

  it('asks as spark, then as spark claiming hdfs', async () => {
    const host = fakeHost('spark-1', (c) => ({ code: c.includes('HADOOP_USER_NAME=hdfs') ? 0 : 1 }));
    expect(await probeClaim(factsFor(), host)).toEqual({ asItself: 1, claimingHdfs: 0 });
    expect(host.commands[1]).toBe("runuser -u spark -- env HADOOP_USER_NAME=hdfs java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xmx256m -cp '/etc/millrace/hadoop:/opt/millrace/spark/current/jars/*' org.apache.hadoop.fs.FsShell -test -w /");
  });

  it('a status never says warn on a failing row; the table prints WARN and keeps failures counted apart', () => {
    expect(rowStatus({ ok: false, status: 'warn' })).toBe('fail');
    expect(rowStatus({ ok: true, status: 'warn' })).toBe('warn');
    expect(rowStatus({ ok: true })).toBe('pass');
    const rows = [
      { check: 'a', target: 'x', ok: true, detail: 'fine' },
      { check: 'b', target: 'x', ok: true, status: 'warn' as const, detail: 'known limit' },
    ];
    const text = formatVerify(rows);
    expect(text).toMatch(/^WARN\s+x\s+b\s+known limit$/m);
    expect(text.split('\n').pop()).toBe('no check failed: 1 passed; 1 WARN: a known limit, named with its reason');
    expect(formatVerify([...rows, { check: 'c', target: 'x', ok: false, detail: 'bad' }]).split('\n').pop()).toBe('1 of 3 checks FAILED; 1 WARN: a known limit, named with its reason');
    expect(formatVerify([rows[0]!]).split('\n').pop()).toBe('all 1 checks passed');
  });
});
