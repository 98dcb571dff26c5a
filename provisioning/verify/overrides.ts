/**
 * Acknowledged unsafe overrides: a key in `<service>.unsafe` switches off or weakens a security
 * promise on purpose, so `verify` fails for each one, naming it, for as long as it is set. A
 * cluster with one is never reported secure. The values are not shown (some are secrets).
 */
import { CRITICAL_OVERRIDES, OVERRIDE_SERVICES, unsafeOverrides } from '../../lib/overrides';
import type { ClusterConfig } from '../../lib/config';
import type { VerifyRow } from './types';

export const UNSAFE_OVERRIDE_CHECK = 'config: no acknowledged unsafe override';

export function verifyOverrides(config: Pick<ClusterConfig, 'kafka' | 'hdfs' | 'spark'>): VerifyRow[] {
  const unsafe = unsafeOverrides(config);
  if (unsafe.length)
    return unsafe.map((u) => ({
      check: UNSAFE_OVERRIDE_CHECK,
      target: `${u.service}.overrides`,
      ok: false,
      detail: `${u.key} is set and acknowledged in ${u.service}.unsafe: ${u.why}`,
    }));
  const total = OVERRIDE_SERVICES.reduce((n, s) => n + Object.keys(config[s].overrides).length, 0);
  const rules = OVERRIDE_SERVICES.reduce((n, s) => n + CRITICAL_OVERRIDES[s].length, 0);
  return [{ check: UNSAFE_OVERRIDE_CHECK, target: 'config', ok: true, detail: `none of ${total} override(s) matches the ${rules} security-critical key patterns` }];
}
