/**
 * A RemoteHost that answers commands from a script instead of SSH, and records what it was asked
 * to run and to write: for the pure-ish parts of checks and jobs. It proves nothing about a real
 * node; the integration tests do that.
 */
import { RemoteCommandError } from '../../../lib/errors';
import type { ExecResult, RemoteHost } from '../../../provisioning/remote-host';

export interface FakeHost extends RemoteHost {
  commands: string[];
  files: Map<string, string | Buffer>;
}

/** `answer` maps a command to its result; unmatched commands succeed with no output. */
export function fakeHost(name: string, answer: (command: string) => Partial<ExecResult> | undefined = () => undefined): FakeHost {
  const commands: string[] = [];
  const files = new Map<string, string | Buffer>();
  const exec = async (command: string): Promise<ExecResult> => {
    commands.push(command);
    return { code: 0, stdout: '', stderr: '', ...answer(command) };
  };
  return {
    name,
    address: '127.0.0.1',
    loginUser: 'admin',
    commands,
    files,
    rootCommand: (command) => `sudo -n -- sh -c ${JSON.stringify(command)}`,
    exec,
    async execOrThrow(command) {
      const r = await exec(command);
      if (r.code !== 0) throw new RemoteCommandError(name, command, r.code, r.stderr);
      return r.stdout;
    },
    async putFile(remotePath, content) {
      files.set(remotePath, content);
    },
    async upload() {},
    async getFile(remotePath) {
      const f = files.get(remotePath);
      if (f === undefined) throw new Error(`${name}: no ${remotePath}`);
      return Buffer.from(f);
    },
    async close() {},
  };
}
