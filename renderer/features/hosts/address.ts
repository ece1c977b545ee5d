/**
 * The Add host form's own check, so a mistyped address is caught as it is typed; the core checks
 * again (src/util/text.ts hostAddressProblem) with the same words.
 */
const OCTET = /^(?:0|[1-9][0-9]{0,2})$/u;

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p) && Number(p) <= 255);
}

function looksLikeIpv6(text: string): boolean {
  // The shape only; the core's net.isIP has the last word.
  return (
    /^[0-9A-Fa-f:.]+$/u.test(text) &&
    text.includes(':') &&
    text.split(':').length <= 8 &&
    text.split('::').length <= 2
  );
}

function isHostName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const trimmed = text.endsWith('.') ? text.slice(0, -1) : text;
  if (/(?:^|\.)[0-9]+$/u.test(trimmed)) return false;
  return trimmed
    .split('.')
    .every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/u.test(l) || /^_[A-Za-z0-9-]+$/u.test(l));
}

/** Why the text is not a usable address or host name, or null. */
export function hostAddressProblem(text: string): string | null {
  const shown = text.slice(0, 80);
  if (isIpv4(text)) return null;
  if (/^[0-9.]+$/u.test(text))
    return `“${shown}” is not a valid IPv4 address: four numbers from 0 to 255, such as 198.18.0.11.`;
  if (/^[0-9A-Fa-f:.]+$/u.test(text) && text.includes(':'))
    return looksLikeIpv6(text) ? null : `“${shown}” is not a valid IPv6 address.`;
  if (isHostName(text)) return null;
  return `“${shown}” is not an IP address or host name (letters, digits and hyphens, such as web01.example.lan).`;
}
