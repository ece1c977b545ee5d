/**
 * The HTTP side of WinRM: one keep-alive connection per session (NTLM authenticates the TCP
 * connection, not the request), the 401 Negotiate handshake, and then every SOAP body sealed
 * with MS-WSMV 2.2.9.1.1 over HTTP, or plain inside TLS over HTTPS.
 *
 * Trust before secrets: over HTTPS the certificate is checked against the reviewed pins as the
 * TLS handshake ends, before the HTTP request (Basic's password, NTLM's Type 3) is written. Over
 * HTTP the NTLM names of the challenge are checked against the reviewed NTLM identity pins
 * before the Type 3 (the only message that proves knowledge of the password) is sent.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { RemoteError } from '../errors';
import { authFailed, cleanRemoteText, connectFailure, httpStatusError } from './faults';
import { NtlmContext, NtlmError, ENCRYPTED_CONTENT_TYPE, encryptBody, decryptBody } from './ntlm';
import type { WinrmConnectOptions, WinrmIdentity } from './types';

const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';
/** Replies are bounded by the MaxEnvelopeSize we announce; this caps what a misbehaving host can push. */
const MAX_REPLY_BYTES = 8 * 1024 * 1024;
const MAX_HEADER_TOKEN_CHARS = 64 * 1024;

