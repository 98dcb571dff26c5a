/**
 * What `up --target aws` checks before terraform ever runs, through the built CLI: the public
 * key, the private key that goes with it, and AWS credentials that work (STS GetCallerIdentity).
 * terraform is a stand-in that records its calls, so "before terraform runs" is a fact here; STS
 * is a loopback stub for the one answer no emulator gives (rejected credentials).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { installStandin } from '../../fixtures/terraform-standin/install';

const REPO = path.resolve(__dirname, '../../..');
const MAIN = path.join(REPO, 'dist/cli/main.js');

let home: string;
let bin: string;
const calls = (): string => (fs.existsSync(path.join(home, 'calls.jsonl')) ? fs.readFileSync(path.join(home, 'calls.jsonl'), 'utf8') : '');

beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
});
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-aws-checks-'));
  bin = path.join(home, 'bin');
  installStandin(bin, 'terraform');
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** Runs the CLI without blocking this process (a stub server may have to answer it). */
function millrace(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      {
        cwd: home,
        env: {
          PATH: `${bin}${path.delimiter}/usr/bin:/bin`,
          HOME: home,
          MILLRACE_HOME: path.join(home, '.millrace'),
          STANDIN_LOG: path.join(home, 'calls.jsonl'),
          // No credentials from this machine's profile or an instance role may leak into the test.
          AWS_CONFIG_FILE: path.join(home, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-aws-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
        encoding: 'utf8',
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function keyPair(name: string): { key: string; pub: string } {
  const key = path.join(home, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  return { key, pub: fs.readFileSync(`${key}.pub`, 'utf8').trim() };
}

function awsConfig(ssh: string): string {
  const file = path.join(home, 'aws.yaml');
  fs.writeFileSync(file, `name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n${ssh}`);
  return file;
}

describe('up --target aws: checks before terraform runs', () => {
  it('a public key that is not one exits 2, naming ssh.publicKey', async () => {
    const { key } = keyPair('op');
    const cfg = awsConfig(`ssh:\n  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExample operator@example"\n  privateKeyPath: ${key}\n`);
    const r = await millrace(['up', '--yes', '-c', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ssh\.publicKey: is not a valid OpenSSH public key/);
    expect(calls()).toBe('');
  });

  it('a private key that is missing, or not the public key\'s other half, exits 2 and names the file', async () => {
    const { pub } = keyPair('op');
    const other = keyPair('other');
    const missing = await millrace(['up', '--yes', '-c', awsConfig(`ssh:\n  publicKey: "${pub}"\n  privateKeyPath: ${path.join(home, 'nope')}\n`)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`error: ssh.privateKeyPath ${path.join(home, 'nope')} cannot be read: ENOENT`);
    const mismatched = await millrace(['up', '--yes', '-c', awsConfig(`ssh:\n  publicKey: "${pub}"\n  privateKeyPath: ${other.key}\n`)]);
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toContain(`error: ssh.privateKeyPath ${other.key} does not belong to the public key (ssh.publicKey): they are not one key pair`);
    expect(mismatched.stderr).toMatch(/hint: .*ssh-keygen -y -f/);
    expect(calls()).toBe('');
  });

  it('no AWS credentials at all exits 1, saying so', async () => {
    const r = await millrace(['up', '--yes', '-c', awsConfig('')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: no AWS credentials found: the aws target needs them to create the cluster');
    expect(r.stderr).toMatch(/hint: set AWS_PROFILE/);
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|\n\s+at /);
    expect(calls()).toBe('');
  });

  it('credentials AWS rejects exit 1, with what STS said', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>stub</RequestId></ErrorResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await millrace(['up', '--yes', '-c', awsConfig('')], { AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wrong' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: AWS rejected the credentials: The security token included in the request is invalid.');
      expect(calls()).toBe('');
    } finally {
      server.close();
    }
  });
});
