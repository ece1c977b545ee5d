/**
 * Showing a report's HTML inside the window's own strict CSP.
 *
 * A `srcdoc` frame inherits the window's policy (`style-src 'self'`), so the report's inline
 * `<style>` and `style="…"` would be refused there (and each refusal is a CSP error). The preview
 * therefore takes the styles out of the document's text, loads the rest into a frame sandboxed
 * with no scripts at all (`sandbox="allow-same-origin"` only: this page may style it, nothing in it
 * can run), and gives the frame the same styles back through the CSSOM (a constructed stylesheet
 * and `style.cssText`), which CSP does not govern. What the admin sees is the exported document;
 * the exported bytes themselves are never changed.
 *
 * The split reads the report's text without a DOM parser (DOMParser applies the window's CSP and
 * reports every inline style it meets). It is safe because every report is built by
 * src/reports/html.ts, whose `esc()` turns `<`, `>` and `"` in any value into entities: a literal
 * `<style` or ` style="` can only be markup the template wrote.
 */

export interface PreviewParts {
  /** The document without its `<style>` elements; styled elements carry `data-pd-style="N"`. */
  html: string;
  /** The text of every `<style>` element, in order. */
  css: string;
  /** The declarations of each `style` attribute, by the N of its `data-pd-style`. */
  inline: string[];
}

const STYLE_ELEMENT = /<style\b[^>]*>([^<]*(?:<(?!\/style\s*>)[^<]*)*)<\/style\s*>/giu;
/** A start tag, attribute by attribute (each one unambiguous, so matching is linear). */
const START_TAG =
  /<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)(\s*\/?>)/gu;
const ATTRIBUTE = /(\s+)([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/gu;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** An attribute value's text: its character references read back (numeric and the five named ones). */
export function decodeAttribute(value: string): string {
  return value.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,5});/giu, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

export function splitPreview(documentHtml: string): PreviewParts {
  const sheets: string[] = [];
  const inline: string[] = [];
  const html = documentHtml
    .replace(STYLE_ELEMENT, (_whole, css: string) => {
      sheets.push(css);
      return '';
    })
    .replace(START_TAG, (_whole, name: string, attributes: string, end: string) => {
      const rewritten = attributes.replace(
        ATTRIBUTE,
        (attribute, space: string, key: string, value?: string) => {
          if (key.toLowerCase() !== 'style') return attribute;
          const text = value === undefined ? '' : /^["']/u.test(value) ? value.slice(1, -1) : value;
          inline.push(decodeAttribute(text));
          return `${space}data-pd-style="${inline.length - 1}"`;
        },
      );
      return `<${name}${rewritten}${end}`;
    });
  return { html, css: sheets.join('\n'), inline };
}

/**
 * Gives a loaded preview frame its styles back and returns the height of its document (for the
 * frame to show the whole report without a scroll bar of its own).
 */
export function styleFrame(frame: HTMLIFrameElement, parts: PreviewParts): number {
  const doc = frame.contentDocument;
  const view = frame.contentWindow as (Window & typeof globalThis) | null;
  if (!doc || !view) return 0;
  const sheet = new view.CSSStyleSheet();
  sheet.replaceSync(parts.css);
  doc.adoptedStyleSheets = [sheet];
  doc.querySelectorAll<HTMLElement | SVGElement>('[data-pd-style]').forEach((element) => {
    const declarations = parts.inline[Number(element.dataset.pdStyle)];
    if (declarations !== undefined) element.style.cssText = declarations;
  });
  return Math.ceil(doc.documentElement.scrollHeight);
}