/** 'SHA256:<base64 without padding>' of a certificate's DER, like SSH host-key fingerprints. */
export function certificateFingerprint(der: Buffer): string {
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

export function certificatePem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** 'ntlm:<DNSCOMPUTER or NETBIOS>/<NETBIOSDOMAIN>' of the names an NTLM challenge announced. */
export function ntlmIdentityFingerprint(
  names: { netbiosDomain: string | null; netbiosComputer: string | null; dnsComputer: string | null } | null,
): string {
  const computer = names?.dnsComputer || names?.netbiosComputer || '?';
  return `ntlm:${computer.toUpperCase()}/${(names?.netbiosDomain ?? '').toUpperCase()}`;
}

function untrusted(label: string, presented: WinrmIdentity, pins: string[], what: string): RemoteError {
  if (pins.length === 0)
    return new RemoteError(
      'host-key-unknown',
      `${label} is not trusted yet. Its WinRM ${what} is ${presented.fingerprint}; trust it to continue (no credential was sent).`,
      '',
      { presented },
    );
  return new RemoteError(
    'host-key-changed',
    `${label} presented a different WinRM ${what} (${presented.fingerprint}) than the one trusted. ` +
      'This happens after a reinstall or a renewed certificate — or when someone is intercepting the connection. ' +
      'Check with the PC’s owner, then re-trust it explicitly (no credential was sent).',
    '',
    { presented, pinned: pins },
  );
}

export interface SoapReply {
  status: number;
  body: string;
}

/** "Send SOAP, get SOAP": what the shell layer needs of a transport (tests replay recordings). */
export interface SoapTransport {
  exchange(xml: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<SoapReply>;
  readonly identity: WinrmIdentity;
  close(): void;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: Socket | null;
}

/** The WinRM endpoint over HTTP(S) with NTLM or Basic. */
export class HttpTransport implements SoapTransport {
  private readonly agent: http.Agent;
  private ntlm: NtlmContext | null = null;
  private authSocket: Socket | null = null;
  private certificateDer: Buffer | null = null;
  private presented: WinrmIdentity | null = null;
  private closed = false;
  /** The PC answered an HTTP request of this session at least once. */
  private answered = false;

  constructor(private readonly options: WinrmConnectOptions) {
    const { login, https: useHttps } = options;
    if (login.method === 'basic' && !useHttps)
      throw new RemoteError(
        'auth-failed',
        `${options.label}: Basic authentication sends the password readable by anyone on the network, so Patchdeck uses it only over HTTPS (port 5986); use NTLM over HTTP.`,
      );
    if (useHttps) {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
      // Our own TLS connection, handed to the agent only once its certificate matched a pin.
      (agent as unknown as { createConnection: unknown }).createConnection = (
        _opts: unknown,
        callback: (err: Error | null, socket?: Duplex) => void,
      ): undefined => {
        this.openPinnedTls(callback);
        return undefined;
      };
      this.agent = agent;
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
    }
  }

  get identity(): WinrmIdentity {
    if (!this.presented) throw new Error('the WinRM endpoint has not identified itself yet');
    return this.presented;
  }

  private openPinnedTls(callback: (err: Error | null, socket?: Duplex) => void): void {
    const { host, port, label } = this.options;
    let done = false;
    const finish = (err: Error | null, socket?: Duplex): void => {
      if (done) return;
      done = true;
      callback(err, socket);
    };
    const socket = tls.connect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      // A self-signed certificate is the usual WinRM case: trust comes from the pin below.
      rejectUnauthorized: false,
      timeout: this.options.connectTimeoutMs,
    });
    socket.once('timeout', () => {
      socket.destroy();
      finish(new RemoteError('timeout', `${label} did not answer WinRM over HTTPS in time.`));
    });
    socket.once('error', (e) => finish(connectFailure(e, label, port, this.answered)));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      const der = socket.getPeerCertificate(true)?.raw;
      if (!der || der.length === 0) {
        socket.destroy();
        finish(new RemoteError('host-key-unknown', `${label} presented no certificate over HTTPS.`));
        return;
      }
      const presented: WinrmIdentity = {
        type: 'x509-certificate',
        fingerprint: certificateFingerprint(der),
        publicKey: certificatePem(der),
      };
      const pins = this.options.pinnedCertificates ?? [];
      if (!pins.includes(presented.fingerprint)) {
        socket.destroy();
        finish(untrusted(label, presented, pins, 'certificate'));
        return;
      }
      if (this.certificateDer && !this.certificateDer.equals(der)) {
        // Another pinned certificate mid-session: NTLM's channel binding names the first one.
        this.ntlm = null;
        this.authSocket = null;
      }
      this.certificateDer = der;
      this.presented = presented;
      finish(null, socket);
    });
  }

  private request(
    body: Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const { host, port, label, https: useHttps } = this.options;
    return new Promise<RawResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(new RemoteError('cancelled', 'Cancelled.'));
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const options: http.RequestOptions = {
        host,
        port,
        method: 'POST',
        path: '/wsman',
        agent: this.agent,
        headers: {
          ...headers,
          'Content-Length': String(body.length),
          Connection: 'Keep-Alive',
          'User-Agent': 'Patchdeck WinRM',
        },
      };
      const req = (useHttps ? https : http).request(options, (res) => {
        // Taken now: once the reply has ended, a kept-alive socket goes back to the agent and
        // res.socket is null, which would make every exchange authenticate again.
        const socket = (res.socket as Socket | null) ?? null;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            req.destroy();
            settle(() =>
              reject(
                new RemoteError(
                  'output-too-large',
                  `${label} sent a WinRM reply larger than ${MAX_REPLY_BYTES / 1024 / 1024} MiB; the connection was closed.`,
                ),
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        this.answered = true;
        res.on('end', () =>
          settle(() =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
              socket,
            }),
          ),
        );
        res.on('error', (e) => settle(() => reject(connectFailure(e, label, port, this.answered))));
      });
      const timer = setTimeout(() => {
        this.dropConnection();
        req.destroy();
        settle(() => reject(new RemoteError('timeout', `${label} did not answer WinRM in time.`)));
      }, timeoutMs);
      const onAbort = (): void => {
        this.dropConnection();
        req.destroy();
        settle(() => reject(new RemoteError('cancelled', 'Cancelled.')));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => {
        this.dropConnection();
        settle(() => reject(connectFailure(e, label, port, this.answered)));
      });
      req.end(body);
    });
  }

  /** A broken or abandoned request leaves the connection (and so its authentication) unusable. */
  private dropConnection(): void {
    this.authSocket?.destroy();
    this.authSocket = null;
    this.ntlm = null;
  }

  private negotiateToken(headers: http.IncomingHttpHeaders): Buffer | null {
    const raw = headers['www-authenticate'];
    const values = Array.isArray(raw) ? raw : raw ? raw.split(/,\s*(?=[A-Za-z]+(?:\s|$))/) : [];
    for (const value of values) {
      const match = /^\s*(Negotiate|NTLM)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(
        value.slice(0, MAX_HEADER_TOKEN_CHARS),
      );
      if (match) return Buffer.from(match[2]!, 'base64');
    }
    return null;
  }

  /** The NTLM handshake on a fresh connection: Type 1, challenge (names checked), Type 3. */
  private async authenticateNtlm(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const { label, port, login, https: useHttps } = this.options;
    this.dropConnection();
    if (useHttps && !this.certificateDer) {
      // The channel binding names the TLS certificate: bring TLS up (pin checked) with a request
      // that carries no authorization at all, then bind the NTLM context to what was presented.
      const probe = await this.request(
        Buffer.alloc(0),
        { 'Content-Type': SOAP_CONTENT_TYPE },
        timeoutMs,
        signal,
      );
      if (probe.status === 404) throw httpStatusError(404, label, port);
    }
    const ctx = new NtlmContext(
      { domain: login.domain, username: login.username, password: login.password },
      useHttps
        ? {
            requireSealing: false,
            ...(this.certificateDer ? { serverCertificate: this.certificateDer } : {}),
          }
        : {},
    );
    const negotiate = ctx.negotiateMessage();
    const challengeResponse = await this.request(
      Buffer.alloc(0),
      { Authorization: `Negotiate ${negotiate.toString('base64')}`, 'Content-Type': SOAP_CONTENT_TYPE },
      timeoutMs,
      signal,
    );
    if (challengeResponse.status === 404) throw httpStatusError(404, label, port);
    const challenge =
      challengeResponse.status === 401 ? this.negotiateToken(challengeResponse.headers) : null;
    if (!challenge)
      throw new RemoteError(
        'auth-failed',
        `${label} does not offer NTLM (Negotiate) authentication for WinRM (HTTP ${challengeResponse.status}).`,
      );
    const socket = challengeResponse.socket;
    // The answer to the challenge is good only on the connection that carried it: a server that
    // closes it would have the answer (derived from the password) sent on a new, unchecked one.
    if (!socket || socket.destroyed || /\bclose\b/i.test(String(challengeResponse.headers.connection ?? '')))
      throw new RemoteError(
        'unreachable',
        `${label} closed the WinRM connection after its NTLM challenge (NTLM needs one kept-alive connection); no answer was sent.`,
      );
    let authenticate: Buffer;
    try {
      authenticate = ctx.authenticateMessage(challenge);
    } catch (error) {
      if (error instanceof NtlmError && error.kind === 'unsupported' && /sealing/.test(error.message))
        throw new RemoteError(
          'auth-failed',
          `${label} does not agree to encrypt WinRM over HTTP with NTLM, so Patchdeck did not log in (use HTTPS on 5986, or check the PC's NTLM policy).`,
        );
      throw new RemoteError(
        'auth-failed',
        `${label} sent an NTLM challenge Patchdeck cannot read (${cleanRemoteText((error as Error).message, 120)}).`,
      );
    }
    if (!useHttps) {
      const presented: WinrmIdentity = {
        type: 'ntlm-identity',
        fingerprint: ntlmIdentityFingerprint(ctx.serverIdentity),
        publicKey: null,
      };
      const pins = this.options.pinnedNtlmIdentities ?? [];
      if (!pins.includes(presented.fingerprint)) {
        this.dropConnectionOf(socket);
        throw untrusted(label, presented, pins, 'NTLM identity');
      }
      this.presented = presented;
    }
    const done = await this.request(
      Buffer.alloc(0),
      { Authorization: `Negotiate ${authenticate.toString('base64')}`, 'Content-Type': SOAP_CONTENT_TYPE },
      timeoutMs,
      signal,
    );
    if (done.status === 401) {
      this.dropConnectionOf(done.socket);
      throw authFailed(label);
    }
    if (socket && done.socket && socket !== done.socket)
      throw new RemoteError(
        'unreachable',
        `${label} closed the WinRM connection in the middle of authentication (NTLM needs one kept-alive connection).`,
      );
    this.ntlm = ctx;
    this.authSocket = done.socket;
  }

  private dropConnectionOf(socket: Socket | null): void {
    socket?.destroy();
    this.dropConnection();
  }

  private authenticated(): boolean {
    return this.ntlm !== null && this.authSocket !== null && !this.authSocket.destroyed;
  }

  /** Authenticates now (connect-time errors surface at connect, as with SSH). */
  async open(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.options.login.method === 'ntlm') {
      await this.authenticateNtlm(timeoutMs, signal);
      return;
    }
    // Basic: nothing to negotiate; an empty POST brings TLS up (certificate pinned) and checks the password.
    const probe = await this.request(Buffer.alloc(0), this.basicHeaders(), timeoutMs, signal);
    if (probe.status === 401) throw authFailed(this.options.label);
    if (probe.status === 404) throw httpStatusError(404, this.options.label, this.options.port);
  }

  private basicHeaders(): Record<string, string> {
    const { domain, username, password } = this.options.login;
    const user = domain && domain !== '.' ? `${domain}\\${username}` : username;
    return {
      Authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
      'Content-Type': SOAP_CONTENT_TYPE,
    };
  }

  async exchange(xml: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<SoapReply> {
    if (this.closed)
      throw new RemoteError('unreachable', `${this.options.label}: the WinRM session is closed.`);
    for (let attempt = 0; ; attempt++) {
      if (this.options.login.method === 'ntlm' && !this.authenticated())
        await this.authenticateNtlm(options.timeoutMs, options.signal);
      const reply = await this.send(Buffer.from(xml, 'utf8'), options);
      if (
        reply.status === 401 &&
        attempt === 0 &&
        this.options.login.method === 'ntlm' &&
        reply.socketChanged
      ) {
        // The kept-alive connection was replaced under us: authenticate the new one, once.
        this.dropConnection();
        continue;
      }
      if (reply.status === 401) {
        this.dropConnection();
        throw authFailed(this.options.label);
      }
      if (reply.status !== 200 && reply.status !== 500)
        throw httpStatusError(reply.status, this.options.label, this.options.port);
      return { status: reply.status, body: reply.body };
    }
  }

  private async send(
    plain: Buffer,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ status: number; body: string; socketChanged: boolean }> {
    const { label, login, https: useHttps } = this.options;
    if (login.method === 'basic') {
      const res = await this.request(plain, this.basicHeaders(), options.timeoutMs, options.signal);
      return { status: res.status, body: res.body.toString('utf8'), socketChanged: false };
    }
    const ctx = this.ntlm!;
    const authSocket = this.authSocket;
    if (useHttps) {
      const res = await this.request(
        plain,
        { 'Content-Type': SOAP_CONTENT_TYPE },
        options.timeoutMs,
        options.signal,
      );
      return {
        status: res.status,
        body: res.body.toString('utf8'),
        socketChanged: res.socket !== authSocket,
      };
    }
    const res = await this.request(
      encryptBody(ctx, plain),
      { 'Content-Type': ENCRYPTED_CONTENT_TYPE },
      options.timeoutMs,
      options.signal,
    );
    const socketChanged = res.socket !== authSocket;
    if (res.status === 401) return { status: 401, body: '', socketChanged };
    const type = String(res.headers['content-type'] ?? '');
    if (res.body.length === 0) return { status: res.status, body: '', socketChanged };
    if (!/^multipart\/encrypted/i.test(type)) {
      this.dropConnection();
      throw new RemoteError(
        'command-failed',
        `${label} answered a sealed WinRM message without encryption (HTTP ${res.status}); the reply was not used.`,
      );
    }
    try {
      return { status: res.status, body: decryptBody(ctx, res.body).toString('utf8'), socketChanged };
    } catch (error) {
      this.dropConnection();
      throw new RemoteError(
        'command-failed',
        `${label} sent a WinRM reply that does not decrypt (${cleanRemoteText((error as Error).message, 120)}); the connection was closed.`,
      );
    }
  }

  close(): void {
    this.closed = true;
    this.dropConnection();
    this.agent.destroy();
  }
}

