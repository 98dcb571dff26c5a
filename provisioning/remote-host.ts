/**
 * The only module that touches SSH, and the one place where privileges change. Everything else
 * sees a connected RemoteHost whose commands run as root.
 *
 * The login user need not be root: on EC2 it is `admin` (Debian) or `ubuntu`, with passwordless
 * sudo from cloud-init, and a static host usually has such a user too. Every command then runs
 * through `sudo -n`, and every file is first written over SFTP into a private 0700 staging
 * directory in the login user's home, then installed atomically with its final owner, group and
 * mode. `connect` checks that sudo works before anything else runs, so a node whose user needs a
 * password for sudo stops `up` before it changes anything.
 */
import type { NodeSSH } from 'node-ssh';
import { lazy } from '../lib/lazy';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { HostUnreachableError, MillraceError, RemoteCommandError } from '../lib/errors';
import type { InventoryNode, JumpHost } from '../lib/inventory';
import { withRetry } from '../lib/retry';
import { Slots } from '../lib/parallel';
import { q } from '../lib/shell';
import { fingerprint, JUMP_HOST_PIN, KnownHosts } from './known-hosts';

/* eslint-disable @typescript-eslint/no-require-imports */
/** ssh2 and node-ssh, loaded when the first connection opens (commands that never connect start without them). */
const sshLib = lazy(() => require('ssh2') as typeof import('ssh2'));
const nodeSsh = lazy(() => require('node-ssh') as typeof import('node-ssh'));
/* eslint-enable @typescript-eslint/no-require-imports */

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
  /** Default root. */
  owner?: string;
  /** Default: the owner's name (every service user has a group of its own). */
  group?: string;
}

