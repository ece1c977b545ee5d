import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { isValidHostName, sanitizeText } from '../util';
import {
  compareAddresses,
  formatIpv4,
  formatIpv6,
  ipv4PrefixMask,
  netmaskToPrefix,
  normalizeAddress,
  parseIpv4,
  parseIpv6,
} from './ip';

/** Above this many addresses a sweep needs the admin's confirmation (more than a /22). */
export const CONFIRM_ABOVE = 1024;
/** Above this many addresses a sweep is refused unless forced (more than a /16). */
export const REFUSE_ABOVE = 65_536;
/** Even forced, nothing bigger than a /12 is expanded: the address list alone would be huge. */
export const HARD_LIMIT = 1 << 20;
/** IPv6 prefixes longer than or equal to /120 (≤ 256 addresses) are the only ones we expand. */
export const MIN_IPV6_PREFIX = 120;

const MAX_INPUT_CHARS = 100_000;
const MAX_NAMES = 256;

/** Resolves a host name to its addresses; throws (or returns []) when it does not resolve. */
export type NameResolver = (name: string) => Promise<string[]>;

export interface ParseTargetsOptions {
  /** Same syntax as the targets; addresses in it are removed from the result. */
  exclude?: string;
  /** Expand ranges above REFUSE_ABOVE (up to HARD_LIMIT). */
  force?: boolean;
  /** Name resolution; defaults to the system resolver (getaddrinfo). */
  resolve?: NameResolver;
  /** Per-name resolution timeout, default 3000 ms. */
  resolveTimeoutMs?: number;
}

export interface TargetError {
  /** The offending token, sanitised for display. */
  token: string;
  message: string;
}

export interface ParsedTargets {
  /** Unique addresses, IPv4 ascending then IPv6 ascending; empty when refused. */
  addresses: string[];
  /** Host names that were given, with what they resolved to (after exclusion). */
  names: { name: string; addresses: string[] }[];
  warnings: string[];
  errors: TargetError[];
  /** Number of unique addresses the input describes (known even when refused). */
  total: number;
  /** More than a /22 (CONFIRM_ABOVE addresses): ask before sweeping. */
  needsConfirmation: boolean;
  /** More than a /16 and not forced (or beyond HARD_LIMIT even forced): not expanded. */
  refused: boolean;
  /**
   * Whether the force setting decides this sweep: above a /16 and within HARD_LIMIT. False for
   * a refusal that forcing cannot lift (beyond a /12), so no one is offered a useless force.
   */
  forceApplies: boolean;
}

/** Every address count Patchdeck shows, in one format: 16,777,214. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A contiguous block of addresses in one family, bounds inclusive. */
interface Block {
  version: 4 | 6;
  start: bigint;
  end: bigint;
  /** For IPv4 prefixes ≤ /30: drop the first and last address (network, broadcast). */
  skipEdges: boolean;
}

interface Tokenised {
  blocks: Block[];
  names: string[];
  warnings: string[];
  errors: TargetError[];
}

function display(token: string): string {
  return sanitizeText(token, { maxLength: 80 });
}

function splitTokens(text: string): string[] {
  return text.split(/[\s,;]+/u).filter((t) => t.length > 0);
}

