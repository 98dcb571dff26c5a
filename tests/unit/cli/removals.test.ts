/** What `up` takes away from a running cluster when the config drops nodes or roles, and what it refuses. */
import { droppedRoles, refuseLosingEveryDataNode, refuseUnsafeDrops } from '../../../cli/bootstrap';
import type { InventoryNode } from '../../../lib/inventory';
import type { Role } from '../../../lib/roles';

const node = (name: string, roles: Role[], address: string): InventoryNode => ({ name, roles, privateAddress: address, sshAddress: address, sshUser: 'root', sshPort: 22 }) as InventoryNode;
const CURRENT = [
  node('kafka-1', ['kafka'], '10.0.0.1'),
  node('kafka-2', ['kafka', 'spark-worker'], '10.0.0.2'),
  node('spark-1', ['spark-master', 'spark-worker'], '10.0.0.3'),
  node('hdfs-1', ['namenode', 'datanode', 'kms'], '10.0.0.4'),
];
const wanted = (...keep: [string, Role[]][]): { name: string; roles: Role[] }[] => keep.map(([name, roles]) => ({ name, roles }));

describe('roles the config drops from a running cluster', () => {
  it('none when every node keeps its roles, whatever the order', () => {
    expect(droppedRoles(CURRENT, wanted(['hdfs-1', ['kms', 'datanode', 'namenode']], ['spark-1', ['spark-worker', 'spark-master']], ['kafka-2', ['spark-worker', 'kafka']], ['kafka-1', ['kafka']]))).toEqual([]);
  });

  it('a node that goes drops all its roles; a node that stays drops only the roles it lost', () => {
    const dropped = droppedRoles(CURRENT, wanted(['kafka-1', ['kafka']], ['spark-1', ['spark-master']], ['hdfs-1', ['namenode', 'datanode', 'kms']]));
    expect(dropped.map((d) => ({ node: d.node.name, roles: d.roles, removed: d.removed }))).toEqual([
      { node: 'kafka-2', roles: ['kafka', 'spark-worker'], removed: true },
      { node: 'spark-1', roles: ['spark-worker'], removed: false },
    ]);
    expect(() => refuseUnsafeDrops(dropped)).not.toThrow();
  });

  it('a node that stays may lose the kdc role (Kerberos turned off, or an existing KDC): provisioning stops that KDC, so it is not dropped here', () => {
    const withKdc = [node('hdfs-1', ['namenode', 'datanode', 'kms', 'kdc'], '10.0.0.4')];
    expect(droppedRoles(withKdc, wanted(['hdfs-1', ['namenode', 'datanode', 'kms']]))).toEqual([]);
    expect(droppedRoles(withKdc, wanted()).map((d) => d.roles)).toEqual([['namenode', 'datanode', 'kms', 'kdc']]);
  });

  it('refuses (exit 2) the NameNode or the KMS leaving, on a node that goes or stays, naming each and changing nothing; a DataNode alone may leave', () => {
    const dropped = droppedRoles(CURRENT, wanted(['kafka-1', ['kafka']], ['kafka-2', ['kafka', 'spark-worker']], ['spark-1', ['spark-master', 'spark-worker', 'datanode']]));
    expect(dropped.map((d) => `${d.node.name}:${d.roles.join(',')}`)).toEqual(['hdfs-1:namenode,datanode,kms']);
    const hdfs2Leaves = droppedRoles([node('hdfs-2', ['datanode'], '10.0.0.5')], wanted(['hdfs-2', []]));
    expect(() => refuseUnsafeDrops(hdfs2Leaves)).not.toThrow();
    let error: (Error & { exitCode?: number; hint?: string }) | undefined;
    try {
      refuseUnsafeDrops([...dropped, ...droppedRoles([node('hdfs-3', ['datanode', 'kms'], '10.0.0.6')], wanted(['hdfs-3', ['datanode']]))]);
    } catch (e) {
      error = e as Error & { exitCode?: number; hint?: string };
    }
    expect(error?.message).toBe(
      'the config drops roles millrace cannot remove from a running cluster yet: hdfs-1 is gone (namenode, kms); hdfs-3 loses (kms). Only kafka, datanode and spark-worker can leave so far; removing the others would lose data or a service; nothing was changed',
    );
    expect(error?.exitCode).toBe(2);
    expect(error?.hint).toMatch(/put the node and its roles back/);
  });

  it('refuses (exit 2) removing every DataNode, and allows removing some', () => {
    const two = [...CURRENT, node('hdfs-2', ['datanode'], '10.0.0.5')];
    expect(() => refuseLosingEveryDataNode(two, droppedRoles(two, wanted(['kafka-1', ['kafka']], ['kafka-2', ['kafka', 'spark-worker']], ['spark-1', ['spark-master', 'spark-worker']], ['hdfs-1', ['namenode', 'datanode', 'kms']])))).not.toThrow();
    let error: (Error & { exitCode?: number }) | undefined;
    try {
      refuseLosingEveryDataNode(two, droppedRoles(two, wanted(['kafka-1', ['kafka']], ['kafka-2', ['kafka', 'spark-worker']], ['spark-1', ['spark-master', 'spark-worker']], ['hdfs-1', ['namenode', 'kms']])));
    } catch (e) {
      error = e as Error & { exitCode?: number };
    }
    expect(error?.message).toBe('the config removes every DataNode the cluster has (hdfs-1, hdfs-2); HDFS would lose its blocks; nothing was changed');
    expect(error?.exitCode).toBe(2);
    expect(() => refuseLosingEveryDataNode(CURRENT, [])).not.toThrow();
  });
});
