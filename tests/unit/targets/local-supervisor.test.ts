/**
 * The local node's supervisor (targets/local SUPERVISOR), run by a real shell around a stand-in
 * for systemd-nspawn: exit 133 (the node rebooted from inside) boots it again, any other exit ends
 * the supervisor with that code, and a SIGTERM reaches the node and ends the supervisor cleanly.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SUPERVISOR, SUPERVISOR_NAME } from '../../../targets/local';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-supervisor-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the local node supervisor', () => {
  it('boots the node again after each reboot (exit 133), and ends with the code of any other exit', () => {
    const boots = path.join(dir, 'boots');
    fs.writeFileSync(boots, '0');
    // Reboots twice, then shuts down with 7.
    const node = `n=$(cat ${boots}); echo $((n + 1)) > ${boots}; [ "$n" -lt 2 ] && exit 133; exit 7`;
    const r = spawnSync('sh', ['-c', SUPERVISOR, SUPERVISOR_NAME, 'sh', '-c', node], { encoding: 'utf8', timeout: 20_000 });
    expect(fs.readFileSync(boots, 'utf8').trim()).toBe('3');
    expect(r.status).toBe(7);
    expect(r.stderr.match(/rebooted from inside; booting it again/g)).toHaveLength(2);
  });

  it('passes SIGTERM on to the node, waits for it, and exits 0', async () => {
    const said = path.join(dir, 'said');
    const node = `trap 'echo stopped-cleanly > ${said}; exit 0' TERM; sleep 30 & wait`;
    const child = spawn('sh', ['-c', SUPERVISOR, SUPERVISOR_NAME, 'sh', '-c', node], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fs.readFileSync(said, 'utf8').trim()).toBe('stopped-cleanly');
  });
});
