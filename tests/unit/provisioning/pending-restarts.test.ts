/**
 * The restarts a node owes, kept on the node between a change and its restart, run by bash on
 * this machine: what an interrupted `up` leaves there is what the next one reads.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PendingRestarts } from '../../../provisioning/provision';
import { bashHost } from '../../fixtures/bash-host';

describe('pending restarts on a node', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-pending-'));
  const file = path.join(dir, 'state', 'pending-restarts');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('none on a node that owes nothing', async () => {
    expect(await new PendingRestarts(bashHost('kafka-1'), file).read()).toEqual([]);
  });

  it('what an interrupted run recorded, the next run reads, once each; a done unit leaves the list, and clear empties it', async () => {
    const cut = new PendingRestarts(bashHost('kafka-1'), file);
    await cut.add(['millrace-kafka.service', 'millrace-hdfs-datanode.service']);
    await cut.add(['millrace-kafka.service']);
    await cut.add([]);
    // The run stops here (its connection lost): the next one starts from the file.
    const next = new PendingRestarts(bashHost('kafka-1'), file);
    expect(await next.read()).toEqual(['millrace-hdfs-datanode.service', 'millrace-kafka.service']);
    await next.done('millrace-kafka.service');
    expect(fs.readFileSync(file, 'utf8')).toBe('millrace-hdfs-datanode.service\n');
    await next.done('millrace-kafka.service');
    expect(await next.read()).toEqual(['millrace-hdfs-datanode.service']);
    await next.clear();
    expect(fs.existsSync(file)).toBe(false);
    await next.done('millrace-kafka.service');
    expect(await next.read()).toEqual([]);
  });
});
