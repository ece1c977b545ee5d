/**
 * CSV for spreadsheets, from untrusted text (package names, repositories and advisory ids come
 * from the hosts). RFC 4180 quoting, and no cell a spreadsheet would run as a formula.
 */

/**
 * A cell that Excel, LibreOffice or Google Sheets would read as a formula (or a DDE call):
 * one starting with = + - @, a tab or a carriage return, also after any leading whitespace or
 * invisible characters (U+00A0, U+3000, U+2028, zero-width U+200B/U+FEFF and the other format
 * and default-ignorable characters: a spreadsheet may skip them and a reader does not see them),
 * and the full-width forms some of them accept too.
 */
const FORMULA_START =
  /^(?:[\t\r]|[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/u;

export type CsvValue = string | number | boolean | null | undefined;

/** One cell: always quoted, quotes doubled, and a formula-looking text turned into text with a leading apostrophe. */
export function csvCell(value: CsvValue): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