/** Turns one token into blocks or a name, or explains why it can't. Pure, no I/O. */
function parseToken(raw: string, out: Tokenised): void {
  const token = raw.trim();
  const shown = display(token);
  const fail = (message: string): void => {
    out.errors.push({ token: shown, message });
  };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/u.test(token)) return fail(`"${shown}" contains control characters.`);
  if (token.length > 253) return fail(`"${shown}" is too long to be an address, range or host name.`);

  const slash = token.indexOf('/');
  if (slash >= 0) {
    const base = token.slice(0, slash);
    const prefixText = token.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefixText))
      return fail(`"${shown}": the prefix length after "/" must be a number.`);
    const prefix = Number(prefixText);
    const v4 = parseIpv4(base);
    if (v4 !== null) {
      if (prefix > 32) return fail(`"${shown}": an IPv4 prefix length is 0–32.`);
      const mask = ipv4PrefixMask(prefix);
      const network = (v4 & mask) >>> 0;
      if (network !== v4) {
        out.warnings.push(`${shown} has host bits set; sweeping ${formatIpv4(network)}/${prefix}.`);
      }
      const broadcast = (network | (~mask >>> 0)) >>> 0;
      out.blocks.push({
        version: 4,
        start: BigInt(network),
        end: BigInt(broadcast),
        skipEdges: prefix <= 30,
      });
      return;
    }
    const v6 = parseIpv6(base);
    if (v6 !== null) {
      if (prefix > 128) return fail(`"${shown}": an IPv6 prefix length is 0–128.`);
      if (prefix < MIN_IPV6_PREFIX) {
        return fail(
          `"${shown}": IPv6 prefixes shorter than /${MIN_IPV6_PREFIX} hold too many addresses to sweep; list addresses or use /${MIN_IPV6_PREFIX}–/128.`,
        );
      }
      const size = 1n << BigInt(128 - prefix);
      const network = v6 & ~(size - 1n) & ((1n << 128n) - 1n);
      if (network !== v6)
        out.warnings.push(`${shown} has host bits set; sweeping ${formatIpv6(network)}/${prefix}.`);
      out.blocks.push({ version: 6, start: network, end: network + size - 1n, skipEdges: false });
      return;
    }
    return fail(`"${shown}" is not a valid CIDR block (expected e.g. 198.18.0.0/24).`);
  }

  const single4 = parseIpv4(token);
  if (single4 !== null) {
    out.blocks.push({ version: 4, start: BigInt(single4), end: BigInt(single4), skipEdges: false });
    return;
  }
  const single6 = parseIpv6(token);
  if (single6 !== null) {
    out.blocks.push({ version: 6, start: single6, end: single6, skipEdges: false });
    return;
  }
  if (token.includes('%')) return fail(`"${shown}": IPv6 zone ids (%eth0) are not supported.`);

  const dash = token.indexOf('-');
  if (dash > 0 && /^[0-9.]+-[0-9.]+$/.test(token)) {
    const from = parseIpv4(token.slice(0, dash));
    const toText = token.slice(dash + 1);
    if (from === null) return fail(`"${shown}": the start of the range is not an IPv4 address.`);
    let to: number | null;
    if (/^[0-9]{1,3}$/.test(toText)) {
      const last = Number(toText);
      if (last > 255 || (toText.length > 1 && toText.startsWith('0'))) {
        return fail(`"${shown}": the end of a short range is a last octet, 0–255.`);
      }
      to = ((from & 0xffffff00) | last) >>> 0;
    } else {
      to = parseIpv4(toText);
      if (to === null)
        return fail(`"${shown}": the end of the range is not an IPv4 address or a last octet.`);
    }
    if (to < from) return fail(`"${shown}": the range ends before it starts.`);
    out.blocks.push({ version: 4, start: BigInt(from), end: BigInt(to), skipEdges: false });
    return;
  }
  if (/^[0-9.]+$/.test(token)) {
    return fail(`"${shown}" is not a valid IPv4 address (four decimal octets 0–255, no leading zeros).`);
  }
  if (/^[0-9A-Fa-f:.]+$/.test(token) && token.includes(':')) {
    return fail(`"${shown}" is not a valid IPv6 address.`);
  }
  if (isValidHostName(token)) {
    out.names.push(token.toLowerCase().replace(/\.$/u, ''));
    return;
  }
  fail(`"${shown}" is not an address, range (198.18.0.10-40), CIDR block (198.18.0.0/24) or host name.`);
}

function tokenise(text: string): Tokenised {
  const out: Tokenised = { blocks: [], names: [], warnings: [], errors: [] };
  if (text.length > MAX_INPUT_CHARS) {
    out.errors.push({
      token: display(text.slice(0, 40)),
      message: `The target list is longer than ${MAX_INPUT_CHARS} characters; use CIDR blocks or ranges.`,
    });
    return out;
  }
  for (const token of splitTokens(text)) parseToken(token, out);
  return out;
}

function blockSize(block: Block): bigint {
  const raw = block.end - block.start + 1n;
  return block.skipEdges && raw > 2n ? raw - 2n : raw;
}

function* blockAddresses(block: Block): Generator<{ version: 4 | 6; value: bigint }> {
  let start = block.start;
  let end = block.end;
  if (block.skipEdges && end - start >= 2n) {
    start += 1n;
    end -= 1n;
  }
  for (let v = start; v <= end; v++) yield { version: block.version, value: v };
}

