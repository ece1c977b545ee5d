import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { normalizeAddress } from './ip';

/** One row of the OS neighbour (ARP/NDP) table with a usable link-layer address. */
export interface NeighbourEntry {
  address: string;
  /** Lower-case, colon-separated, zero-padded: "00:1c:42:00:00:08". */
  mac: string;
  interfaceName: string | null;
  /** As the OS put it (REACHABLE, STALE, dynamic, permanent…), for display. */
  state: string | null;
}

/** Normalises "0:18:1:8f:23:ed", "00-E0-98-00-7C-DC" or "001c.4200.0008" to "00:18:01:8f:23:ed". */
export function normalizeMac(text: string): string | null {
  const t = text.trim().toLowerCase();
  let octets: string[];
  if (/^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(\1[0-9a-f]{1,2}){4}$/u.test(t)) octets = t.split(/[:-]/u);
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/u.test(t)) octets = t.replace(/\./gu, '').match(/../gu)!;
  else if (/^[0-9a-f]{12}$/u.test(t)) octets = t.match(/../gu)!;
  else return null;
  return octets.map((o) => o.padStart(2, '0')).join(':');
}

/**
 * True for MACs that name one real interface: not all-zero, not broadcast, not multicast
 * (group bit), which is what incomplete, broadcast and multicast rows carry.
 */
export function isUnicastMac(mac: string): boolean {
  if (mac === '00:00:00:00:00:00' || mac === 'ff:ff:ff:ff:ff:ff') return false;
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}

/** Locally administered MACs (random/private Wi-Fi addresses, VMs, containers) have no vendor. */
export function isLocallyAdministeredMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 2) !== 0;
}

function entry(
  address: string,
  macText: string,
  interfaceName: string | null,
  state: string | null,
): NeighbourEntry | null {
  const ip = normalizeAddress(address);
  const mac = normalizeMac(macText);
  if (!ip || !mac || !isUnicastMac(mac)) return null;
  return { address: ip, mac, interfaceName, state };
}

/** Linux /proc/net/arp. Rows without ATF_COM (flag 0x2) are incomplete and skipped. */
export function parseProcNetArp(text: string): NeighbourEntry[] {
  const out: NeighbourEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/u);
    if (cols.length < 6) continue;
    const [ip, , flags, mac, , dev] = cols;
    if ((parseInt(flags ?? '0', 16) & 0x2) === 0) continue;
    const e = entry(ip!, mac!, dev ?? null, (parseInt(flags!, 16) & 0x4) !== 0 ? 'PERMANENT' : null);
    if (e) out.push(e);
  }
  return out;
}

const DEAD_STATES = new Set(['FAILED', 'INCOMPLETE', 'NOARP', 'NONE']);

/** Linux `ip neigh` (IPv4 and IPv6); FAILED/INCOMPLETE/NOARP rows are skipped. */
export function parseIpNeigh(text: string): NeighbourEntry[] {
  const out: NeighbourEntry[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/u);
    if (cols.length < 3) continue;
    const lladdr = cols.indexOf('lladdr');
    if (lladdr < 0) continue;
    const state = cols.at(-1) ?? null;
    if (state && DEAD_STATES.has(state)) continue;
    const dev = cols.indexOf('dev');
    const e = entry(cols[0]!, cols[lladdr + 1] ?? '', dev >= 0 ? (cols[dev + 1] ?? null) : null, state);
    if (e) out.push(e);
  }
  return out;
}

/**
 * `arp -a` as printed by macOS/BSD and Linux net-tools ("host (ip) at mac on iface …") and
 * by Windows ("Interface: ip --- 0xb" blocks of "ip  mac  type" rows).
 */
export function parseArpA(text: string): NeighbourEntry[] {
  const out: NeighbourEntry[] = [];
  let windowsInterface: string | null = null;
  for (const raw of text.split(/\r?\n/u)) {
    const line = raw.trim();
    // The tail starts with a blank (or is empty), so (\S+) cannot trade characters with it:
    // `(\S+)(.*)$` backtracked quadratically when the tail held a stray carriage return.
    const bsd = /^\S+ \(([^)]+)\) at (\S+)(?: \[\w+\])? on (\S+)((?:\s.*)?)$/u.exec(line);
    if (bsd) {
      const state = /\bpermanent\b/u.test(bsd[4] ?? '') ? 'permanent' : null;
      const e = entry(bsd[1]!, bsd[2]!, bsd[3]!, state);
      if (e) out.push(e);
      continue;
    }
    const iface = /^Interface: (\S+)/u.exec(line);
    if (iface) {
      windowsInterface = iface[1]!;
      continue;
    }
    const win = /^(\S+)\s+([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5})\s+(\w+)$/u.exec(line);
    if (win) {
      const e = entry(win[1]!, win[2]!, windowsInterface, win[3]!);
      if (e) out.push(e);
    }
  }
  return out;
}

export type NeighbourReader = () => Promise<NeighbourEntry[]>;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: 3000, maxBuffer: 4 * 1024 * 1024, windowsHide: true },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

/**
 * Reads this machine's neighbour table: `ip neigh` (IPv4 + IPv6) or /proc/net/arp on Linux,
 * `arp -an`/`arp -a` elsewhere. Only reads local state; sends nothing. Never rejects.
 */
export const readSystemNeighbours: NeighbourReader = async () => {
  try {
    if (process.platform === 'linux') {
      try {
        return parseIpNeigh(await run('ip', ['neigh', 'show']));
      } catch {
        return parseProcNetArp(await readFile('/proc/net/arp', 'utf8'));
      }
    }
    return parseArpA(await run('arp', process.platform === 'win32' ? ['-a'] : ['-an']));
  } catch {
    return [];
  }
};

/**
 * Wraps a reader so that many callers within `ttlMs` share one read: each host finishing a
 * sweep asks for its MAC, and the table is read a few times per second at most.
 */
export function cachedNeighbourReader(
  read: NeighbourReader,
  ttlMs = 250,
): NeighbourReader & { refresh(): Promise<NeighbourEntry[]> } {
  let at = -Infinity;
  let current: Promise<NeighbourEntry[]> | null = null;
  const refresh = (): Promise<NeighbourEntry[]> => {
    at = performance.now();
    current = read().catch(() => []);
    return current;
  };
  const get = (): Promise<NeighbourEntry[]> =>
    current && performance.now() - at < ttlMs ? current : refresh();
  return Object.assign(get, { refresh });
}

type OuiTable = Record<string, string>;
let oui: OuiTable | null = null;

function ouiTable(): OuiTable {
  // 5.6 MB of JSON: loaded on first lookup, not at import.
  oui ??= createRequire(import.meta.url)('oui-data') as OuiTable;
  return oui;
}

/**
 * The organisation an IEEE MAC block is registered to (first line of the oui-data record,
 * BSD-2-Clause, IEEE MA-L/MA-M/MA-S registries). Longest registered prefix wins (MA-S 36
 * bits, MA-M 28 bits, MA-L 24 bits). Null for locally administered or unknown MACs.
 */
export function macVendor(mac: string): string | null {
  const normal = normalizeMac(mac);
  if (!normal || !isUnicastMac(normal) || isLocallyAdministeredMac(normal)) return null;
  const hex = normal.replace(/:/gu, '').toUpperCase();
  const table = ouiTable();
  for (const length of [9, 7, 6]) {
    const record = table[hex.slice(0, length)];
    if (typeof record === 'string') return record.split('\n')[0]!.trim() || null;
  }
  return null;
}
