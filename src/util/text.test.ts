import { describe, expect, it } from 'vitest';
import { isValidHostName, sanitizeText } from './text';

describe('sanitizeText', () => {
  it('escapes control characters and terminal escapes', () => {
    expect(sanitizeText('SSH-2.0-x\u001b[31mred\u0007')).toBe('SSH-2.0-x\\x1b[31mred\\x07');
  });
  it('neutralises bidi overrides that could disguise a name', () => {
    expect(sanitizeText('evil\u202Etxt.exe')).toBe('evil\\x202etxt.exe');
  });
  it('caps megabyte-long input quickly', () => {
    const out = sanitizeText('A'.repeat(5_000_000), { maxLength: 100 });
    expect(out.length).toBe(100);
    expect(out.endsWith('…')).toBe(true);
  });
  it('replaces invalid UTF-8 instead of throwing', () => {
    expect(sanitizeText(new Uint8Array([0x61, 0xff, 0xfe, 0x62]))).toBe('a\uFFFD\uFFFDb');
  });
  it('keeps newlines only in multiline mode', () => {
    expect(sanitizeText('a\nb')).toBe('a b');
    expect(sanitizeText('a\nb', { multiline: true })).toBe('a\nb');
  });
});

describe('isValidHostName', () => {
  it('accepts ordinary names and rejects hostile ones', () => {
    expect(isValidHostName('lab01.office.example')).toBe(true);
    expect(isValidHostName('a;rm -rf /')).toBe(false);
    expect(isValidHostName('-bad')).toBe(false);
    expect(isValidHostName('x'.repeat(300))).toBe(false);
  });
  it('rejects mistyped addresses: a name never ends in an all-digit label', () => {
    expect(isValidHostName('999.1.1.1')).toBe(false);
    expect(isValidHostName('198.18.0.256')).toBe(false);
    expect(isValidHostName('1234')).toBe(false);
    expect(isValidHostName('10.1.')).toBe(false);
    expect(isValidHostName('host1.example')).toBe(true);
    expect(isValidHostName('1password.example')).toBe(true);
    expect(isValidHostName('web01')).toBe(true);
  });
});
