/**
 * A module loaded on its first use instead of at start: every CLI command loads the whole command
 * tree, and a few libraries (X.509, OpenPGP, SSH key parsing) cost most of its start-up time while
 * only some commands call them.
 */
export function lazy<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}
