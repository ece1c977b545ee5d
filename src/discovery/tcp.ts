import { X509Certificate } from 'node:crypto';
import { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { certificateFingerprint } from '../remote';
import { sanitizeText } from '../util';
import { RESOURCE_ERRORS } from './limiter';
import {
  MAX_BANNER_BYTES,
  httpHeadComplete,
  httpHeadRequest,
  parseHttpHead,
  parseRdpConfirm,
  parseRfbVersion,
  parseSmbNegotiate,
  parseSshIdentification,
  rdpConnectionRequest,
  smbMessageComplete,
  smbNegotiateRequest,
  wsmanRequest,
  type RdpAnswer,
  type SmbAnswer,
  type SshIdentification,
} from './protocols';

/**
 * open: the handshake completed. closed: RST (ECONNREFUSED) — the host is alive.
 * filtered: no answer before the timeout. unreachable: an ICMP/ARP failure (EHOSTUNREACH,
 * ENETUNREACH) — nmap reports those as filtered too.
 */
export type PortState = 'open' | 'closed' | 'filtered' | 'unreachable';

export interface PortResult {
  port: number;
  state: PortState;
  /** Time to SYN-ACK or RST; null for filtered/unreachable. */
  rttMs: number | null;
  /** Error code behind a filtered/unreachable state (ETIMEDOUT, EHOSTUNREACH…). */
  reason?: string;
}

export type HandshakeKind = 'ssh' | 'winrm' | 'winrm-tls' | 'http' | 'https' | 'rdp' | 'smb' | 'vnc';

export type ServiceInfo =
  | { port: number; kind: 'ssh'; identification: SshIdentification }
  | {
      port: number;
      kind: 'http';
      tls: boolean;
      status: number;
      server: string | null;
      /** WWW-Authenticate schemes offered (Negotiate, Basic…). */
      authenticate: string | null;
      /** Microsoft-HTTPAPI answering /wsman with 401/405: a WinRM listener. */
      winrm: boolean;
      certificate?: {
        subject: string | null;
        altNames: string | null;
        /**
         * WinRM over HTTPS (the 'winrm-tls' check): the certificate itself, as the WinRM client
         * will see it (fingerprint 'SHA256:…' of the DER, and its PEM), recorded for review.
         */
        presented?: { fingerprint: string; pem: string };
      };
    }
  | ({ port: number; kind: 'rdp' } & Omit<RdpAnswer, 'rdp'>)
  | ({ port: number; kind: 'smb' } & Omit<SmbAnswer, 'smb'>)
  | { port: number; kind: 'vnc'; version: string }
  /** The port is open but did not speak the expected protocol (or spoke nothing in time). */
  | { port: number; kind: 'unknown'; expected: HandshakeKind; note: string };

export const DEFAULT_HANDSHAKES: Readonly<Record<number, HandshakeKind>> = {
  22: 'ssh',
  80: 'http',
  443: 'https',
  445: 'smb',
  3389: 'rdp',
  5900: 'vnc',
  5985: 'winrm',
  5986: 'winrm-tls',
};

/**
 * Cancellation for thousands of sockets at once. AbortSignal listeners are an EventTarget
 * list whose removal is linear, so one signal shared by every socket of a /24 sweep costs
 * O(n²); a scope keeps a Set and listens to the signal once.
 */
export class CancelScope {
  private readonly callbacks = new Set<() => void>();
  private done = false;

  constructor(signal?: AbortSignal) {
    if (signal?.aborted) this.done = true;
    else signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  get aborted(): boolean {
    return this.done;
  }

  /** Registers `fn` to run on cancel; returns the unregister function. */
  add(fn: () => void): () => void {
    if (this.done) {
      queueMicrotask(fn);
      return () => {};
    }
    this.callbacks.add(fn);
    return () => this.callbacks.delete(fn);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    for (const fn of [...this.callbacks]) fn();
    this.callbacks.clear();
  }
}

type Cancel = CancelScope | AbortSignal | undefined;

function scopeOf(cancel: Cancel): CancelScope | undefined {
  return cancel instanceof CancelScope ? cancel : cancel ? new CancelScope(cancel) : undefined;
}

/** A connect whose deadline can be pulled in while it is pending (adaptive timeouts). */
export interface ConnectHandle {
  readonly startedAt: number;
  /** Moves the deadline earlier (never later). */
  shortenDeadline(at: number): void;
}

export interface ConnectOutcome {
  result: PortResult;
  /** Set when open; the caller owns it and must destroy it. */
  socket: Socket | null;
  /** EMFILE & co: the probe did not happen and should be retried with fewer sockets. */
  resourceError: string | null;
}

function errorCode(error: unknown): string {
  return (error as { code?: string }).code ?? 'ERROR';
}

/** Opens one TCP connection and classifies the outcome. Never rejects. */
export function connectPort(
  address: string,
  port: number,
  timeoutMs: number,
  cancel: Cancel,
  onHandle?: (handle: ConnectHandle) => void,
): Promise<ConnectOutcome> {
  const scope = scopeOf(cancel);
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let deadline = startedAt + timeoutMs;
    const socket = new Socket();
    const finish = (outcome: ConnectOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unregister();
      socket.removeAllListeners('connect');
      if (!outcome.socket) socket.destroy();
      resolve(outcome);
    };
    const filtered = (reason: string): void =>
      finish({ result: { port, state: 'filtered', rttMs: null, reason }, socket: null, resourceError: null });
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => filtered('ETIMEDOUT'), Math.max(0, deadline - performance.now()));
    };
    let unregister: () => void = () => {};
    socket.once('connect', () => {
      // The socket stays quiet until a handshake reads from it; an error later is its business.
      socket.on('error', () => {});
      finish({
        result: { port, state: 'open', rttMs: Math.round((performance.now() - startedAt) * 10) / 10 },
        socket,
        resourceError: null,
      });
    });
    socket.on('error', (error) => {
      const code = errorCode(error);
      const rttMs = Math.round((performance.now() - startedAt) * 10) / 10;
      if (code === 'ECONNREFUSED')
        finish({ result: { port, state: 'closed', rttMs }, socket: null, resourceError: null });
      else if (RESOURCE_ERRORS.has(code))
        finish({
          result: { port, state: 'filtered', rttMs: null, reason: code },
          socket: null,
          resourceError: code,
        });
      else if (
        code === 'EHOSTUNREACH' ||
        code === 'ENETUNREACH' ||
        code === 'EHOSTDOWN' ||
        code === 'ENETDOWN'
      ) {
        finish({
          result: { port, state: 'unreachable', rttMs: null, reason: code },
          socket: null,
          resourceError: null,
        });
      } else filtered(code);
    });
    if (scope?.aborted) return filtered('ABORTED');
    unregister = scope?.add(() => filtered('ABORTED')) ?? unregister;
    arm();
    onHandle?.({
      startedAt,
      shortenDeadline(at) {
        if (settled || at >= deadline) return;
        deadline = at;
        arm();
      },
    });
    try {
      socket.connect({ host: address, port, noDelay: true });
    } catch (error) {
      const code = errorCode(error);
      if (RESOURCE_ERRORS.has(code))
        finish({
          result: { port, state: 'filtered', rttMs: null, reason: code },
          socket: null,
          resourceError: code,
        });
      else filtered(code);
    }
  });
}

