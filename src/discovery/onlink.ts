/**
 * Which targets sit on a directly connected Ethernet segment, and which of them answered ARP.
 *
 * nmap, as root on a local segment, sends ARP first and port-scans only the addresses that
 * answered. Without root Patchdeck cannot send ARP itself, but the kernel does it for any packet
 * to an on-link address: one empty UDP datagram per address makes the kernel ask, and its
 * neighbour table (/proc/net/arp) then says which addresses answered. Everything here reads this
 * machine's own tables only (/proc/net/route, /sys/class/net, /proc/net/arp); nothing is probed to
 * learn them. Linux only; elsewhere (or when a table cannot be read) the sweep scans every address.
 */
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';

/** One IPv4 route of the main table, as /proc/net/route prints it. */
export interface RouteEntry {
  iface: string;
  /** Network and mask as unsigned 32-bit numbers. */
  destination: number;
  mask: number;
  /** 0 for an on-link route (no gateway). */
  gateway: number;
  metric: number;
}

const RTF_UP = 0x1;
const RTF_REJECT = 0x200;
/** Linux interface names are at most 15 bytes of these characters. */
const IFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/u;

/** /proc/net/route stores addresses as little-endian hex words: "0000A8C0" is 192.168.0.0. */
function hexWord(text: string | undefined): number | null {
  if (!text || !/^[0-9A-Fa-f]{8}$/u.test(text)) return null;
  const le = parseInt(text, 16);
  return (
    (((le & 0xff) << 24) | (((le >>> 8) & 0xff) << 16) | (((le >>> 16) & 0xff) << 8) | (le >>> 24)) >>> 0
  );
}

/** Parses /proc/net/route (one line per route, header first); rows that are not up are skipped. */
export function parseProcNetRoute(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of text.split('\n').slice(1, 4097)) {
    const cols = line.trim().split(/\s+/u);
    if (cols.length < 8) continue;
    const [iface, dest, gw, flagsText, , , metricText, maskText] = cols;
    const flags = parseInt(flagsText ?? '', 16);
    const destination = hexWord(dest);
    const gateway = hexWord(gw);
    const mask = hexWord(maskText);
    if (!iface || !IFACE_NAME.test(iface) || destination === null || gateway === null || mask === null)
      continue;
    if (!Number.isFinite(flags) || (flags & RTF_UP) === 0 || (flags & RTF_REJECT) !== 0) continue;
    out.push({ iface, destination, mask, gateway, metric: Number(metricText) || 0 });
  }
  return out;
}

export function ipv4ToNumber(address: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/u.exec(address);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

const prefixLength = (mask: number): number => {
  let n = 0;
  for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
};

/**
 * The interface `address` is reached on directly (the best route has no gateway), or null when
 * it goes through a router, matches no route, or is not IPv4. Longest prefix first, then metric.
 */
export function onLinkInterface(address: string, routes: readonly RouteEntry[]): string | null {
  const ip = ipv4ToNumber(address);
  if (ip === null) return null;
  let best: RouteEntry | null = null;
  for (const r of routes) {
    if ((ip & r.mask) >>> 0 !== r.destination) continue;
    if (
      !best ||
      prefixLength(r.mask) > prefixLength(best.mask) ||
      (r.mask === best.mask && r.metric < best.metric)
    )
      best = r;
  }
  return best && best.gateway === 0 && best.iface !== 'lo' ? best.iface : null;
}

const ARPHRD_ETHER = 1;
const IFF_NOARP = 0x80;

/** Whether the kernel resolves neighbours on `iface` by ARP (an Ethernet-type link without NOARP). */
export async function interfaceUsesArp(iface: string): Promise<boolean> {
  if (!IFACE_NAME.test(iface) || iface.includes('..')) return false;
  try {
    const [type, flags] = await Promise.all([
      readFile(`/sys/class/net/${iface}/type`, 'utf8'),
      readFile(`/sys/class/net/${iface}/flags`, 'utf8'),
    ]);
    return Number(type.trim()) === ARPHRD_ETHER && (parseInt(flags.trim(), 16) & IFF_NOARP) === 0;
  } catch {
    return false;
  }
}

/** Addresses of /proc/net/arp whose entry is complete (ATF_COM), i.e. that answered ARP. */
export function parseArpComplete(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/u);
    if (cols.length < 6) continue;
    const flags = parseInt(cols[2] ?? '0', 16);
    if ((flags & 0x2) === 0 || cols[3] === '00:00:00:00:00:00') continue;
    out.add(cols[0]!);
  }
  return out;
}

/** What ARP-first host discovery needs of the machine; replaced in tests. */
export interface ArpFirstSystem {
  /** The text of /proc/net/route; rejects when it cannot be read. */
  routes(): Promise<string>;
  usesArp(iface: string): Promise<boolean>;
  /** This machine's own IPv4 addresses (never in its own neighbour table). */
  localAddresses(): string[];
  /** The text of /proc/net/arp; rejects when it cannot be read. */
  arpTable(): Promise<string>;
  /** Makes the kernel resolve `address` (sends one empty UDP datagram to its discard port). */
  trigger(address: string): void;
  close(): void;
}