/**
 * Unauthenticated WS-Man Identify. Null when the host does not answer it (or answers something
 * else); the reply is bounded. No credential is involved, so HTTPS here checks no certificate.
 */
export async function postIdentify(
  target: { host: string; port: number; https: boolean },
  body: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<string | null> {
  if (options.signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
  return new Promise<string | null>((resolve, reject) => {
    let settled = false;
    const settle = (value: string | null, error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(value);
    };
    const payload = Buffer.from(body, 'utf8');
    const req = (target.https ? https : http).request(
      {
        host: target.host,
        port: target.port,
        method: 'POST',
        path: '/wsman',
        agent: false,
        rejectUnauthorized: false,
        servername: isIP(target.host) ? undefined : target.host,
        headers: {
          'Content-Type': SOAP_CONTENT_TYPE,
          'Content-Length': String(payload.length),
          WSMANIDENTIFY: 'unauthenticated',
          'User-Agent': 'Patchdeck WinRM',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > 64 * 1024) {
            req.destroy();
            settle(null);
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => settle(res.statusCode === 200 ? Buffer.concat(chunks).toString('utf8') : null));
        res.on('error', () => settle(null));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      settle(null);
    }, options.timeoutMs);
    const onAbort = (): void => {
      req.destroy();
      settle(null, new RemoteError('cancelled', 'Cancelled.'));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', () => settle(null));
    req.end(payload);
  });
}