export interface ReadResult {
  bytes: Buffer;
  /** Why reading stopped: the predicate was met, the peer closed, the cap or deadline hit. */
  end: 'done' | 'closed' | 'cap' | 'timeout' | 'aborted' | 'error';
}

/**
 * Reads from a peer until `done(bytes)` says enough, at most `maxBytes`, and at most
 * `timeoutMs` in total — a deadline, not an idle timer, so a peer that trickles one byte a
 * second cannot keep us. Extra bytes past the cap are dropped unread.
 */
export function readUntil(
  socket: Socket | TLSSocket,
  options: { maxBytes?: number; timeoutMs: number; signal?: Cancel; done: (bytes: Buffer) => boolean },
): Promise<ReadResult> {
  const scope = scopeOf(options.signal);
  const maxBytes = options.maxBytes ?? MAX_BANNER_BYTES;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (end: ReadResult['end']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      unregister();
      socket.pause();
      resolve({ bytes: Buffer.concat(chunks, length), end });
    };
    const onData = (chunk: Buffer): void => {
      const room = maxBytes - length;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks.push(piece);
      length += piece.length;
      const all = Buffer.concat(chunks, length);
      chunks.length = 0;
      chunks.push(all);
      if (options.done(all)) finish('done');
      else if (length >= maxBytes) finish('cap');
    };
    const onEnd = (): void => finish('closed');
    const onError = (): void => finish('error');
    let unregister: () => void = () => {};
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    if (scope?.aborted) finish('aborted');
    else {
      unregister = scope?.add(() => finish('aborted')) ?? unregister;
      socket.resume();
    }
  });
}

