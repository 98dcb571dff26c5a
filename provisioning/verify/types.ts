/** One line of `millrace verify`'s table. */
export interface VerifyRow {
  check: string;
  /** Where: a node, a broker list, the cluster. */
  target: string;
  /** False fails verify (exit 1). A warning is ok: it does not fail, and says why in `detail`. */
  ok: boolean;
  detail: string;
  /**
   * Set only on a warning (`warn`), so the rows' JSON stays as it was for every other row: a row
   * without it passes or fails by `ok`. Only a row with ok true may be a warning: a known limit,
   * named with its reason, that no setting fixes. rowStatus() gives pass, warn or fail for any row.
   */
  status?: 'warn';
}

export type VerifyStatus = 'pass' | 'warn' | 'fail';

/** A row's status: `fail` whenever it is not ok, whatever it says. */
export function rowStatus(row: { ok: boolean; status?: string }): VerifyStatus {
  if (!row.ok) return 'fail';
  return row.status === 'warn' ? 'warn' : 'pass';
}
