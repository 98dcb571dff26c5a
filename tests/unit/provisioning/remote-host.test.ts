/** The SSH seam's pure parts: what a failed `sudo -n true` tells the user, and a refused channel opened again. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostUnreachableError } from '../../../lib/errors';
import type { InventoryNode } from '../../../lib/inventory';
import { KnownHosts } from '../../../provisioning/known-hosts';
import { connect, connectionLost, openingChannel, runAs, sudoProblem } from '../../../provisioning/remote-host';

const where = 'hdfs-1 (127.0.0.33:22)';
const said = (stderr: string, code = 1) => sudoProblem(where, 'admin', { code, stdout: '', stderr });

describe('sudoProblem', () => {
  it('is nothing when sudo worked', () => {
    expect(sudoProblem(where, 'admin', { code: 0, stdout: '', stderr: '' })).toBeUndefined();
  });

  it('names the node, the user and the fix when sudo wants a password', () => {
    const e = said('sudo: a password is required\n')!;
    expect(e.message).toBe('hdfs-1 (127.0.0.33:22): user admin needs a password for sudo; millrace runs sudo non-interactively (sudo -n) and stopped before changing anything');
    expect(e.hint).toContain("echo 'admin ALL=(ALL:ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-millrace");
    expect(e.retriable).toBe(false);
  });

  it('says to install sudo when there is none', () => {
    const e = said('sh: 1: sudo: not found', 127)!;
    expect(e.message).toBe('hdfs-1 (127.0.0.33:22): user admin is not root and sudo is not installed, so millrace cannot install or configure anything there');
    expect(e.hint).toMatch(/^install sudo/);
  });

  it('explains requiretty and a user sudo refuses', () => {
    expect(said('sudo: sorry, you must have a tty to run sudo')!.hint).toContain('Defaults:admin !requiretty');
    expect(said('admin is not in the sudoers file.  This incident will be reported.')!.message).toBe(
      'hdfs-1 (127.0.0.33:22): user admin may not run commands as root with sudo: admin is not in the sudoers file.  This incident will be reported.',
    );
  });
});

describe('runAs', () => {
  it('drops to a service user with runuser, quoting the user', () => {
    expect(runAs('hdfs', 'java -version')).toBe('runuser -u hdfs -- java -version');
    expect(runAs("o'brien", 'id')).toBe(`runuser -u 'o'\\''brien' -- id`);
  });
});

describe('connectionLost', () => {
  it('names the node and the command the connection was lost under, and says a re-run is safe', () => {
    const e = connectionLost('kafka-1 (127.0.0.31)', 'systemctl restart millrace-kafka.service');
    expect(e.message).toBe('kafka-1 (127.0.0.31): the SSH connection was lost while running: systemctl restart millrace-kafka.service');
    expect(e.hint).toMatch(/run the command again/);
  });

  it('shortens a long command', () => {
    expect(connectionLost('n', 'x'.repeat(500)).message).toMatch(/: x{157}\.\.\.$/);
  });
});

describe('openingChannel', () => {
  const REFUSED = '(SSH) Channel open failure: open failed';
  /** A channel opener that fails with `message` on its first `failures` calls, then returns 'ran'; counts its calls. */
  const opener = (failures: number, message = REFUSED) => {
    const o = {
      calls: 0,
      open: async (): Promise<string> => {
        if (++o.calls <= failures) throw new Error(message);
        return 'ran';
      },
    };
    return o;
  };

  it("opens again while sshd refuses the channel (nothing ran), and passes any other error through at once", async () => {
    const refusedTwice = opener(2);
    await expect(openingChannel(refusedTwice.open)).resolves.toBe('ran');
    expect(refusedTwice.calls).toBe(3);
    const lost = opener(Infinity, 'Connection lost before handshake');
    await expect(openingChannel(lost.open)).rejects.toThrow('Connection lost');
    expect(lost.calls).toBe(1);
  });

  it('gives up after five refusals, saying so', async () => {
    const refused = opener(Infinity);
    await expect(openingChannel(refused.open)).rejects.toThrow('open failed (after 6 attempts)');
    expect(refused.calls).toBe(6);
  });
});

describe('connect, when sshd closes the connection before the login is done', () => {
  let server: net.Server;
  let dir: string;
  beforeAll(async () => {
    // Says it is an SSH server, then hangs up: what sshd does to a connection over its MaxStartups.
    server = net.createServer((s) => s.end('SSH-2.0-OpenSSH_9.2p1\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-connect-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says so in words, names the node, and may be tried again', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const node = { name: 'spark-1', roles: [], sshAddress: '127.0.0.1', sshPort: port, sshUser: 'admin', privateKeyPath: path.join(dir, 'key'), privateAddress: '127.0.0.1' } as unknown as InventoryNode;
    const error = await connect(node, { knownHosts: new KnownHosts(path.join(dir, 'known_hosts.json')), retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostUnreachableError);
    expect((error as HostUnreachableError).message).toBe(`spark-1 (127.0.0.1:${port}): cannot connect over SSH: the SSH server closed the connection before the login was done`);
    expect((error as HostUnreachableError).retriable).toBe(true);
  });
});
