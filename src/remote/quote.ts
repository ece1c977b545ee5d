/**
 * The one audited way to put an untrusted string into a POSIX shell command.
 *
 * Every remote command that carries a value we did not write ourselves (package names,
 * versions, paths, passwords never — those go on stdin) is built with `shellQuote` or
 * `shellCommand`. Single quotes make the shell take every byte literally; an embedded single
 * quote is closed, escaped and reopened. NUL cannot travel in an argv at all, so we refuse it.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('refusing to quote a string that contains a NUL byte');
  if (value !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Joins a program and its arguments into one shell command line, quoting each word. */
export function shellCommand(program: string, ...args: readonly string[]): string {
  return [program, ...args].map(shellQuote).join(' ');
}

/**
 * PowerShell single-quoted string literal: only the single quote (and its typographic twins,
 * which PowerShell also treats as quotes) needs doubling.
 */
export function powershellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('refusing to quote a string that contains a NUL byte');
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, (q) => q + q)}'`;
}
