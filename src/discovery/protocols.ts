/**
 * Pure encoders and decoders for the quick protocol checks done on open ports. Everything
 * here takes bytes a hostile peer chose: lengths are checked before use, text is sanitised,
 * and nothing throws on garbage (it returns null instead).
 */
import { sanitizeText } from '../util';

export const MAX_BANNER_BYTES = 4096;

export interface SshIdentification {
  /** The whole identification line, sanitised. */
  raw: string;
  protoVersion: string;
  /** e.g. "OpenSSH_9.2p1" */
  software: string;
  /** e.g. "Debian-2+deb12u3", the part after the first space. */
  comments: string | null;
}

/**
 * Finds the SSH identification line (RFC 4253 §4.2) in what the server sent first. Servers
 * may send other lines before it; only a line starting with "SSH-" counts.
 * Returns null if there is none yet; with `final` (peer closed, cap or deadline reached) an
 * unterminated "SSH-" line is accepted as it is.
 */
export function parseSshIdentification(bytes: Uint8Array, final = false): SshIdentification | null {
  const text = Buffer.from(bytes.subarray(0, MAX_BANNER_BYTES)).toString('latin1');
  const lines = text.split('\n');
  for (const [i, rawLine] of lines.entries()) {
    const line = rawLine.replace(/\r$/u, '');
    if (!line.startsWith('SSH-')) continue;
    // The last piece has no newline yet: wait for more, unless no more is coming.
    if (i === lines.length - 1 && !final) return null;
    const clean = sanitizeText(Buffer.from(line, 'latin1'), { maxLength: 255 });
    const match = /^SSH-([^-\s]+)-(\S+)(?: (.*))?$/u.exec(clean);
    if (!match) return { raw: clean, protoVersion: '', software: '', comments: null };
    return { raw: clean, protoVersion: match[1]!, software: match[2]!, comments: match[3] ?? null };
  }
  return null;
}

export interface HttpHead {
  status: number;
  reason: string;
  /** Header names lower-cased; values sanitised; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

/** True once the bytes hold a complete HTTP response head. */
export function httpHeadComplete(bytes: Uint8Array): boolean {
  return Buffer.from(bytes).includes('\r\n\r\n') || Buffer.from(bytes).includes('\n\n');
}

/** Parses an HTTP/1.x status line and headers; null if it is not HTTP. */
export function parseHttpHead(bytes: Uint8Array): HttpHead | null {
  const text = Buffer.from(bytes.subarray(0, MAX_BANNER_BYTES)).toString('latin1');
  const end = text.search(/\r?\n\r?\n/u);
  const lines = (end >= 0 ? text.slice(0, end) : text).split(/\r?\n/u);
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/u.exec(lines[0] ?? '');
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/u.test(name) || name === '__proto__') continue;
    const value = sanitizeText(line.slice(colon + 1).trim(), { maxLength: 200 });
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(status[1]), reason: sanitizeText(status[2] ?? '', { maxLength: 80 }), headers };
}

/** The request sent to /wsman: an unauthenticated POST, which WinRM answers with 401. */
export function wsmanRequest(host: string, port: number): Buffer {
  const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return Buffer.from(
    `POST /wsman HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: Patchdeck-discovery\r\n` +
      'Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    'latin1',
  );
}

