import { isIP } from 'node:net';
/**
 * Remote output, banners, DNS names and imported files are hostile until cleaned.
 * These helpers turn arbitrary bytes into short, printable text that is safe to store and show.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD instead of throwing. */
export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/**
 * One line of display text: control and bidi-override characters become U+FFFD-free escapes
 * (`\x1b`), newlines are kept only when `multiline` is set, and the result is capped at
 * `maxLength` characters with an ellipsis.
 */
export function sanitizeText(
  input: string | Uint8Array,
  options: { maxLength?: number; multiline?: boolean } = {},
): string {
  const maxLength = options.maxLength ?? 256;
  let text = typeof input === 'string' ? input : decodeUtf8(input);
  // Bound the work before the regex runs: a megabyte-long banner is cut first.
  if (text.length > maxLength * 4) text = text.slice(0, maxLength * 4);
  text = text.replace(CONTROL, (c) => {
    if (options.multiline && (c === '\n' || c === '\t')) return c;
    if (c === '\n' || c === '\t') return ' ';
    if (c === '\r') return options.multiline ? '' : ' ';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  if (text.length > maxLength) text = `${text.slice(0, maxLength - 1)}…`;
  return text;
}

/**
 * Returns true when the string is a plausible DNS host name (RFC 1123 labels, ≤ 253 chars). The
 * last label is never all digits (RFC 3696 §2): "999.1.1.1" or "1234" is a mistyped address, and
 * the system resolver would read some of them as one (inet_aton: "1234" is 0.0.4.210).
 */
export function isValidHostName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (/(?:^|\.)[0-9]+$/u.test(trimmed)) return false;
  return trimmed
    .split('.')
    .every(
      (label) =>
        /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label) || /^_[A-Za-z0-9-]+$/.test(label),
    );
}

/**
 * Why a typed host address (an IP address or a host name) cannot be used, or null when it can:
 * one sentence for the window and the CLI alike. "999.1.1.1" is a mistyped IPv4 address, not a
 * name, and is told apart as one.
 */
export function hostAddressProblem(text: string): string | null {
  const shown = sanitizeText(text, { maxLength: 80 });
  if (isIP(text) !== 0) return null;
  if (/^[0-9.]+$/u.test(text))
    return `“${shown}” is not a valid IPv4 address: four numbers from 0 to 255, such as 198.18.0.11.`;
  if (/^[0-9A-Fa-f:.]+$/u.test(text) && text.includes(':')) return `“${shown}” is not a valid IPv6 address.`;
  if (isValidHostName(text)) return null;
  return `“${shown}” is not an IP address or host name (letters, digits and hyphens, such as web01.example.lan).`;
}
