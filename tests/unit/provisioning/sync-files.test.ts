/**
 * syncFiles against this machine's own shell and files: the probe is the real one, run by bash,
 * on files in a temporary directory (as root, so owner checks see root).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RemoteHost } from '../../../provisioning/remote-host';
import type { FileSpec } from '../../../provisioning/service';
import { syncFiles, withRestartDigest } from '../../../provisioning/sync-files';
import { fakeHost } from './fake-host';

const owner = os.userInfo().username;

/** A host whose commands run here, under bash, and whose files are written here. */
function localHost(): RemoteHost {
  const host = fakeHost('local', (command) => {
    try {
      return { stdout: execFileSync('bash', ['-c', command], { encoding: 'utf8' }) };
    } catch (error) {
      const e = error as { status?: number; stderr?: string };
      return { code: e.status ?? 1, stderr: e.stderr ?? '' };
    }
  });
  host.putFile = async (p, content, o) => {
    fs.writeFileSync(p, content, { mode: o?.mode });
    fs.chmodSync(p, o?.mode ?? 0o644);
  };
  return host;
}

describe('syncFiles with a restart digest', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-sync-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = (daemonsRead: string, appsRead: string): FileSpec => ({
    path: path.join(dir, 'spark-defaults.conf'),
    ...withRestartDigest(`${daemonsRead}\n${appsRead}\n`, daemonsRead),
    mode: 0o600,
    owner,
    restarts: ['millrace-spark-master.service'],
  });

  it('restarts for a new file and for a change the units read; writes without a restart a change only applications read', async () => {
    const host = localHost();
    const [first] = await syncFiles(host, [spec('spark.authenticate true', 'spark.millrace.kafka.bootstrapServers a:9093')]);
    expect(first?.restarts).toEqual(['millrace-spark-master.service']);
    expect(fs.readFileSync(first!.path, 'utf8')).toMatch(/^# restart digest: [0-9a-f]{64}\nspark\.authenticate true\n/);

    // Unchanged: nothing to write.
    expect(await syncFiles(host, [spec('spark.authenticate true', 'spark.millrace.kafka.bootstrapServers a:9093')])).toEqual([]);

    // A broker added: written, no restart.
    const [brokers] = await syncFiles(host, [spec('spark.authenticate true', 'spark.millrace.kafka.bootstrapServers a:9093,b:9093')]);
    expect(brokers?.restarts).toEqual([]);
    expect(fs.readFileSync(brokers!.path, 'utf8')).toContain('a:9093,b:9093');

    // A daemon setting changed: written, and a restart.
    const [daemons] = await syncFiles(host, [spec('spark.authenticate false', 'spark.millrace.kafka.bootstrapServers a:9093,b:9093')]);
    expect(daemons?.restarts).toEqual(['millrace-spark-master.service']);
  });

  it('restarts when the file on the node has no digest (written by an earlier version)', async () => {
    const host = localHost();
    const file = spec('spark.authenticate true', 'spark.millrace.lake /lake');
    fs.writeFileSync(file.path, 'spark.authenticate true\nspark.millrace.lake /old\n', { mode: 0o600 });
    const [changed] = await syncFiles(host, [file]);
    expect(changed?.restarts).toEqual(['millrace-spark-master.service']);
  });
});