export function httpHeadRequest(host: string, port: number): Buffer {
  const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return Buffer.from(
    `HEAD / HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: Patchdeck-discovery\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
}

/**
 * WinRM's listener is HTTP.sys: it says `Server: Microsoft-HTTPAPI/2.0` and refuses an
 * anonymous POST with 401 (or a GET with 405). Either status with that header is WinRM.
 */
export function looksLikeWinrm(head: HttpHead): boolean {
  const server = head.headers.server ?? '';
  return /Microsoft-HTTPAPI\//iu.test(server) && [401, 405, 415, 200].includes(head.status);
}

/**
 * RDP: X.224 Connection Request in a TPKT (MS-RDPBCGR 2.2.1.1) carrying an RDP
 * Negotiation Request for TLS | CredSSP, like mstsc sends.
 */
export function rdpConnectionRequest(): Buffer {
  return Buffer.from([
    0x03,
    0x00,
    0x00,
    0x13, // TPKT: version 3, length 19
    0x0e,
    0xe0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00, // X.224 CR TPDU, length indicator 14
    0x01,
    0x00,
    0x08,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00, // RDP_NEG_REQ: TLS | CredSSP
  ]);
}

export interface RdpAnswer {
  rdp: true;
  /** Protocol the server picked, or the failure it reported. */
  selected: 'standard' | 'tls' | 'credssp' | 'rdstls' | 'credssp-early-auth' | 'unknown' | null;
  failure: string | null;
}

/** Parses the X.224 Connection Confirm; null if these bytes are not one (yet). */
export function parseRdpConfirm(bytes: Uint8Array): RdpAnswer | null {
  if (bytes.length < 11 || bytes[0] !== 0x03 || bytes[1] !== 0x00) return null;
  const tpduCode = bytes[5]! & 0xf0;
  if (tpduCode !== 0xd0) return null;
  if (bytes.length < 19) return { rdp: true, selected: 'standard', failure: null };
  const type = bytes[11];
  const value = bytes[15]! | (bytes[16]! << 8) | (bytes[17]! << 16) | (bytes[18]! << 24);
  if (type === 0x02) {
    const names: Record<number, RdpAnswer['selected']> = {
      0: 'standard',
      1: 'tls',
      2: 'credssp',
      4: 'rdstls',
      8: 'credssp-early-auth',
    };
    return { rdp: true, selected: names[value] ?? 'unknown', failure: null };
  }
  if (type === 0x03) {
    const failures: Record<number, string> = {
      1: 'SSL required by server',
      2: 'SSL not allowed by server',
      3: 'SSL certificate not on server',
      4: 'inconsistent flags',
      5: 'hybrid (CredSSP) required by server',
      6: 'SSL with user auth required by server',
    };
    return { rdp: true, selected: null, failure: failures[value] ?? `failure code ${value}` };
  }
  return { rdp: true, selected: 'unknown', failure: null };
}

/** SMB2 NEGOTIATE for dialects 2.0.2–3.0.2 (3.1.1 needs negotiate contexts; not worth it here). */
export function smbNegotiateRequest(): Buffer {
  const dialects = [0x0202, 0x0210, 0x0300, 0x0302];
  const header = Buffer.alloc(64);
  header.write('\xfeSMB', 0, 'latin1');
  header.writeUInt16LE(64, 4); // StructureSize
  header.writeUInt16LE(0, 12); // Command: NEGOTIATE
  header.writeUInt16LE(1, 14); // CreditRequest
  const body = Buffer.alloc(36 + dialects.length * 2);
  body.writeUInt16LE(36, 0); // StructureSize
  body.writeUInt16LE(dialects.length, 2);
  body.writeUInt16LE(1, 4); // SecurityMode: signing enabled
  Buffer.from('5061746368646563', 'hex').copy(body, 12); // ClientGuid (fixed, "Patchdec")
  dialects.forEach((d, i) => body.writeUInt16LE(d, 36 + i * 2));
  const nbss = Buffer.alloc(4);
  nbss.writeUInt32BE(header.length + body.length, 0); // NetBIOS session message, length
  return Buffer.concat([nbss, header, body]);
}

export interface SmbAnswer {
  smb: true;
  version: 1 | 2;
  /** e.g. "3.0.2", when the server answered SMB2. */
  dialect: string | null;
  signingRequired: boolean | null;
}

/** True once the bytes hold the whole NetBIOS session message (or the cap is reached). */
export function smbMessageComplete(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const length = ((bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return bytes.length >= Math.min(4 + length, 4 + 64 + 8);
}

export function parseSmbNegotiate(bytes: Uint8Array): SmbAnswer | null {
  if (bytes.length < 8 || bytes[0] !== 0x00) return null;
  const magic = Buffer.from(bytes.subarray(4, 8)).toString('latin1');
  if (magic === '\xffSMB') return { smb: true, version: 1, dialect: null, signingRequired: null };
  if (magic !== '\xfeSMB') return null;
  if (bytes.length < 4 + 64 + 6) return { smb: true, version: 2, dialect: null, signingRequired: null };
  const body = 4 + 64;
  const securityMode = bytes[body + 2]! | (bytes[body + 3]! << 8);
  const dialect = bytes[body + 4]! | (bytes[body + 5]! << 8);
  const names: Record<number, string> = {
    0x0202: '2.0.2',
    0x0210: '2.1',
    0x0300: '3.0',
    0x0302: '3.0.2',
    0x0311: '3.1.1',
    0x02ff: '2.x',
  };
  return {
    smb: true,
    version: 2,
    dialect: names[dialect] ?? `0x${dialect.toString(16)}`,
    signingRequired: (securityMode & 0x02) !== 0,
  };
}

/** VNC servers speak first: "RFB 003.008\n". */
export function parseRfbVersion(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes.subarray(0, 12)).toString('latin1');
  const match = /^RFB (\d{3}\.\d{3})\n$/u.exec(text);
  return match ? match[1]! : null;
}