export interface RemoteHost {
  readonly name: string;
  readonly address: string;
  /** The SSH login user; commands run as root whether or not it is root. */
  readonly loginUser: string;
  /** A shell command as the login user's shell must run it to run as root (for a session of its own, e.g. `ssh -t`). */
  rootCommand(command: string): string;
  /** Runs a shell command as root (through sudo when the login user is not root). */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Runs a command and returns its stdout; a non-zero exit throws RemoteCommandError naming the host. */
  execOrThrow(command: string, options?: ExecOptions & { what?: string }): Promise<string>;
  /** Writes content atomically (staged, installed as a temp file, then renamed) with the given mode and owner. */
  putFile(remotePath: string, content: string | Buffer, options: PutOptions): Promise<void>;
  /** Uploads a local file (an artifact) to remotePath, staged like putFile. */
  upload(localPath: string, remotePath: string, options?: PutOptions): Promise<void>;
  /** Reads a file as root. */
  getFile(remotePath: string): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * A command that runs as a service user. Commands reach the node as root, so dropping to a
 * service user (hdfs for Hadoop's tools, kafka for the storage tool) is runuser; raising
 * privileges is only ever done by RemoteHost itself.
 */
/**
 * A systemd unit's failed start as an error: systemctl says only that the unit failed, its journal's
 * last lines say why (millrace's units log no secret).
 */
export async function unitFailure(host: RemoteHost, unit: string, command: string, result: ExecResult, options: { hint?: string } = {}): Promise<RemoteCommandError> {
  const journal = await host.exec(`journalctl -u ${q(unit)} -n 15 --no-pager -o cat`);
  return new RemoteCommandError(host.name, command, result.code, `${result.stderr}\n${journal.stdout}`.trim(), options);
}

export function runAs(user: string, command: string): string {
  return `runuser -u ${q(user)} -- ${command}`;
}

/** What sudo said, turned into what to do about it; undefined when sudo worked. */
export function sudoProblem(where: string, user: string, result: ExecResult): MillraceError | undefined {
  if (result.code === 0) return undefined;
  const said = (result.stderr || result.stdout).trim().split('\n').slice(-1)[0] ?? '';
  const grant = `give ${user} passwordless sudo on that node (as root: echo '${user} ALL=(ALL:ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-millrace && chmod 440 /etc/sudoers.d/90-millrace), or log in as a user that has it (ssh.user, or the node's user), then run the command again`;
  if (result.code === 127 || /sudo: (command )?not found/.test(said))
    return new MillraceError(`${where}: user ${user} is not root and sudo is not installed, so millrace cannot install or configure anything there`, {
      hint: `install sudo (apt-get install sudo, or dnf install sudo) and ${grant}`,
    });
  if (/password is required|a terminal is required|askpass/i.test(said))
    return new MillraceError(`${where}: user ${user} needs a password for sudo; millrace runs sudo non-interactively (sudo -n) and stopped before changing anything`, { hint: grant });
  if (/must have a tty|requiretty/i.test(said))
    return new MillraceError(`${where}: sudo for ${user} requires a terminal (requiretty)`, {
      hint: `add "Defaults:${user} !requiretty" to a file in /etc/sudoers.d on that node, and make sure ${user} has passwordless sudo`,
    });
  return new MillraceError(`${where}: user ${user} may not run commands as root with sudo: ${said || `sudo exited with ${result.code}`}`, { hint: grant });
}

/**
 * ssh2's keepalives: a connection that goes silent (a node gone, a network cut, an EC2 instance
 * stopped) is found dead after about a minute, where a command would otherwise wait on it forever.
 */
const KEEPALIVE = { keepaliveInterval: 15_000, keepaliveCountMax: 4 } as const;

/**
 * What a command's channel closing with neither an exit status nor a signal means: the SSH
 * connection went away under it (its sshd killed, the node rebooted, the network cut, keepalives
 * unanswered). The command may or may not have run to its end on the node.
 */
export function connectionLost(where: string, command: string): MillraceError {
  return new MillraceError(`${where}: the SSH connection was lost while running: ${abbreviate(command)}`, {
    hint: "check that the node is up and reachable, then run the command again: millrace's changes are idempotent, and `up` still owes a node any restart a cut run left undone",
  });
}

/**
 * sshd refused to open a channel: past MaxSessions, counting a session of a command that has just
 * ended but that sshd frees only after it has read the next request. Nothing ran on the node, so
 * opening again, a moment later, is always safe.
 */
export const CHANNEL_REFUSED = /Channel open failure/i;

/** Runs fn, opening its channel again (up to 5 times, 50 ms to 0.8 s apart) while sshd refuses it. */
export function openingChannel<T>(fn: () => Promise<T>): Promise<T> {
  return withRetry(fn, { retries: 5, backoff: 50, isRetriable: (e) => e instanceof Error && CHANNEL_REFUSED.test(e.message) });
}

/** sshd took the connection and closed it before the login was done (its MaxStartups, a restart). */
const CLOSED_BEFORE_LOGIN = 'the SSH server closed the connection before the login was done';
const TRANSIENT = new RegExp(`ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Timed out while waiting for handshake|Connection lost|${CLOSED_BEFORE_LOGIN}`, 'i');

export interface ConnectOptions {
  knownHosts: KnownHosts;
  retries?: number;
  readyTimeoutMs?: number;
}

/**
 * Trust on first use for one SSH host key, the same for nodes and the jump host: with a pin, only
 * the pinned key is accepted; without one, the key offered is pinned once the login succeeds.
 */
class HostKeyCheck {
  private offered?: { fingerprint: string; key: Buffer };
  private readonly pinned: string | undefined;

  constructor(
    private readonly knownHosts: KnownHosts,
    private readonly name: string,
  ) {
    this.pinned = knownHosts.get(name)?.fingerprint;
  }

  /** ssh2's hostVerifier. */
  readonly verify = (key: Buffer): boolean => {
    this.offered = { fingerprint: fingerprint(key), key };
    return this.pinned === undefined || this.pinned === this.offered.fingerprint;
  };

  /** "pinned X, offered Y" when a key other than the pinned one was offered (and refused), else undefined. */
  get changed(): string | undefined {
    return this.pinned && this.offered && this.offered.fingerprint !== this.pinned ? `pinned ${this.pinned}, offered ${this.offered.fingerprint}` : undefined;
  }

  pinIfNew(address: string): void {
    if (this.pinned === undefined && this.offered) this.knownHosts.pin(this.name, address, this.offered.key);
  }
}

/** How the jump host is named in errors: "jump host admin@198.51.100.20:22". */
export function jumpHostLabel(jump: JumpHost): string {
  return `jump host ${jump.user}@${jump.address}:${jump.port}`;
}

/**
 * Logs in to the node's jump host and opens a TCP channel from it to the node's SSH port. The
 * jump host's key is pinned like a node's (trust on first use, a different key later refused).
 * Every error names the jump host, so an unreachable bastion is not mistaken for a dead node.
 */
async function openJump(node: InventoryNode, jump: JumpHost, where: string, privateKey: string, options: ConnectOptions): Promise<{ client: Client; channel: ClientChannel }> {
  const label = jumpHostLabel(jump);
  const hostKey = new HostKeyCheck(options.knownHosts, JUMP_HOST_PIN);
  const client = new (sshLib().Client)();
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: jump.address,
        port: jump.port,
        username: jump.user,
        privateKey,
        readyTimeout: options.readyTimeoutMs ?? 15_000,
        ...KEEPALIVE,
        hostVerifier: hostKey.verify,
      });
    });
  } catch (error) {
    client.end();
    const message = error instanceof Error ? error.message : String(error);
    if (hostKey.changed)
      throw new MillraceError(`${where}: the SSH host key of the ${label} changed: ${hostKey.changed}`, {
        hint: `if the jump host was rebuilt on purpose, run \`millrace forget-host ${JUMP_HOST_PIN}\`; otherwise treat this as an attack and stop`,
      });
    if (/authentication methods failed/i.test(message))
      throw new HostUnreachableError(where, `the ${label} refused the SSH key ${node.privateKeyPath} for user ${jump.user}`, {
        hint: 'the jump host takes the same key as the nodes: check its authorized_keys and the jump host user',
      });
    throw new HostUnreachableError(where, `the ${label} is unreachable: ${message}`, {
      retriable: TRANSIENT.test(message),
      hint: `check that the jump host is running and that ${jump.address}:${jump.port} is reachable from here (network.sshCidr)`,
      cause: error,
    });
  }
  hostKey.pinIfNew(`${jump.address}:${jump.port}`);
  try {
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, node.sshAddress, node.sshPort, (err, stream) => (err ? reject(err) : resolve(stream))),
    );
    return { client, channel };
  } catch (error) {
    client.end();
    const message = error instanceof Error ? error.message : String(error);
    throw new HostUnreachableError(where, `the ${label} could not open a connection to ${node.sshAddress}:${node.sshPort}: ${message}`, {
      retriable: /connect failed|refused|timed out/i.test(message),
      hint: `check that ${node.name} is running, that the jump host may reach it on port ${node.sshPort}, and that the jump host's sshd allows TCP forwarding (AllowTcpForwarding)`,
      cause: error,
    });
  }
}

