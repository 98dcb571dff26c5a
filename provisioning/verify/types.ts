/** One line of `millrace verify`'s table. */
export interface VerifyRow {
  check: string;
  /** Where: a node, a broker list, the cluster. */
  target: string;
  ok: boolean;
  detail: string;
}
