/** What `up` shows of a local node that never let its login user in: its sshd and cloud-init, or its console. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nodeBootLog } from '../../../targets/local';

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