export async function connect(node: InventoryNode, options: ConnectOptions): Promise<RemoteHost> {
  const jump = node.jumpHost;
  const where = `${node.name} (${node.sshAddress}:${node.sshPort}${jump ? ` via ${jump.address}` : ''})`;
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
      const ssh = new (nodeSsh().NodeSSH)();
      const hostKey = new HostKeyCheck(options.knownHosts, node.name);
      const via = jump ? await openJump(node, jump, where, privateKey, options) : undefined;
      try {
        await ssh.connect({
          ...(via ? { sock: via.channel } : { host: node.sshAddress, port: node.sshPort }),
          username: node.sshUser,
          privateKey,
          readyTimeout: options.readyTimeoutMs ?? 15_000,
          ...KEEPALIVE,
          hostVerifier: hostKey.verify,
        });
      } catch (error) {
        via?.client.end();
        const said = error instanceof Error ? error.message : String(error);
        // node-ssh's words when the connection closes with no error before the login is done.
        const message = said === 'No response from server' ? CLOSED_BEFORE_LOGIN : said;
        if (hostKey.changed)
          throw new MillraceError(
            `${where}: the SSH host key changed: ${hostKey.changed}`,
            { hint: `if ${node.name} was rebuilt on purpose, run \`millrace forget-host ${node.name}\`; otherwise treat this as an attack and stop` },
          );
        if (/authentication methods failed/i.test(message))
          throw new HostUnreachableError(where, `the SSH key ${node.privateKeyPath} was refused for user ${node.sshUser}`, {
            hint: 'check that ssh.privateKeyPath matches a public key in the node\'s authorized_keys, and the SSH user',
          });
        throw new HostUnreachableError(where, message, {
          retriable: TRANSIENT.test(message),
          hint: jump
            ? `check that ${node.name} is running and that the ${jumpHostLabel(jump)} may reach ${node.sshAddress}:${node.sshPort}`
            : `check that ${node.name} is running and that ${node.sshAddress}:${node.sshPort} is reachable from here (network.sshCidr)`,
          cause: error,
        });
      }
      hostKey.pinIfNew(`${node.sshAddress}:${node.sshPort}`);
      try {
        return await SshHost.open(node, where, ssh, via?.client);
      } catch (error) {
        ssh.dispose();
        via?.client.end();
        throw error;
      }
    },
    { retries: options.retries ?? 3, backoff: 1000 },
  );
}