function upgradeTls(socket: Socket, timeoutMs: number, scope?: CancelScope): Promise<TLSSocket | null> {
  return new Promise((resolve) => {
    let settled = false;
    const tls = tlsConnect({ socket, rejectUnauthorized: false });
    const done = (value: TLSSocket | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unregister();
      if (!value) tls.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    const unregister = scope?.add(() => done(null)) ?? (() => {});
    tls.once('secureConnect', () => done(tls));
    tls.on('error', () => done(null));
  });
}

/** A certificate larger than this is not kept for review (a real one is a few KiB). */
const MAX_CERTIFICATE_BYTES = 64 * 1024;

function certificateOf(
  tls: TLSSocket,
  keep: boolean,
): NonNullable<Extract<ServiceInfo, { kind: 'http' }>['certificate']> {
  try {
    const cert = tls.getPeerCertificate();
    const cn = cert?.subject?.CN;
    const subject = typeof cn === 'string' ? sanitizeText(cn, { maxLength: 120 }) : null;
    const alt =
      typeof cert?.subjectaltname === 'string' ? sanitizeText(cert.subjectaltname, { maxLength: 200 }) : null;
    const der = keep ? cert?.raw : undefined;
    const presented = der && der.length > 0 && der.length <= MAX_CERTIFICATE_BYTES ? presentedOf(der) : null;
    return { subject, altNames: alt, ...(presented ? { presented } : {}) };
  } catch {
    return { subject: null, altNames: null };
  }
}

/** The fingerprint (the one the WinRM client pins) and PEM of a DER certificate; null if unparsable. */
function presentedOf(der: Buffer): { fingerprint: string; pem: string } | null {
  try {
    const pem = new X509Certificate(der).toString();
    return { fingerprint: certificateFingerprint(der), pem };
  } catch {
    return null;
  }
}

/**
 * Runs the quick protocol check for `kind` on an open socket and destroys the socket
 * afterwards, whatever happens. Never rejects.
 */
export async function runHandshake(
  socket: Socket,
  address: string,
  port: number,
  kind: HandshakeKind,
  timeoutMs: number,
  cancel?: Cancel,
): Promise<ServiceInfo> {
  const signal = scopeOf(cancel);
  const deadline = performance.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - performance.now());
  const unknown = (note: string): ServiceInfo => ({ port, kind: 'unknown', expected: kind, note });
  let tls: TLSSocket | null = null;
  try {
    switch (kind) {
      case 'ssh': {
        const read = await readUntil(socket, {
          timeoutMs: left(),
          signal,
          done: (b) => parseSshIdentification(b) !== null,
        });
        const identification = parseSshIdentification(read.bytes, true);
        if (identification) return { port, kind: 'ssh', identification };
        return unknown(
          read.bytes.length === 0
            ? `no SSH identification (${read.end})`
            : `no SSH identification in ${read.bytes.length} bytes (${read.end})`,
        );
      }
      case 'http':
      case 'https':
      case 'winrm':
      case 'winrm-tls': {
        const useTls = kind === 'https' || kind === 'winrm-tls';
        let stream: Socket | TLSSocket = socket;
        if (useTls) {
          tls = await upgradeTls(socket, left(), signal);
          if (!tls) return unknown('TLS handshake failed');
          stream = tls;
        }
        stream.write(kind.startsWith('winrm') ? wsmanRequest(address, port) : httpHeadRequest(address, port));
        const read = await readUntil(stream, { timeoutMs: left(), signal, done: httpHeadComplete });
        const head = parseHttpHead(read.bytes);
        if (!head)
          return unknown(read.bytes.length === 0 ? `no HTTP answer (${read.end})` : 'not an HTTP answer');
        const server = head.headers.server ?? null;
        const winrm =
          kind.startsWith('winrm') &&
          /Microsoft-HTTPAPI\//iu.test(server ?? '') &&
          [401, 405, 415, 200].includes(head.status);
        return {
          port,
          kind: 'http',
          tls: useTls,
          status: head.status,
          server,
          authenticate: head.headers['www-authenticate'] ?? null,
          winrm,
          ...(tls ? { certificate: certificateOf(tls, kind === 'winrm-tls') } : {}),
        };
      }
      case 'rdp': {
        socket.write(rdpConnectionRequest());
        const read = await readUntil(socket, {
          timeoutMs: left(),
          signal,
          maxBytes: 64,
          done: (b) => b.length >= 19 || (b.length >= 4 && b.length >= b.readUInt16BE(2)),
        });
        const answer = parseRdpConfirm(read.bytes);
        if (!answer) return unknown(`no X.224 connection confirm (${read.end})`);
        return { port, kind: 'rdp', selected: answer.selected, failure: answer.failure };
      }
      case 'smb': {
        socket.write(smbNegotiateRequest());
        const read = await readUntil(socket, {
          timeoutMs: left(),
          signal,
          maxBytes: 512,
          done: smbMessageComplete,
        });
        const answer = parseSmbNegotiate(read.bytes);
        if (!answer) return unknown(`no SMB negotiate response (${read.end})`);
        return {
          port,
          kind: 'smb',
          version: answer.version,
          dialect: answer.dialect,
          signingRequired: answer.signingRequired,
        };
      }
      case 'vnc': {
        const read = await readUntil(socket, {
          timeoutMs: left(),
          signal,
          maxBytes: 12,
          done: (b) => b.length >= 12,
        });
        const version = parseRfbVersion(read.bytes);
        return version ? { port, kind: 'vnc', version } : unknown(`no RFB greeting (${read.end})`);
      }
      default:
        return unknown('no handshake for this kind');
    }
  } catch (error) {
    return unknown(`handshake failed: ${sanitizeText(errorCode(error), { maxLength: 40 })}`);
  } finally {
    tls?.destroy();
    socket.destroy();
  }
}
