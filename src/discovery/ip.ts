/**
 * Strict IPv4/IPv6 address arithmetic for target parsing. Addresses are numbers (IPv4) or
 * bigints (IPv6) so ranges can be checked for size before a single address is materialised.
 */

export type IpVersion = 4 | 6;

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parses a dotted-quad IPv4 address. Rejects the shorthand forms inet_aton accepts
 * ("10.1", "0x0a.0.0.1") and octets with leading zeros, whose meaning (octal or decimal)
 * differs between tools.
 */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** Parses an IPv6 address (with optional embedded IPv4 tail); no zone ids. */
export function parseIpv6(text: string): bigint | null {
  if (text.length === 0 || text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::", "ffff:1.2.3.4" would leave "ffff:" — keep a trailing "::" intact.
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const toGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const left = toGroups(halves[0] ?? '');
  const right = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (!left || !right) return null;
  const explicit = left.length + right.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (explicit > 7) return null;
    groups = [...left, ...new Array<number>(8 - explicit).fill(0), ...right, ...tail];
  } else {
    if (explicit !== 8) return null;
    groups = [...left, ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** Formats per RFC 5952: lower case, longest run of two or more zero groups compressed. */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function ipVersion(address: string): IpVersion | null {
  if (parseIpv4(address) !== null) return 4;
  if (parseIpv6(address) !== null) return 6;
  return null;
}

/** Canonical text of an address (IPv6 compressed, lower case), or null if it is not one. */
export function normalizeAddress(address: string): string | null {
  const v4 = parseIpv4(address);
  if (v4 !== null) return formatIpv4(v4);
  const v6 = parseIpv6(address);
  return v6 === null ? null : formatIpv6(v6);
}

/** Total order used for results: IPv4 numerically, then IPv6 numerically. */
export function compareAddresses(a: string, b: string): number {
  const a4 = parseIpv4(a);
  const b4 = parseIpv4(b);
  if (a4 !== null && b4 !== null) return a4 - b4;
  if (a4 !== null) return -1;
  if (b4 !== null) return 1;
  const a6 = parseIpv6(a) ?? 0n;
  const b6 = parseIpv6(b) ?? 0n;
  return a6 < b6 ? -1 : a6 > b6 ? 1 : 0;
}

export function ipv4PrefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Prefix length of a dotted netmask ("255.255.255.0" → 24), or null if not contiguous. */
export function netmaskToPrefix(mask: string): number | null {
  const value = parseIpv4(mask);
  if (value === null) return null;
  const prefix = 32 - Math.log2(((~value >>> 0) + 1) >>> 0 || 2 ** 32);
  return Number.isInteger(prefix) && ipv4PrefixMask(prefix) === value ? prefix : null;
}
