/**
 * The local nodes' source-address library (templates/local/source-address.c), compiled here with
 * the test's own address file and preloaded into real processes that connect to a real listener.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { assetPath } from '../../../lib/assets';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-source-address-'));
const addressFile = path.join(dir, 'source-address');
const shim = path.join(dir, 'source-address.so');
let server: net.Server;
let port = 0;
const peers: string[] = [];

beforeAll(async () => {
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', `-DADDRESS_FILE="${addressFile}"`, '-o', shim, assetPath('templates', 'local', 'source-address.c')], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot compile templates/local/source-address.c (the local target needs gcc and libc6-dev; scripts/setup.sh installs them): ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
  server = net.createServer((s) => {
    peers.push(s.remoteAddress ?? '?');
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.78', r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs Python with the library preloaded; it prints the local address of each socket it connects. */
function python(code: string): string[] {
  const out = execFileSync('python3', ['-c', `import socket\nPORT=${port}\n${code}`], { env: { ...process.env, LD_PRELOAD: shim }, encoding: 'utf8' });
  return out.trim().split('\n');
}

describe('the source-address library', () => {
  it('binds an IPv4 connection to a loopback destination to the node address, and the listener sees that address', async () => {
    fs.writeFileSync(addressFile, '127.0.0.77\n');
    peers.length = 0;
    expect(python("s = socket.create_connection(('127.0.0.78', PORT)); print(s.getsockname()[0])")).toEqual(['127.0.0.77']);
    // The listener's callback runs once this test yields to the event loop.
    for (let i = 0; i < 100 && peers.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(peers).toEqual(['127.0.0.77']);
  });

  it("binds an IPv6 socket connecting to an IPv4-mapped loopback address (Java's sockets) to the mapped node address", () => {
    fs.writeFileSync(addressFile, '127.0.0.77\n');
    expect(python("s = socket.socket(socket.AF_INET6); s.connect(('::ffff:127.0.0.78', PORT)); print(s.getsockname()[0])")).toEqual(['::ffff:127.0.0.77']);
  });

  it('leaves a socket the program bound itself as it was', () => {
    fs.writeFileSync(addressFile, '127.0.0.77\n');
    expect(python("s = socket.socket(); s.bind(('127.0.0.79', 0)); s.connect(('127.0.0.78', PORT)); print(s.getsockname()[0])")).toEqual(['127.0.0.79']);
  });

  it('leaves UDP alone', () => {
    fs.writeFileSync(addressFile, '127.0.0.77\n');
    expect(python("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('127.0.0.78', PORT)); print(s.getsockname()[0])")).toEqual(['127.0.0.1']);
  });

  it('changes nothing without an address file, or with one that holds no address, and connect still works', () => {
    for (const content of [undefined, 'not an address\n']) {
      fs.rmSync(addressFile, { force: true });
      if (content) fs.writeFileSync(addressFile, content);
      expect(python("s = socket.create_connection(('127.0.0.78', PORT)); print(s.getsockname()[0])")).toEqual(['127.0.0.1']);
    }
  });

  it('keeps connect errors as they were: a refused connection is still ECONNREFUSED', () => {
    fs.writeFileSync(addressFile, '127.0.0.77\n');
    const closed = "import errno\ns = socket.socket()\ntry:\n  s.connect(('127.0.0.78', 1))\nexcept OSError as e:\n  print(errno.errorcode[e.errno])";
    expect(python(closed)).toEqual(['ECONNREFUSED']);
  });
});