/** The real machine: Linux's tables, and one UDP socket for the triggers. */
export function systemArpFirst(): ArpFirstSystem {
  let socket: dgram.Socket | null = null;
  return {
    routes: () => readFile('/proc/net/route', 'utf8'),
    usesArp: interfaceUsesArp,
    localAddresses: () =>
      Object.values(networkInterfaces())
        .flat()
        .filter((i) => i && i.family === 'IPv4')
        .map((i) => i!.address),
    arpTable: () => readFile('/proc/net/arp', 'utf8'),
    trigger(address) {
      if (!socket) {
        socket = dgram.createSocket('udp4');
        // Unreachable answers and failed resolutions are not errors here: the table says it all.
        socket.on('error', () => {});
        socket.unref();
      }
      // Port 9 is "discard": a live host drops the empty datagram (or answers port-unreachable).
      socket.send(Buffer.alloc(0), 9, address, () => {});
    },
    close() {
      socket?.close();
      socket = null;
    },
  };
}

/** How the sweep's targets split: addresses to ARP first, and addresses scanned as they are. */
export interface ArpFirstPlan {
  /** On-link addresses on ARP interfaces, in target order. */
  viaArp: string[];
  /** Everything else: behind a router, on a NOARP link, this machine's own, or not IPv4. */
  direct: string[];
  interfaces: string[];
}

/** Splits the targets, or null when the route table cannot be read (the sweep then scans all). */
export async function planArpFirst(
  addresses: readonly string[],
  system: ArpFirstSystem,
): Promise<ArpFirstPlan | null> {
  let routes: RouteEntry[];
  try {
    routes = parseProcNetRoute(await system.routes());
  } catch {
    return null;
  }
  const local = new Set(system.localAddresses());
  const arpOk = new Map<string, boolean>();
  const viaArp: string[] = [];
  const direct: string[] = [];
  for (const address of addresses) {
    const iface = local.has(address) ? null : onLinkInterface(address, routes);
    let ok = false;
    if (iface) {
      if (!arpOk.has(iface)) arpOk.set(iface, await system.usesArp(iface));
      ok = arpOk.get(iface)!;
    }
    (ok ? viaArp : direct).push(address);
  }
  return { viaArp, direct, interfaces: [...arpOk].filter(([, ok]) => ok).map(([i]) => i) };
}

export interface ArpWindow {
  /** The window for an answer: max(floorMs, rttFactor × the slowest ARP answer seen), at most capMs. */
  floorMs: number;
  rttFactor: number;
  capMs: number;
  /** How often the neighbour table is read while answers are awaited. Default 5 ms. */
  pollMs?: number;
  /** Most addresses awaiting an answer at once, well under the kernel's neighbour table limit (gc_thresh3, 1024). Default 256. */
  inFlight?: number;
  /**
   * Whether the sweep still has other work (live hosts' probes and banners). While it has, a
   * silent address is watched up to the kernel's second ARP request plus one window, at no cost.
   */
  busy?: () => boolean;
}

/**
 * Linux's default neighbour retransmission time (net.ipv4.neigh.*.retrans_time_ms): a host that
 * missed the kernel's first ARP request is asked again this much later, and not sooner.
 */
export const KERNEL_ARP_RETRANS_MS = 1000;

export interface ArpOutcome {
  /** How many addresses answered ARP. */
  resolved: number;
  /** Addresses that did not answer in time. */
  unresolved: string[];
  /** The slowest answer seen (ms from trigger to the table showing it, polling included). */
  slowestMs: number | null;
  /** The window as it stood at the end, in ms. */
  windowMs: number;
}

/**
 * Makes the kernel resolve every address and reports each one as soon as the neighbour table holds
 * it. Each address has a first window, W = max(floorMs, rttFactor × slowest answer so far) capped
 * at capMs, and one later chance of the same length (2W in all): a host that is slow to answer
 * the kernel's request is still found. While the sweep is busy anyway, a silent address is
 * watched until the kernel's second request has had its window too (retransmission + W), so a
 * host that missed the first request is found whenever that costs nothing. Whatever has not
 * answered by then is returned as unresolved. Returns early on abort; rejects only when the table
 * cannot be read.
 */
export async function resolveByArp(
  addresses: readonly string[],
  system: ArpFirstSystem,
  window: ArpWindow,
  signal: AbortSignal,
  onResolved: (address: string, rttMs: number) => void,
): Promise<ArpOutcome> {
  const pollMs = window.pollMs ?? 5;
  const inFlight = window.inFlight ?? 256;
  let slowest: number | null = null;
  const windowMs = (): number =>
    Math.min(window.capMs, Math.max(window.floorMs, slowest === null ? 0 : window.rttFactor * slowest));
  const pending = new Map<string, number>();
  const unresolved: string[] = [];
  let resolved = 0;
  let next = 0;
  const fill = (now: number): void => {
    while (pending.size < inFlight && next < addresses.length) {
      const address = addresses[next++]!;
      pending.set(address, now);
      system.trigger(address);
    }
  };
  try {
    fill(performance.now());
    while (pending.size > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => setTimeout(resolve, pollMs));
      const complete = parseArpComplete(await system.arpTable());
      const now = performance.now();
      for (const [address, at] of pending) {
        if (!complete.has(address)) continue;
        pending.delete(address);
        resolved++;
        const rtt = now - at;
        slowest = slowest === null ? rtt : Math.max(slowest, rtt);
        onResolved(address, rtt);
      }
      const w = windowMs();
      const busy = window.busy?.() ?? false;
      for (const [address, at] of pending) {
        const waited = now - at;
        if (waited >= 2 * w && (!busy || waited >= KERNEL_ARP_RETRANS_MS + w)) {
          pending.delete(address);
          unresolved.push(address);
        }
      }
      fill(now);
    }
  } finally {
    system.close();
  }
  if (signal.aborted) unresolved.push(...pending.keys(), ...addresses.slice(next));
  return { resolved, unresolved, slowestMs: slowest, windowMs: windowMs() };
}
