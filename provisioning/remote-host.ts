/**
 * The only module that touches SSH. Everything else sees a connected RemoteHost.
 */
import { NodeSSH } from 'node-ssh';
import type { SFTPWrapper } from 'ssh2';
import * as fs from 'node:fs';
import { HostUnreachableError, MillraceError, RemoteCommandError } from '../lib/errors';
import type { InventoryNode } from '../lib/inventory';
import { withRetry } from '../lib/retry';
import { q } from '../lib/shell';
import { fingerprint, KnownHosts } from './known-hosts';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  stdin?: string;
  /** Streamed output, line by line, for long commands. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface PutOptions {
  mode: number;
  owner?: string;
  group?: string;
}

export interface RemoteHost {
  readonly name: string;
  readonly address: string;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Runs a command and returns its stdout; a non-zero exit throws RemoteCommandError naming the host. */
  execOrThrow(command: string, options?: ExecOptions & { what?: string }): Promise<string>;
  /** Writes content atomically (temp file, then rename) with the given mode and owner. */
  putFile(remotePath: string, content: string | Buffer, options: PutOptions): Promise<void>;
  /** Uploads a local file (an artifact) to remotePath. */
  upload(localPath: string, remotePath: string): Promise<void>;
  getFile(remotePath: string): Promise<Buffer>;
  close(): Promise<void>;
}

const TRANSIENT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Timed out while waiting for handshake|Connection lost/i;

export interface ConnectOptions {
  knownHosts: KnownHosts;
  retries?: number;
  readyTimeoutMs?: number;
}

export async function connect(node: InventoryNode, options: ConnectOptions): Promise<RemoteHost> {
  const where = `${node.name} (${node.sshAddress}:${node.sshPort})`;
  let privateKey: string;
  try {
    privateKey = fs.readFileSync(node.privateKeyPath, 'utf8');
  } catch (error) {
    throw new MillraceError(`${node.name}: cannot read the SSH private key ${node.privateKeyPath}`, {
      hint: 'set ssh.privateKeyPath (or the node\'s privateKeyPath) to a readable key file',
      cause: error,
    });
  }
  return withRetry(
    async () => {
      const ssh = new NodeSSH();
      let seen: string | undefined;
      let seenKey: Buffer | undefined;
      const pinned = options.knownHosts.get(node.name);
      try {
        await ssh.connect({
          host: node.sshAddress,
          port: node.sshPort,
          username: node.sshUser,
          privateKey,
          readyTimeout: options.readyTimeoutMs ?? 15_000,
          hostVerifier: (key: Buffer) => {
            seen = fingerprint(key);
            seenKey = key;
            return pinned === undefined || pinned.fingerprint === seen;
          },
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (pinned && seen && seen !== pinned.fingerprint)
          throw new MillraceError(
            `${where}: the SSH host key changed: pinned ${pinned.fingerprint}, offered ${seen}`,
            { hint: `if ${node.name} was rebuilt on purpose, run \`millrace forget-host ${node.name}\`; otherwise treat this as an attack and stop` },
          );
        if (/authentication methods failed/i.test(message))
          throw new HostUnreachableError(where, `the SSH key ${node.privateKeyPath} was refused for user ${node.sshUser}`, {
            hint: 'check that ssh.privateKeyPath matches a public key in the node\'s authorized_keys, and the SSH user',
          });
        throw new HostUnreachableError(where, message, {
          retriable: TRANSIENT.test(message),
          hint: `check that ${node.name} is running and that ${node.sshAddress}:${node.sshPort} is reachable from here (network.sshCidr)`,
          cause: error,
        });
      }
      if (!pinned && seenKey) options.knownHosts.pin(node.name, `${node.sshAddress}:${node.sshPort}`, seenKey);
      return new SshHost(node.name, node.sshAddress, ssh);
    },
    { retries: options.retries ?? 3, backoff: 1000 },
  );
}

class SshHost implements RemoteHost {
  private sftp?: Promise<SFTPWrapper>;

  constructor(readonly name: string, readonly address: string, private readonly ssh: NodeSSH) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.ssh.execCommand(command, {
      stdin: options.stdin,
      onStdout: options.onStdout && ((b) => options.onStdout?.(b.toString('utf8'))),
      onStderr: options.onStderr && ((b) => options.onStderr?.(b.toString('utf8'))),
    });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  async execOrThrow(command: string, options: ExecOptions & { what?: string } = {}): Promise<string> {
    const r = await this.exec(command, options);
    if (r.code !== 0) {
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n');
      throw new RemoteCommandError(this.name, options.what ?? abbreviate(command), r.code, tail);
    }
    return r.stdout;
  }

  private channel(): Promise<SFTPWrapper> {
    this.sftp ??= this.ssh.requestSFTP();
    return this.sftp;
  }

  async putFile(remotePath: string, content: string | Buffer, options: PutOptions): Promise<void> {
    const sftp = await this.channel();
    const tmp = `${remotePath}.millrace-tmp`;
    // Created with the final mode from the start, so a secret is never world-readable, even briefly.
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(tmp, content, { mode: options.mode }, (err: Error | null | undefined) => (err ? reject(wrapSftp(this.name, tmp, err)) : resolve())),
    );
    const owner = options.owner ? `${options.owner}:${options.group ?? options.owner}` : undefined;
    await this.execOrThrow(
      [`chmod ${options.mode.toString(8)} ${q(tmp)}`, owner ? `chown ${q(owner)} ${q(tmp)}` : '', `mv -f ${q(tmp)} ${q(remotePath)}`]
        .filter(Boolean)
        .join(' && '),
      { what: `install ${remotePath}` },
    );
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    await this.ssh.putFile(localPath, remotePath, await this.channel());
  }

  async getFile(remotePath: string): Promise<Buffer> {
    const sftp = await this.channel();
    return new Promise((resolve, reject) =>
      sftp.readFile(remotePath, (err: Error | undefined, data: Buffer) => (err ? reject(wrapSftp(this.name, remotePath, err)) : resolve(data))),
    );
  }

  async close(): Promise<void> {
    this.ssh.dispose();
  }
}

function wrapSftp(host: string, file: string, err: Error): MillraceError {
  return new MillraceError(`${host}: cannot transfer ${file}: ${err.message}`, { cause: err });
}

function abbreviate(command: string): string {
  return command.length > 160 ? command.slice(0, 157) + '...' : command;
}
