import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { powershellQuote, shellCommand, shellQuote } from './quote';

// Each hostile value is passed through a real /bin/sh and must come back byte for byte.
const hostile = [
  'plain',
  '',
  "it's",
  'a b',
  '$(touch /tmp/pwned)',
  '`id`',
  'x;rm -rf /',
  '"double"',
  "''''",
  'new\nline',
  '-n',
  '*',
  '\\',
  'ünïcödé',
];

describe('shellQuote', () => {
  it.each(hostile)('round-trips %j through a real shell', (value) => {
    const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(value)}`]).toString();
    expect(out).toBe(value);
  });
  it('quotes every word of a command', () => {
    expect(shellCommand('apt-get', 'install', 'pkg=1:2.0~rc1', "a'b")).toBe(
      "apt-get install 'pkg=1:2.0~rc1' 'a'\\''b'",
    );
  });
  it('refuses NUL', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
  it('doubles PowerShell quotes', () => {
    expect(powershellQuote("KB'1")).toBe("'KB''1'");
    // PowerShell also closes a single-quoted string at the typographic quotes: each is doubled too.
    expect(powershellQuote('a\u2018b\u2019c\u201Ad\u201Be')).toBe(
      "'a\u2018\u2018b\u2019\u2019c\u201A\u201Ad\u201B\u201Be'",
    );
    expect(powershellQuote('$env:PATH; `whoami`')).toBe("'$env:PATH; `whoami`'");
    expect(powershellQuote('')).toBe("''");
  });
  it('refuses NUL in a PowerShell literal too', () => {
    expect(() => powershellQuote('KB1\0; Remove-Item C:\\')).toThrow(/NUL/);
  });
});
