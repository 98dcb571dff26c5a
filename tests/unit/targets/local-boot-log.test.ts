/** What `up` does with a local node that turns logins away: the units it starts again, and what it shows of the node when it gives up. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cgroupRaceUnits, nodeBootLog, parseFailedUnits } from '../../../targets/local';

describe('nodeBootLog', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bootlog-'));
    fs.mkdirSync(path.join(dir, 'rootfs'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("falls back to the console's last lines, without colour codes, while the node has no journal", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `\x1b[0;32m  OK  \x1b[0m] Started unit-${i}.service`);
    fs.writeFileSync(path.join(dir, 'nspawn.log'), `${lines.join('\n')}\n\n`);
    const said = nodeBootLog({ rootfs: path.join(dir, 'rootfs'), log: path.join(dir, 'nspawn.log') }, 3);
    expect(said).toEqual(['  OK  ] Started unit-27.service', '  OK  ] Started unit-28.service', '  OK  ] Started unit-29.service']);
  });

  it('is empty when the node has neither a journal nor a console log', () => {
    expect(nodeBootLog({ rootfs: path.join(dir, 'rootfs'), log: path.join(dir, 'nspawn.log') })).toEqual([]);
  });
});

describe('cgroupRaceUnits', () => {
  it("picks the units whose process could not join its cgroup (219) from systemctl show's blocks, and no other failed unit", () => {
    // As a node printed it (2026-12-07), with a unit that failed for its own reasons added.
    const shown = [
      'Result=exit-code\nExecMainStatus=219\nId=systemd-user-sessions.service',
      'Result=exit-code\nExecMainStatus=1\nId=millrace-kafka.service',
      'Id=cloud-final.service\nExecMainStatus=219',
      '',
    ].join('\n\n');
    expect(parseFailedUnits(shown)).toEqual([
      { id: 'systemd-user-sessions.service', status: '219' },
      { id: 'millrace-kafka.service', status: '1' },
      { id: 'cloud-final.service', status: '219' },
    ]);
    expect(cgroupRaceUnits(parseFailedUnits(shown))).toEqual(['systemd-user-sessions.service', 'cloud-final.service']);
    expect(parseFailedUnits('')).toEqual([]);
  });
});
