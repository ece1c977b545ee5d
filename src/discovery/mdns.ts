import makeMdns from 'multicast-dns';
import { sanitizeText } from '../util';
import { normalizeAddress } from './ip';

/** One machine that answered on mDNS, keyed by the address it answered from / advertised. */
export interface MdnsHost {
  address: string;
  /** Host names from A/AAAA records (e.g. "nas.local"). */
  names: string[];
  /** DNS-SD service types it advertises ("_ssh._tcp", "_smb._tcp"…). */
  services: string[];
  /** _device-info._tcp model=… (Apple devices say e.g. "MacBookPro18,1"). */
  model: string | null;
}

interface Record_ {
  name: string;
  type: string;
  data?: unknown;
}

interface ResponsePacket {
  answers?: Record_[];
  additionals?: Record_[];
}

/** The part of a multicast-dns instance the browser uses; tests hand in a fake one. */
export interface MdnsSocketLike {
  query(query: { questions: { name: string; type: 'PTR' | 'A' | 'AAAA' | 'SRV' | 'TXT' }[] }): void;
  on(event: 'response', listener: (packet: ResponsePacket, rinfo: { address: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  destroy(): void;
}

/** Runs for the browse window (or until the signal aborts) and returns the hosts seen. */
export type MdnsBrowser = (signal: AbortSignal) => Promise<MdnsHost[]>;

export const DEFAULT_SERVICE_TYPES = [
  '_services._dns-sd._udp.local',
  '_workstation._tcp.local',
  '_device-info._tcp.local',
  '_ssh._tcp.local',
  '_sftp-ssh._tcp.local',
  '_smb._tcp.local',
  '_rfb._tcp.local',
  '_http._tcp.local',
  '_ipp._tcp.local',
  '_printer._tcp.local',
];

const MAX_RECORDS = 5000;

function clean(name: unknown): string {
  return typeof name === 'string' ? sanitizeText(name.replace(/\.$/u, ''), { maxLength: 253 }) : '';
}

function serviceTypeOf(instanceOrType: string): string | null {
  const m = /(_[A-Za-z0-9-]+\._(?:tcp|udp))\.local$/u.exec(instanceOrType);
  return m ? m[1]! : null;
}

/**
 * DNS-SD browse over mDNS. `open` creates the socket: by default a multicast-dns instance
 * on the default interface (it sends to 224.0.0.251 on the LAN — never use the default in
 * tests); pass `interface` to pin it to one local address.
 */
export function createMdnsBrowser(
  options: {
    windowMs?: number;
    interface?: string;
    open?: () => MdnsSocketLike;
    serviceTypes?: string[];
  } = {},
): MdnsBrowser {
  const windowMs = options.windowMs ?? 1500;
  const open =
    options.open ??
    (() => makeMdns(options.interface ? { interface: options.interface } : {}) as unknown as MdnsSocketLike);
  return (signal) =>
    new Promise((resolve) => {
      let socket: MdnsSocketLike;
      try {
        socket = open();
      } catch {
        resolve([]);
        return;
      }
      const hosts = new Map<string, { names: Set<string>; services: Set<string>; model: string | null }>();
      const nameToAddress = new Map<string, string>();
      const instanceToTarget = new Map<string, string>();
      const queried = new Set<string>();
      let records = 0;
      const hostFor = (address: string) => {
        let h = hosts.get(address);
        if (!h) {
          h = { names: new Set(), services: new Set(), model: null };
          hosts.set(address, h);
        }
        return h;
      };
      const ask = (name: string): void => {
        if (queried.has(name) || queried.size > 64) return;
        queried.add(name);
        try {
          socket.query({ questions: [{ name, type: 'PTR' }] });
        } catch {
          // a send failure is just silence
        }
      };
      socket.on('response', (packet, rinfo) => {
        const from = normalizeAddress(rinfo.address);
        for (const r of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
          if (++records > MAX_RECORDS) return;
          const name = clean(r.name);
          if ((r.type === 'A' || r.type === 'AAAA') && typeof r.data === 'string') {
            const address = normalizeAddress(r.data);
            if (address) {
              nameToAddress.set(name.toLowerCase(), address);
              hostFor(address).names.add(name);
            }
          } else if (r.type === 'PTR') {
            const target = clean(r.data);
            if (name === '_services._dns-sd._udp.local' && serviceTypeOf(target)) ask(`${target}`);
            const type = serviceTypeOf(target) ?? serviceTypeOf(name);
            if (type && from) hostFor(from).services.add(type);
          } else if (r.type === 'SRV' && r.data && typeof r.data === 'object') {
            const target = clean((r.data as { target?: unknown }).target);
            if (target) instanceToTarget.set(name, target.toLowerCase());
            const type = serviceTypeOf(name);
            if (type && from) hostFor(from).services.add(type);
          } else if (r.type === 'TXT' && /_device-info\._tcp\.local$/u.test(name) && from) {
            const chunks = Array.isArray(r.data) ? r.data : [r.data];
            for (const c of chunks) {
              const text = Buffer.isBuffer(c) ? c.toString('utf8') : typeof c === 'string' ? c : '';
              const m = /^model=(.+)$/u.exec(text);
              if (m) hostFor(from).model = sanitizeText(m[1]!, { maxLength: 64 });
            }
          }
        }
        if (from) hostFor(from);
      });
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        try {
          socket.destroy();
        } catch {
          // already closed
        }
        // Services seen via SRV whose target resolves elsewhere belong to that address.
        for (const [instance, target] of instanceToTarget) {
          const address = nameToAddress.get(target);
          const type = serviceTypeOf(instance);
          if (address && type) hostFor(address).services.add(type);
        }
        resolve(
          [...hosts.entries()].map(([address, h]) => ({
            address,
            names: [...h.names],
            services: [...h.services].sort(),
            model: h.model,
          })),
        );
      };
      const timer = setTimeout(finish, windowMs);
      signal.addEventListener('abort', finish, { once: true });
      // multicast-dns reports a failed bind (port 5353 taken without SO_REUSEADDR, EACCES, an
      // interface address that is gone) as 'error' after open() returned; unhandled, it would
      // crash the process. The browse ends early with what it saw.
      socket.on('error', () => finish());
      for (const t of options.serviceTypes ?? DEFAULT_SERVICE_TYPES) ask(t);
    });
}
