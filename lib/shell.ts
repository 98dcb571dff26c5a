/** Quotes one value for a POSIX shell. Every value that reaches a remote command goes through here. */
export function q(value: string | number): string {
  const s = String(value);
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Builds a command line from words, quoting each one. */
export function cmd(...words: (string | number)[]): string {
  return words.map(q).join(' ');
}
