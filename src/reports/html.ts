/**
 * What every report's HTML shares: escaping and the self-contained printable document (inline CSS,
 * no script, no external request: the page's CSP forbids them), so that the preview, the HTML file
 * and the PDF are the same bytes.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an element's content or a quoted attribute. Every value from the workspace goes through it. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/gu, (c) => ESCAPES[c]!);
}

/** The word that agrees with `n`: `agree(1, 'was', 'were')` is "was", `agree(3, 'machine')` "machines". */
export function agree(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** A count and its noun in agreement: "1 update", "0 updates", "3 known-exploited fixes". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${agree(n, one, many)}`;
}

const BASE_CSS = `
  @page { size: A4; margin: 16mm 14mm; }
  * { box-sizing: border-box; }
  body { font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1b1f24; margin: 0; padding: 24px; background: #fff; }
  @media print { body { padding: 0; } .page-break { break-before: page; } }
  h1 { font-size: 18pt; margin: 0 0 4px; }
  h2 { font-size: 13pt; margin: 22px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 3px; }
  h3 { font-size: 11pt; margin: 14px 0 6px; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 9pt; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #e5e8eb; vertical-align: top; }
  th { background: #f3f5f7; font-weight: 600; }
  tr { break-inside: avoid; }
  .muted { color: #57606a; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  footer { margin-top: 24px; font-size: 8.5pt; color: #57606a; border-top: 1px solid #d0d7de; padding-top: 6px; }
`;

/** The whole document: a strict CSP (no script, no fetch), the shared CSS plus the report's own. */
export function htmlDocument(options: { title: string; css?: string; body: string; lang?: string }): string {
  return `<!doctype html>
<html lang="${esc(options.lang ?? 'en')}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(options.title)}</title>
<style>${BASE_CSS}${options.css ?? ''}</style>
</head>
<body>
${options.body}
</body>
</html>
`;
}
