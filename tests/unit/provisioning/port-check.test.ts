import { execFileSync } from 'node:child_process';
import { portOpenCommand } from '../../../provisioning/services/java-service';

/** Runs the grep half of the port check against one line of `ss` output. */
function matches(line: string, address: string, port: number): boolean {
  const grep = portOpenCommand(address, port).replace(/^ss [^|]*\| /, '');
  try {
    execFileSync('sh', ['-c', `printf '%s\\n' "$LINE" | ${grep}`], { env: { ...process.env, LINE: line } });
    return true;
  } catch {
    return false;
  }
}

describe('port check', () => {
  it('matches the node address in IPv4 and IPv4-mapped IPv6 form', () => {
    expect(matches('LISTEN 0 50 127.0.0.11:9093 0.0.0.0:*', '127.0.0.11', 9093)).toBe(true);
    expect(matches('LISTEN 0 50 [::ffff:127.0.0.11]:9093 *:*', '127.0.0.11', 9093)).toBe(true);
  });
  it('does not match another address that shares a prefix, or another port', () => {
    expect(matches('LISTEN 0 50 127.0.0.111:9093 0.0.0.0:*', '127.0.0.11', 9093)).toBe(false);
    expect(matches('LISTEN 0 50 127.0.0.1:9093 0.0.0.0:*', '127.0.0.11', 9093)).toBe(false);
    expect(matches('LISTEN 0 50 127.0.0.11:90930 0.0.0.0:*', '127.0.0.11', 9093)).toBe(false);
  });
});
