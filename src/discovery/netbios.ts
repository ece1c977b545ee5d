import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { sanitizeText } from '../util';
import { isIP } from 'node:net';

/** What a NetBIOS node-status (NBSTAT) answer tells about a Windows or Samba machine. */
export interface NetbiosInfo {
  /** Computer name (first unique name with suffix 0x00), or null. */
  name: string | null;
  /** Workgroup or domain (first group name with suffix 0x00), or null. */
  workgroup: string | null;
  /** Unit id from the statistics block; Samba sends zeros, which become null. */
  mac: string | null;
  names: { name: string; suffix: number; group: boolean }[];
}

/** The NBSTAT query for "*" (RFC 1002 4.2.17), with the given transaction id. */
export function encodeNbstatQuery(transactionId: number): Buffer {
  const packet = Buffer.alloc(50);
  packet.writeUInt16BE(transactionId & 0xffff, 0);
  packet.writeUInt16BE(0x0000, 2); // flags: query, no recursion
  packet.writeUInt16BE(1, 4); // QDCOUNT
  packet[12] = 0x20; // label length 32
  const raw = Buffer.alloc(16, 0);
  raw[0] = 0x2a; // "*" padded with NULs
  for (let i = 0; i < 16; i++) {
    packet[13 + i * 2] = 0x41 + (raw[i]! >> 4);
    packet[14 + i * 2] = 0x41 + (raw[i]! & 0x0f);
  }
  packet[45] = 0x00; // root label
  packet.writeUInt16BE(0x0021, 46); // NBSTAT
  packet.writeUInt16BE(0x0001, 48); // IN
  return packet;
}

/** Decodes an NBSTAT response; null for anything malformed or not a node-status answer. */
export function decodeNbstatResponse(bytes: Uint8Array, transactionId?: number): NetbiosInfo | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12 + 1) return null;
  if (transactionId !== undefined && b.readUInt16BE(0) !== (transactionId & 0xffff)) return null;
  if ((b[2]! & 0x80) === 0) return null; // not a response
  if (b.readUInt16BE(6) < 1) return null; // ANCOUNT
  let offset = 12;
  // Skip the answer's name: labels or a compression pointer.
  for (let guard = 0; guard < 64; guard++) {
    if (offset >= b.length) return null;
    const len = b[offset]!;
    if ((len & 0xc0) === 0xc0) {
      offset += 2;
      break;
    }
    offset += 1 + len;
    if (len === 0) break;
  }
  if (offset + 10 > b.length) return null;
  if (b.readUInt16BE(offset) !== 0x0021) return null;
  const rdLength = b.readUInt16BE(offset + 8);
  offset += 10;
  const end = Math.min(b.length, offset + rdLength);
  if (offset >= end) return null;
  const count = b[offset]!;
  offset += 1;
  const names: NetbiosInfo['names'] = [];
  for (let i = 0; i < count && offset + 18 <= end; i++, offset += 18) {
    // NetBIOS names are padded with spaces or NULs.
    // eslint-disable-next-line no-control-regex
    const padding = /[\s\u0000]+$/u;
    const name = sanitizeText(
      b
        .subarray(offset, offset + 15)
        .toString('latin1')
        .replace(padding, ''),
      {
        maxLength: 15,
      },
    );
    const suffix = b[offset + 15]!;
    const group = (b.readUInt16BE(offset + 16) & 0x8000) !== 0;
    names.push({ name, suffix, group });
  }
  let mac: string | null = null;
  if (offset + 6 <= end) {
    const unit = [...b.subarray(offset, offset + 6)];
    if (unit.some((x) => x !== 0)) mac = unit.map((x) => x.toString(16).padStart(2, '0')).join(':');
  }
  return {
    name: names.find((n) => !n.group && n.suffix === 0x00)?.name || null,
    workgroup: names.find((n) => n.group && n.suffix === 0x00)?.name || null,
    mac,
    names,
  };
}

/**
 * Sends one NBSTAT query to `address` (UDP 137 unless `port` says otherwise) and waits up
 * to `timeoutMs` for the answer from that address. Resolves null on silence or garbage.
 */
export function queryNetbios(
  address: string,
  options: { timeoutMs?: number; signal?: AbortSignal; port?: number } = {},
): Promise<NetbiosInfo | null> {
  const version = isIP(address);
  if (version === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = createSocket(version === 6 ? 'udp6' : 'udp4');
    const id = randomInt(0, 0x10000);
    let settled = false;
    const finish = (value: NetbiosInfo | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.close();
      resolve(value);
    };
    const onAbort = (): void => finish(null);
    const timer = setTimeout(() => finish(null), options.timeoutMs ?? 1000);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', () => finish(null));
    socket.on('message', (message, remote) => {
      if (remote.address !== address) return;
      const info = decodeNbstatResponse(message, id);
      if (info) finish(info);
    });
    socket.send(encodeNbstatQuery(id), options.port ?? 137, address, (error) => {
      if (error) finish(null);
    });
  });
}