/** In the login user's home: 0700, so nothing staged there is ever readable by others. */
export const STAGING_DIR = '.millrace-staging';

/**
 * Commands at once on one connection. sshd refuses a session past its MaxSessions (10 by default);
 * the SFTP channel holds one, the staging directory's command may hold another, and sshd frees an
 * ended command's session a little after the client sees it end. Callers that share a node's
 * connection (a worker's checks read the master's status on the master's node) wait for a slot
 * instead of failing to open a channel; a refusal all the same is retried (openingChannel).
 */
const EXEC_SLOTS = 7;

class SshHost implements RemoteHost {
  private sftp?: Promise<SFTPWrapper>;
  private readonly slots = new Slots(EXEC_SLOTS);
  private staging?: Promise<string>;

  private constructor(
    readonly name: string,
    readonly address: string,
    readonly loginUser: string,
    private readonly isRoot: boolean,
    private readonly ssh: NodeSSH,
    /** The connection to the jump host the node's session runs through, if any. */
    private readonly jump?: Client,
  ) {}

  /** Checks who the login user is and that it can become root, before anything else runs. */
  static async open(node: InventoryNode, where: string, ssh: NodeSSH, jump?: Client): Promise<SshHost> {
    const id = await ssh.execCommand('id -u');
    if (id.code !== 0)
      throw new HostUnreachableError(where, `user ${node.sshUser} logged in but cannot run commands: ${(id.stderr || id.stdout).trim()}`, {
        hint: `check ${node.sshUser}'s shell on ${node.name}`,
      });
    const isRoot = id.stdout.trim() === '0';
    if (!isRoot) {
      const problem = sudoProblem(where, node.sshUser, await ssh.execCommand('sudo -n true'));
      if (problem) throw problem;
    }
    return new SshHost(node.name, node.sshAddress, node.sshUser, isRoot, ssh, jump);
  }

  /** The one place a command is raised to root. */
  rootCommand(command: string): string {
    return `${this.isRoot ? '' : 'sudo -n -- '}sh -c ${q(command)}`;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.slots.run(() =>
      openingChannel(() =>
        this.ssh.execCommand(this.rootCommand(command), {
          stdin: options.stdin,
          onStdout: options.onStdout && ((b) => options.onStdout?.(b.toString('utf8'))),
          onStderr: options.onStderr && ((b) => options.onStderr?.(b.toString('utf8'))),
        }),
      ),
    );
    if (r.code === null && r.signal === null) throw connectionLost(`${this.name} (${this.address})`, command);
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
    this.sftp ??= openingChannel(() => this.ssh.requestSFTP());
    return this.sftp;
  }

