import { UsageError } from '../../../lib/errors';
import { ADMIN_PRINCIPAL, checkPrincipal, PIPELINE_PRINCIPAL } from '../../../lib/principals';

describe('principal names', () => {
  it('accepts what the brokers map from a certificate CN: letters, digits, ".", "_", "-", up to 64', () => {
    for (const name of [ADMIN_PRINCIPAL, PIPELINE_PRINCIPAL, 'Reporting.App_2', 'a', 'x'.repeat(64)]) expect(checkPrincipal(name)).toBe(name);
  });

  it('refuses anything else as a usage error (exit 2) that says what a name may be', () => {
    for (const name of ['User:admin', '', 'two words', 'x'.repeat(65), '..', 'CN=pipeline', 'kafka-broker@kafka-1', 'a,OU=kafka-broker']) {
      let error: unknown;
      try {
        checkPrincipal(name);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as UsageError).message).toBe(`"${name}" is not a usable principal name`);
      expect((error as UsageError).hint).toBe('use letters, digits, ".", "_" or "-" (at most 64)');
    }
  });

  it('refuses wildcards with their own message: an ACL for one would grant every client', () => {
    for (const name of ['*', 'pipe*', '*line']) {
      expect(() => checkPrincipal(name)).toThrow(new UsageError(`"${name}" is a wildcard, not a principal: an ACL for it would grant every client`));
    }
    // Control: the name without the star.
    expect(checkPrincipal('pipe')).toBe('pipe');
  });
});