function blockContains(blocks: Block[], version: 4 | 6, value: bigint): boolean {
  // Exclusion removes whole blocks, edges included: "exclude 198.18.0.0/24" means all of it.
  return blocks.some((b) => b.version === version && value >= b.start && value <= b.end);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const systemResolver: NameResolver = async (name) =>
  (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

async function resolveNames(
  names: string[],
  resolve: NameResolver,
  timeoutMs: number,
  errors: TargetError[],
  warnings: string[],
): Promise<Map<string, string[]>> {
  const unique = [...new Set(names)];
  if (unique.length > MAX_NAMES) {
    warnings.push(
      `Only the first ${MAX_NAMES} host names are resolved; ${unique.length - MAX_NAMES} were ignored.`,
    );
    unique.length = MAX_NAMES;
  }
  const resolved = new Map<string, string[]>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const name = unique[next++]!;
      try {
        const raw = await withTimeout(resolve(name), timeoutMs, `resolving ${name}`);
        const addresses = raw.map((a) => normalizeAddress(a)).filter((a): a is string => a !== null);
        if (addresses.length === 0) {
          errors.push({
            token: display(name),
            message: `"${display(name)}" did not resolve to any address.`,
          });
        } else {
          resolved.set(name, [...new Set(addresses)]);
        }
      } catch (error) {
        const code = (error as { code?: string }).code;
        const why = code ?? (error instanceof Error ? error.message : 'unknown error');
        errors.push({
          token: display(name),
          message: `Could not resolve "${display(name)}" (${sanitizeText(why, { maxLength: 80 })}).`,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, unique.length) }, worker));
  return resolved;
}

/**
 * Parses what an admin typed into the targets box: addresses, CIDR blocks, ranges and host
 * names separated by commas, spaces or lines. Never throws for bad input: every bad token
 * becomes an entry in `errors` and the rest is still parsed.
 */
export async function parseTargets(text: string, options: ParseTargetsOptions = {}): Promise<ParsedTargets> {
  const resolve = options.resolve ?? systemResolver;
  const timeoutMs = options.resolveTimeoutMs ?? 3000;
  const main = tokenise(text);
  const excl = tokenise(options.exclude ?? '');
  const warnings = [...main.warnings, ...excl.warnings.map((w) => `exclude: ${w}`)];
  const errors = [
    ...main.errors,
    ...excl.errors.map((e) => ({ token: e.token, message: `exclude: ${e.message}` })),
  ];

  const [resolved, resolvedExcluded] = await Promise.all([
    resolveNames(main.names, resolve, timeoutMs, errors, warnings),
    resolveNames(excl.names, resolve, timeoutMs, errors, warnings),
  ]);
  const excludeBlocks = [...excl.blocks];
  for (const list of resolvedExcluded.values()) {
    for (const a of list) excludeBlocks.push(...tokenise(a).blocks);
  }
  const nameBlocks: Block[] = [];
  for (const list of resolved.values()) for (const a of list) nameBlocks.push(...tokenise(a).blocks);

  const blocks = [...main.blocks, ...nameBlocks];
  // Size before expansion: duplicates can only make the real count smaller.
  const upperBound = blocks.reduce((sum, b) => sum + blockSize(b), 0n);
  const force = options.force === true;
  if (upperBound > BigInt(HARD_LIMIT) || (!force && upperBound > BigInt(REFUSE_ABOVE))) {
    // Overlapping blocks could still be small; count exactly only when that is cheap.
    const total =
      upperBound > BigInt(HARD_LIMIT) * 4n ? Number(upperBound) : countUnique(blocks, excludeBlocks);
    if (total > HARD_LIMIT || (!force && total > REFUSE_ABOVE)) {
      errors.push({
        token: '',
        message:
          total > HARD_LIMIT
            ? `The targets hold ${formatCount(total)} addresses; Patchdeck sweeps at most ${formatCount(HARD_LIMIT)} (a /12), forced or not. Narrow them.`
            : `The targets hold ${formatCount(total)} addresses, more than a /16 (${formatCount(REFUSE_ABOVE)}). Narrow them, or force the sweep.`,
      });
      return {
        addresses: [],
        names: [],
        warnings,
        errors,
        total,
        needsConfirmation: true,
        refused: true,
        forceApplies: total <= HARD_LIMIT,
      };
    }
  }

  const seen = new Set<string>();
  const v4: number[] = [];
  const v6: bigint[] = [];
  let excludedCount = 0;
  for (const block of blocks) {
    for (const { version, value } of blockAddresses(block)) {
      const key = `${version}:${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (blockContains(excludeBlocks, version, value)) {
        excludedCount++;
        continue;
      }
      if (version === 4) v4.push(Number(value));
      else v6.push(value);
    }
  }
  const duplicates = blocks.reduce((sum, b) => sum + Number(blockSize(b)), 0) - seen.size;
  if (duplicates > 0)
    warnings.push(`${duplicates} duplicate address${duplicates === 1 ? '' : 'es'} ignored.`);
  if (excludedCount > 0)
    warnings.push(`${excludedCount} address${excludedCount === 1 ? '' : 'es'} excluded.`);
  v4.sort((a, b) => a - b);
  v6.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const addresses = [...v4.map(formatIpv4), ...v6.map(formatIpv6)];
  const kept = new Set(addresses);
  const names = [...resolved.entries()].map(([name, list]) => ({
    name,
    addresses: list.filter((a) => kept.has(a)).sort(compareAddresses),
  }));
  if (addresses.length === 0 && errors.length === 0) {
    warnings.push(text.trim() === '' ? 'No targets given.' : 'Nothing left to sweep after exclusions.');
  }
  return {
    addresses,
    names,
    warnings,
    errors,
    total: addresses.length,
    needsConfirmation: addresses.length > CONFIRM_ABOVE,
    refused: false,
    forceApplies: force && addresses.length > REFUSE_ABOVE,
  };
}

/**
 * How many distinct addresses the blocks hold once the exclusions are taken out, counted over
 * merged intervals (O(k log k) in the number of blocks). Enumerating them instead took seconds
 * for a typed 10.0.0.0/13, only to refuse it.
 */
function countUnique(blocks: Block[], exclude: Block[]): number {
  let total = 0n;
  for (const version of [4, 6] as const) {
    const ranges = mergeRanges(
      blocks
        .filter((b) => b.version === version)
        .map((b) => (b.skipEdges && b.end - b.start >= 2n ? [b.start + 1n, b.end - 1n] : [b.start, b.end])),
    );
    const cuts = mergeRanges(exclude.filter((b) => b.version === version).map((b) => [b.start, b.end]));
    // Both lists are sorted and disjoint: one sweep subtracts every overlap.
    let c = 0;
    for (const [start, end] of ranges) {
      let size = end - start + 1n;
      while (c < cuts.length && cuts[c]![1] < start) c++;
      for (let k = c; k < cuts.length && cuts[k]![0] <= end; k++) {
        const from = cuts[k]![0] > start ? cuts[k]![0] : start;
        const to = cuts[k]![1] < end ? cuts[k]![1] : end;
        size -= to - from + 1n;
      }
      total += size;
    }
  }
  return Number(total);
}

/** Sorted, non-overlapping ranges covering the same addresses (bounds inclusive). */
function mergeRanges(ranges: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [start, end] of sorted) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1] + 1n) {
      if (end > last[1]) last[1] = end;
    } else merged.push([start, end]);
  }
  return merged;
}

export interface ProposedNetwork {
  /** e.g. "192.168.1.0/24" — ready to put in the targets box. */
  cidr: string;
  interfaceName: string;
  /** This machine's own address on that network. */
  address: string;
  prefix: number;
  /** Addresses a sweep of `cidr` would probe (network and broadcast skipped). */
  addressCount: number;
  needsConfirmation: boolean;
  /** For networks wider than a /22: the /24 around this machine, a sensible first sweep. */
  narrower?: string;
}

/**
 * Proposes this machine's own IPv4 subnets as sweep targets. It only reads interface
 * configuration: it never sends a packet and never starts a sweep.
 */
export function proposeLocalNetworks(
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): ProposedNetwork[] {
  const proposals: ProposedNetwork[] = [];
  const seen = new Set<string>();
  for (const [interfaceName, list] of Object.entries(interfaces)) {
    for (const info of list ?? []) {
      if (info.family !== 'IPv4' || info.internal) continue;
      const address = parseIpv4(info.address);
      if (address === null) continue;
      // Link-local (169.254/16) is an autoconfiguration fallback, not a network anyone manages.
      if (address >>> 16 === (169 << 8) + 254) continue;
      const prefix = info.cidr ? Number(info.cidr.split('/')[1]) : netmaskToPrefix(info.netmask);
      if (prefix === null || !Number.isInteger(prefix) || prefix < 8 || prefix > 32) continue;
      const network = (address & ipv4PrefixMask(prefix)) >>> 0;
      const cidr = `${formatIpv4(network)}/${prefix}`;
      if (seen.has(cidr)) continue;
      seen.add(cidr);
      const size = 2 ** (32 - prefix);
      const addressCount = prefix <= 30 ? size - 2 : size;
      const proposal: ProposedNetwork = {
        cidr,
        interfaceName,
        address: info.address,
        prefix,
        addressCount,
        needsConfirmation: addressCount > CONFIRM_ABOVE,
      };
      if (prefix < 22) proposal.narrower = `${formatIpv4((address & ipv4PrefixMask(24)) >>> 0)}/24`;
      proposals.push(proposal);
    }
  }
  return proposals;
}