  /** The private staging directory, made (or made private again) as the login user. */
  private stagingDir(): Promise<string> {
    this.staging ??= (async () => {
      const r = await openingChannel(() =>
        this.ssh.execCommand(
          `umask 077; d="$HOME/${STAGING_DIR}"; if [ -L "$d" ]; then echo "$d is a symbolic link" >&2; exit 3; fi; mkdir -p "$d" && chmod 700 "$d" && cd "$d" && pwd -P`,
        ),
      );
      if (r.code !== 0) throw new RemoteCommandError(this.name, `create the staging directory ~${this.loginUser}/${STAGING_DIR}`, r.code, (r.stderr || r.stdout).trim());
      return r.stdout.trim();
    })();
    return this.staging;
  }

  private async stagedPath(): Promise<string> {
    return `${await this.stagingDir()}/${crypto.randomBytes(9).toString('hex')}`;
  }

  async putFile(remotePath: string, content: string | Buffer, options: PutOptions): Promise<void> {
    const sftp = await this.channel();
    const staged = await this.stagedPath();
    // Created 0600 from the start, in a 0700 directory: a secret is never readable by others.
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(staged, content, { mode: 0o600 }, (err: Error | null | undefined) => (err ? reject(wrapSftp(this.name, remotePath, err)) : resolve())),
    );
    const tmp = `${remotePath}.millrace-tmp`;
    // install copies under umask 077, then sets owner, group and mode; the rename is atomic.
    await this.execOrThrow(
      `umask 077; install -m ${options.mode.toString(8)} -o ${q(options.owner ?? 'root')} -g ${q(options.group ?? options.owner ?? 'root')} -- ${q(staged)} ${q(tmp)} && mv -f -- ${q(tmp)} ${q(remotePath)}; rc=$?; rm -f -- ${q(staged)}; exit $rc`,
      { what: `install ${remotePath}` },
    );
  }

  async upload(localPath: string, remotePath: string, options: PutOptions = { mode: 0o600 }): Promise<void> {
    const staged = await this.stagedPath();
    await this.ssh.putFile(localPath, staged, await this.channel(), { mode: 0o600 });
    const owner = options.owner ?? 'root';
    // Large files are moved, not copied: owner and mode first, while still in the private directory.
    await this.execOrThrow(
      `chown ${q(`${owner}:${options.group ?? owner}`)} -- ${q(staged)} && chmod ${options.mode.toString(8)} -- ${q(staged)} && mv -f -- ${q(staged)} ${q(`${remotePath}.millrace-tmp`)} && mv -f -- ${q(`${remotePath}.millrace-tmp`)} ${q(remotePath)}; rc=$?; rm -f -- ${q(staged)}; exit $rc`,
      { what: `install ${remotePath}` },
    );
  }

  async getFile(remotePath: string): Promise<Buffer> {
    const sftp = await this.channel();
    const staged = await this.stagedPath();
    await this.execOrThrow(`umask 077; install -m 600 -o ${q(this.loginUser)} -- ${q(remotePath)} ${q(staged)}`, { what: `read ${remotePath}` });
    try {
      return await new Promise<Buffer>((resolve, reject) =>
        sftp.readFile(staged, (err: Error | undefined, data: Buffer) => (err ? reject(wrapSftp(this.name, remotePath, err)) : resolve(data))),
      );
    } finally {
      await new Promise<void>((resolve) => sftp.unlink(staged, () => resolve()));
    }
  }

  async close(): Promise<void> {
    this.ssh.dispose();
    this.jump?.end();
  }
}

function wrapSftp(host: string, file: string, err: Error): MillraceError {
  return new MillraceError(`${host}: cannot transfer ${file}: ${err.message}`, { cause: err });
}

function abbreviate(command: string): string {
  return command.length > 160 ? command.slice(0, 157) + '...' : command;
}
