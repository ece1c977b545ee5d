import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { sanitizeText } from '../util';

export const MDNS_PORT = 5353;
/** A DNS message over UDP is at most 9000 bytes in mDNS (RFC 6762 §17); anything longer is not an answer. */
const MAX_MESSAGE_BYTES = 9000;
const MAX_NAMES = 8;

/** The reverse-mapping name of an address: "4.3.2.1.in-addr.arpa" or the nibbles under ip6.arpa. */
export function reverseName(address: string): string | null {
  const version = isIP(address);
  if (version === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  if (version !== 6) return null;
  // Expand "::" to the full eight groups, then write every nibble backwards.
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  if (left.some((g) => g.includes('.')) || right.some((g) => g.includes('.'))) return null;
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) return null;
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.ip6.arpa`;
}

/** The query for the PTR record of `address`'s reverse name, with the given id. */
export function encodeReverseQuery(address: string, id: number): Buffer | null {
  const name = reverseName(address);
  if (!name) return null;
  return dnsPacket.encode({
    type: 'query',
    id: id & 0xffff,
    flags: 0,
    questions: [{ name, type: 'PTR', class: 'IN' }],
  });
}

/**
 * The host names in an answer to encodeReverseQuery(address, id): the PTR records for exactly
 * that reverse name, sanitised, at most 8. Empty for anything else (another id, a query, garbage).
 */
export function decodeReverseAnswer(bytes: Uint8Array, address: string, id: number): string[] {
  const question = reverseName(address);
  if (!question || bytes.byteLength > MAX_MESSAGE_BYTES) return [];
  let packet: dnsPacket.Packet;
  try {
    packet = dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return [];
  }
  if (packet.type !== 'response' || packet.id !== (id & 0xffff)) return [];
  const names: string[] = [];
  for (const r of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
    if (names.length >= MAX_NAMES) break;
    if (r.type !== 'PTR' || typeof r.name !== 'string' || typeof r.data !== 'string') continue;
    if (r.name.toLowerCase() !== question) continue;
    const name = sanitizeText(r.data.replace(/\.$/u, ''), { maxLength: 253 });
    if (name && !names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  }
  return names;
}

/**
 * Asks one host, by unicast to its own UDP 5353, for the name it announces over mDNS: a
 * "legacy unicast" query (RFC 6762 §5.5 and §6.7, sent from an ephemeral port) for the PTR
 * record of its address, which Avahi and Bonjour publish for every address they own. Nothing
 * is multicast, and only the scanned host is asked, like the NetBIOS query. Avahi answers
 * such a query only from an address on one of its own links, so a host in another subnet stays
 * silent. Resolves [] on silence, cancellation or garbage; only datagrams from `address` count.
 */
export function queryMdnsName(
  address: string,
  options: { timeoutMs?: number; signal?: AbortSignal; port?: number } = {},
): Promise<string[]> {
  const version = isIP(address);
  const id = randomInt(0, 0x10000);
  const query = version === 0 ? null : encodeReverseQuery(address, id);
  if (!query || options.signal?.aborted) return Promise.resolve([]);
  return new Promise((resolve) => {
    const socket = createSocket(version === 6 ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (value: string[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(value);
    };
    const onAbort = (): void => finish([]);
    const timer = setTimeout(() => finish([]), options.timeoutMs ?? 1000);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', () => finish([]));
    socket.on('message', (message, remote) => {
      if (remote.address !== address) return;
      const names = decodeReverseAnswer(message, address, id);
      if (names.length > 0) finish(names);
    });
    // Connected, so a host with nothing on the port answers at once: the kernel reports its
    // ICMP port unreachable as an error (ECONNREFUSED) instead of the query waiting out its
    // timeout, as it did on every live host without an mDNS responder. It also keeps only
    // datagrams from that address and port.
    socket.connect(options.port ?? MDNS_PORT, address, (error?: Error) => {
      if (error || settled) {
        finish([]);
        return;
      }
      socket.send(query, (sendError) => {
        if (sendError) finish([]);
      });
    });
  });
}
