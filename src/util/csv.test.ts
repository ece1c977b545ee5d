import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from './csv';

/** A small RFC 4180 reader, to check that what we write reads back cell for cell. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    expect(text[i]).toBe('"');
    let cell = '';
    i++;
    for (;;) {
      const quote = text.indexOf('"', i);
      expect(quote).toBeGreaterThanOrEqual(0);
      cell += text.slice(i, quote);
      if (text[quote + 1] === '"') {
        cell += '"';
        i = quote + 2;
      } else {
        i = quote + 1;
        break;
      }
    }
    row.push(cell);
    if (text[i] === ',') i++;
    else {
      expect(text.slice(i, i + 2)).toBe('\r\n');
      i += 2;
      rows.push(row);
      row = [];
    }
  }
  return rows;
}

/** Leading characters a spreadsheet may skip before it looks for a formula, or a reader cannot see. */
const INVISIBLE = [
  ' ',
  '\n',
  '\u000B',
  '\u000C',
  '\u0085',
  '\u00A0',
  '\u1680',
  '\u2000',
  '\u2007',
  '\u200A',
  '\u2028',
  '\u2029',
  '\u202F',
  '\u205F',
  '\u3000',
  '\u200B',
  '\u200C',
  '\u200D',
  '\u2060',
  '\uFEFF',
  '\u00AD',
  '\u180E',
  '\u061C',
  '\u200E',
  '\u202E',
];

/** Written independently of csv.ts: skip what a spreadsheet may skip, then look at the first character. */
function evaluates(cell: string): boolean {
  if (/^[\t\r]/.test(cell)) return true;
  let i = 0;
  while (i < cell.length && (INVISIBLE.includes(cell[i]!) || /\s/.test(cell[i]!))) i++;
  return '=+-@\uFF1D\uFF0B\uFF0D\uFF20'.includes(cell[i] ?? 'x');
}

describe('CSV cells', () => {
  it('quotes every cell and doubles quotes, so commas, quotes and newlines stay inside their cell', () => {
    expect(csvLine(['a,b', 'say "hi"', 'two\nlines', 'cr\rhere', null, 3, true])).toBe(
      '"a,b","say ""hi""","two\nlines","cr\rhere","","3","true"\r\n',
    );
  });

  it('turns text a spreadsheet would run as a formula into plain text', () => {
    for (const hostile of [
      '=HYPERLINK("http://x","y")',
      '+1+1',
      '-2+3',
      '@SUM(A1)',
      '\t=1',
      '\r=1',
      '  =cmd|"/c calc"!A1',
      '\n=1',
      '\uFF1D1+1',
      '\u00A0=1',
      '\u00A0\u00A0+SUM(A1)',
      '\u200B=1',
      '\uFEFF@SUM(A1)',
      '\u3000-1+2',
      '\u2028=1',
      '\u2003\u200D\u2060=1',
      '\u00AD+1',
      ' \u00A0\n\u200B=1',
    ]) {
      const cell = csvCell(hostile);
      expect(cell.startsWith(`"'`), hostile).toBe(true);
      expect(parseCsv(`${cell}\r\n`)).toEqual([[`'${hostile}`]]);
    }
    // Ordinary values keep their first character.
    expect(csvCell('openssl')).toBe('"openssl"');
    expect(csvCell('1:2.3-4')).toBe('"1:2.3-4"');
    expect(csvCell('CVE-2026-1')).toBe('"CVE-2026-1"');
    expect(csvCell(-1)).toBe('"-1"');
  });

  it('reads back cell for cell, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { minLength: 1, maxLength: 5 }), {
          maxLength: 5,
        }),
        (rows) => {
          const text = rows.map(csvLine).join('');
          const back = parseCsv(text);
          expect(back).toHaveLength(rows.length);
          back.forEach((row, r) =>
            row.forEach((cell, c) => {
              const original = rows[r]![c]!;
              expect(cell === original || cell === `'${original}`).toBe(true);
              // Never a cell a spreadsheet evaluates.
              expect(evaluates(cell)).toBe(false);
            }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sees a formula after any run of Unicode whitespace or invisible characters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...INVISIBLE), { maxLength: 6 }),
        fc.constantFrom(...'=+-@\uFF1D\uFF0B\uFF0D\uFF20'),
        fc.string({ unit: 'grapheme', maxLength: 8 }),
        (lead, start, rest) => {
          const text = `${lead.join('')}${start}${rest}`;
          const cell = parseCsv(`${csvCell(text)}\r\n`)[0]![0]!;
          expect(cell).toBe(`'${text}`);
          expect(evaluates(cell)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
