import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { normalizeMac, readSystemNeighbours, type NeighbourEntry, type NeighbourReader } from '../discovery';

/** This machine's default gateway: its address and, when the neighbour table has it, its MAC. */
export interface Gateway {
  address: string;
  /** Lower-case, colon-separated ("00:1c:42:00:00:08"). */
  mac: string;
}

export type GatewayReader = () => Promise<Gateway | null>;

/** Route tables longer than this are not read further (a machine has a few dozen routes). */
const ROUTE_TEXT_MAX = 256 * 1024;
const ROUTE_LINES_MAX = 4096;

function lines(text: string): string[] {
  return text.slice(0, ROUTE_TEXT_MAX).split(/\r?\n/u).slice(0, ROUTE_LINES_MAX);
}

/**
 * The default gateways of Linux's /proc/net/route (IPv4), best metric first: rows whose
 * destination and mask are 0 and whose flags have RTF_UP (0x1) and RTF_GATEWAY (0x2). Addresses
 * are printed as the kernel's little-endian hex ("0101A8C0" is 192.168.1.1).
 */
export function parseProcNetRoute(
  text: string,
): { address: string; interfaceName: string; metric: number }[] {
  const out: { address: string; interfaceName: string; metric: number }[] = [];
  for (const line of lines(text).slice(1)) {
    const cols = line.trim().split(/\s+/u);
    if (cols.length < 8) continue;
    const [iface, destination, gateway, flags, , , metric, mask] = cols;
    if (destination !== '00000000' || mask !== '00000000') continue;
    if (!/^[0-9A-Fa-f]{8}$/u.test(gateway!) || !/^[0-9A-Fa-f]{1,8}$/u.test(flags!)) continue;
    if ((parseInt(flags!, 16) & 0x3) !== 0x3) continue;
    const n = parseInt(gateway!, 16);
    if (n === 0) continue;
    const address = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
    out.push({ address, interfaceName: iface!, metric: /^\d{1,9}$/u.test(metric!) ? Number(metric) : 0 });
  }
  return out.sort((a, b) => a.metric - b.metric);
}

/** macOS `route -n get default`: the "gateway:" line. */
export function parseRouteGetDefault(text: string): string | null {
  for (const line of lines(text)) {
    const m = /^\s*gateway:\s*(\S+)\s*$/u.exec(line);
    if (m && net.isIPv4(m[1]!)) return m[1]!;
  }
  return null;
}

/** Windows `route print -4 0.0.0.0`: the active "0.0.0.0 0.0.0.0 gateway interface metric" rows, best metric first. */
export function parseRoutePrint(text: string): string[] {
  const found: { address: string; metric: number }[] = [];
  for (const line of lines(text)) {
    const m = /^\s*0\.0\.0\.0\s+0\.0\.0\.0\s+(\S+)\s+\S+\s+(\d{1,9})\s*$/u.exec(line);
    if (m && net.isIPv4(m[1]!)) found.push({ address: m[1]!, metric: Number(m[2]) });
  }
  return found.sort((a, b) => a.metric - b.metric).map((f) => f.address);
}

/** The first of `addresses` (in order) that the neighbour table knows, as a gateway. */
export function gatewayFrom(
  addresses: readonly string[],
  neighbours: readonly NeighbourEntry[],
): Gateway | null {
  for (const address of addresses) {
    const row = neighbours.find((n) => n.address === address);
    const mac = row ? normalizeMac(row.mac) : null;
    if (mac) return { address, mac };
  }
  return null;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: 3000, maxBuffer: ROUTE_TEXT_MAX, windowsHide: true },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

/**
 * Reads this machine's default gateway and its MAC from local state only: the route table
 * (Linux /proc/net/route; macOS `route -n get default`; Windows `route print -4 0.0.0.0`, both
 * untested here) and the neighbour table src/discovery already reads. It sends nothing: a gateway
 * the neighbour table does not hold yet gives null, and the next read tries again. Never rejects.
 */
export function systemGatewayReader(
  options: { routeFile?: string; neighbours?: NeighbourReader; platform?: NodeJS.Platform } = {},
): GatewayReader {
  const platform = options.platform ?? process.platform;
  const neighbours = options.neighbours ?? readSystemNeighbours;
  return async () => {
    try {
      let addresses: string[];
      if (platform === 'linux') {
        const text = await readFile(options.routeFile ?? '/proc/net/route', 'utf8');
        addresses = parseProcNetRoute(text).map((r) => r.address);
      } else if (platform === 'win32') {
        addresses = parseRoutePrint(await run('route', ['print', '-4', '0.0.0.0']));
      } else {
        const address = parseRouteGetDefault(await run('route', ['-n', 'get', 'default']));
        addresses = address ? [address] : [];
      }
      if (addresses.length === 0) return null;
      return gatewayFrom(addresses, await neighbours());
    } catch {
      return null;
    }
  };
}
