/**
 * The Kafka principals millrace issues client certificates for, and what a principal name may be.
 * A client certificate's CN is its principal (CN=pipeline,O=millrace is User:pipeline), so a name
 * is what the brokers' ssl.principal.mapping.rules capture from a CN: letters, digits, ".", "_"
 * and "-", at most 64 characters (the longest CN X.509 allows). Names of dots alone are refused:
 * the name is also a directory and file stem on the operator's machine.
 */
import { UsageError } from './errors';

/** The operator's tools (`topics`, `verify`): a super user on the brokers. */
export const ADMIN_PRINCIPAL = 'admin';
/** Producers, consumers and Spark jobs: only the ACLs `topics create` grants it. */
export const PIPELINE_PRINCIPAL = 'pipeline';

export const PRINCIPAL_NAME = /^(?!\.+$)[A-Za-z0-9._-]{1,64}$/;

/** Returns the name, or throws a UsageError saying what a principal name may be. */
export function checkPrincipal(name: string): string {
  if (!PRINCIPAL_NAME.test(name)) throw new UsageError(`"${name}" is not a usable principal name`, { hint: 'use letters, digits, ".", "_" or "-" (at most 64)' });
  return name;
}
