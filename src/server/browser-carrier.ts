import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Core, UploadRegistry } from '../core';
import { PatchdeckError } from '../util';

/**
 * The browser carrier: HTTP + WebSocket on loopback only, carrying the same contract as the
 * Electron preload. Every API request and socket must present the per-launch token (≥ 128 bits)
 * itself: an `Authorization: Bearer` header on HTTP, or the `patchdeck.token.<token>` WebSocket
 * subprotocol (browsers cannot set headers on a WebSocket). There is no cookie: cookies are not
 * isolated by port (RFC 6265 §8.5), so a cookie for 127.0.0.1 would reach every other local
 * listener the browser is sent to. The page gets the token from the launch URL's fragment
 * (never sent to any server) and keeps it in sessionStorage, which is per origin, port included.
 * A program that must be handed a URL on its command line (`serve --open`, where `ps` shows it
 * to every local user) gets a single-use launch code instead, valid for a few seconds, which the
 * page exchanges for the token. Host and Origin must name this very listener, which defeats DNS
 * rebinding and cross-site requests. The renderer's files are public build output: they need
 * no token, the API does.
 *
 * Files too big for one message (an API call is at most 1 MiB) are streamed first to
 * `POST /api/upload?name=<file name>` (same token, and an Origin naming this listener, as the
 * WebSocket requires) into the core's upload registry, which answers an id a call then names.
 */
export interface BrowserCarrierOptions {
  /**
   * What the carrier needs of the core: its router and its events (in-process or a client), and
   * where uploads go (in-process only: without it `/api/upload` answers that it cannot take files).
   */
  core: Pick<Core, 'router' | 'events'> & { uploads?: UploadRegistry };
  host?: string;
  port?: number;
  /** Folder holding the renderer build (index.html + assets). */
  staticDir: string;
  token?: string;
  /** How long a launch code from `createLaunchUrl` stays valid; default 30 s. */
  launchCodeTtlMs?: number;
  /** The clock launch codes expire by (tests move it). */
  now?: () => number;
}

export interface BrowserCarrier {
  url: string;
  /** The URL to open: the token rides in the fragment, which the browser sends to no server. */
  launchUrl: string;
  /**
   * A URL for another program's command line: it holds a fresh single-use launch code, not the
   * token, and the code expires after `launchCodeTtlMs`.
   */
  createLaunchUrl(): string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** The WebSocket subprotocol the server selects, and the prefix of the one carrying the token. */
export const WS_PROTOCOL = 'patchdeck';
export const WS_TOKEN_PROTOCOL_PREFIX = 'patchdeck.token.';
const DEFAULT_LAUNCH_CODE_TTL_MS = 30_000;
const API_NOT_A_PAGE =
  'This address is part of Patchdeck’s API, not a page. Open the app’s own address instead.';
/** Each start of `patchdeck serve` makes a new token, so a link from before a restart stops working. */
const STALE_LINK_MESSAGE =
  'This link holds the token of an earlier launch of Patchdeck: each start of `patchdeck serve` makes a new one. Open the address it printed when it last started.';
/** Launch codes outstanding at once; `serve` makes one per `--open`. */
const MAX_LAUNCH_CODES = 64;
const MAX_BODY = 1024 * 1024;
/** How often (bytes written) an upload checks the disk keeps its reserve free. */
const UPLOAD_SPACE_CHECK_BYTES = 64 * 1024 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function isLoopbackAddress(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1';
  return false;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

/** The request target as a URL, or null when it is not one (`GET http://[ HTTP/1.1` reaches us). */
function requestUrl(req: http.IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://placeholder');
  } catch {
    return null;
  }
}

/** The token a request presents: a Bearer header, or (WebSocket handshakes) a subprotocol. */
function presentedToken(req: http.IncomingMessage, allowSubprotocol: boolean): string | null {
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7);
  const protocols = req.headers['sec-websocket-protocol'];
  if (allowSubprotocol && typeof protocols === 'string') {
    for (const offered of protocols.split(',')) {
      const protocol = offered.trim();
      if (protocol.startsWith(WS_TOKEN_PROTOCOL_PREFIX))
        return protocol.slice(WS_TOKEN_PROTOCOL_PREFIX.length);
    }
  }
  return null;
}

/**
 * True for a request the browser makes to show a page (typing the address, a link, a reload):
 * such a refusal must be a page a person can read, not an envelope. Fetch Metadata says so in
 * every current browser; older ones still ask for HTML first.
 */
function isBrowserNavigation(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const mode = req.headers['sec-fetch-mode'];
  if (typeof mode === 'string') return mode === 'navigate';
  return /^\s*text\/html/i.test(req.headers.accept ?? '');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A plain page for a refused navigation: fixed texts only, nothing taken from the request. */
function sendRefusalPage(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy':
      "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Patchdeck: cannot open this page</title></head>` +
      `<body><h1>Patchdeck cannot open this page</h1><p>${escapeHtml(message)}</p></body></html>\n`,
  );
}

export async function startBrowserCarrier(options: BrowserCarrierOptions): Promise<BrowserCarrier> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host)) {
    throw new PatchdeckError(
      'forbidden',
      `Refusing to listen on ${host}: the browser carrier listens on loopback (127.0.0.1 or ::1) only.`,
    );
  }
  const token = options.token ?? crypto.randomBytes(32).toString('base64url');
  const staticDir = path.resolve(options.staticDir);
  const server = http.createServer();
  let port = 0;
  const allowedHosts = (): Set<string> =>
    new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([...allowedHosts()].map((h) => `http://${h}`));

  type Refusal = { status: number; message: string };
  /** Host and Origin must name this listener. Returns why not, or null. */
  const checkPlace = (req: http.IncomingMessage): Refusal | null => {
    if (!req.headers.host || !allowedHosts().has(req.headers.host)) {
      return {
        status: 421,
        message: 'Wrong Host header: Patchdeck answers only to its own loopback address.',
      };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) {
      return { status: 403, message: 'Cross-origin request refused.' };
    }
    return null;
  };
  const checkToken = (req: http.IncomingMessage, allowSubprotocol: boolean): Refusal | null => {
    const presented = presentedToken(req, allowSubprotocol);
    if (!presented || !safeEqual(presented, token)) {
      return { status: 401, message: 'Missing or wrong token: open the URL that `patchdeck serve` printed.' };
    }
    return null;
  };

  // Launch codes: single-use, short-lived stand-ins for the token on a command line.
  const now = options.now ?? Date.now;
  const launchCodeTtlMs = options.launchCodeTtlMs ?? DEFAULT_LAUNCH_CODE_TTL_MS;
  const launchCodes = new Map<string, number>();
  const createLaunchCode = (): string => {
    for (const [code, expires] of launchCodes) if (expires <= now()) launchCodes.delete(code);
    if (launchCodes.size >= MAX_LAUNCH_CODES) launchCodes.delete(launchCodes.keys().next().value!);
    const code = crypto.randomBytes(32).toString('base64url');
    launchCodes.set(code, now() + launchCodeTtlMs);
    return code;
  };
  /** True once for a code that has not expired; the code is spent either way. A wrong code changes nothing. */
  const redeemLaunchCode = (presented: unknown): boolean => {
    if (typeof presented !== 'string') return false;
    for (const [code, expires] of launchCodes) {
      if (safeEqual(code, presented)) {
        launchCodes.delete(code);
        return expires > now();
      }
    }
    return false;
  };

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const sendError = (res: http.ServerResponse, status: number, code: string, message: string): void =>
    sendJson(res, status, { ok: false, error: { code, message } });
  /** A refusal as the browser's user reads it (a navigation), or as a program parses it. */
  const refuse = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    code: string,
    message: string,
  ): void => {
    if (isBrowserNavigation(req)) sendRefusalPage(res, status, message);
    else sendError(res, status, code, message);
  };

  /** A POSTed JSON body, bounded; answers the request itself when it is not one. */
  const readJsonBody = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    then: (body: unknown) => void,
  ): void => {
    if (req.method !== 'POST') {
      sendError(res, 405, 'bad-request', 'Use POST.');
      return;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      // A JSON content type forces a CORS preflight, closing the simple-request CSRF path.
      sendError(res, 415, 'bad-request', 'Send application/json.');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        if (!res.headersSent) sendError(res, 413, 'bad-request', 'Request too large.');
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        sendError(res, 400, 'bad-request', 'The body is not valid JSON.');
        return;
      }
      then(body);
    });
  };

  /**
   * An answer given before the request's body was read (an upload refused): the rest of the body
   * is not wanted, so the connection ends after the answer. Ending it at once would reset it and
   * could lose the answer; the client gets a moment to read it while what it still sends is dropped.
   */
  const closeAfterAnswer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.setHeader('connection', 'close');
    res.once('finish', () => {
      req.resume();
      req.socket.end();
      setTimeout(() => req.socket.destroy(), 2000).unref();
    });
  };

  /**
   * `POST /api/upload?name=…`: the body, streamed to a fresh private file of the upload registry.
   * Refused before a byte is written when the declared size is over the cap or would leave the
   * disk short of its reserve; refused midway (the partial file deleted) when the stream passes
   * either. Answers `{ ok: true, value: { uploadId, name, bytes } }`.
   */
  const receiveUpload = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): void => {
    // An upload refused before its body is read: answer, then close (the rest is not wanted).
    const refuseUpload = (status: number, code: string, message: string): void => {
      closeAfterAnswer(req, res);
      sendError(res, status, code, message);
    };
    const uploads = options.core.uploads;
    if (!uploads) {
      refuseUpload(501, 'unavailable', 'This Patchdeck cannot take uploads here.');
      return;
    }
    if (req.method !== 'POST') {
      refuseUpload(405, 'bad-request', 'Use POST.');
      return;
    }
    // Browsers always send Origin on a POST; like the WebSocket, require it (checkPlace checked its value).
    if (!req.headers.origin) {
      refuseUpload(403, 'forbidden', 'Cross-origin request refused.');
      return;
    }
    const name = url.searchParams.get('name');
    if (!name) {
      refuseUpload(400, 'bad-request', 'Name the file: /api/upload?name=<file name>.');
      return;
    }
    const gib = (bytes: number): string => `${Math.round((bytes / 1024 ** 3) * 10) / 10} GiB`;
    const tooBig = `This file is larger than ${gib(uploads.maxBytes)}, the most Patchdeck takes in one upload; nothing was kept.`;
    const noSpace = (): string =>
      `Not enough free disk space for this upload (Patchdeck keeps ${gib(uploads.reserveBytes)} free); nothing was kept.`;
    const lengthHeader = req.headers['content-length'];
    const declared = lengthHeader === undefined ? null : Number(lengthHeader);
    if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0)) {
      refuseUpload(400, 'bad-request', 'Bad Content-Length.');
      return;
    }
    if (declared !== null && declared > uploads.maxBytes) {
      refuseUpload(413, 'bad-request', tooBig);
      return;
    }
    let started: ReturnType<UploadRegistry['begin']>;
    try {
      if ((declared ?? 0) + uploads.reserveBytes > uploads.freeBytes()) {
        refuseUpload(507, 'unavailable', noSpace());
        return;
      }
      started = uploads.begin(name);
    } catch (error) {
      const tooMany = error instanceof PatchdeckError && error.code === 'conflict';
      refuseUpload(
        tooMany ? 429 : 500,
        tooMany ? 'conflict' : 'internal',
        tooMany ? error.message : 'Patchdeck could not make a file for this upload; nothing was kept.',
      );
      return;
    }
    let bytes = 0;
    let nextCheck = UPLOAD_SPACE_CHECK_BYTES;
    let ended = false;
    const writer = fs.createWriteStream('', { fd: started.fd });
    /** The upload fails: its file goes, the answer says why, and the connection ends after it. */
    const fail = (status: number, code: string, message: string): void => {
      if (ended) return;
      ended = true;
      writer.destroy();
      uploads.abort(started.id);
      if (res.headersSent || res.destroyed) {
        req.socket.destroy();
        return;
      }
      closeAfterAnswer(req, res);
      sendError(res, status, code, message);
    };
    writer.on('error', () =>
      fail(500, 'internal', 'Patchdeck could not write this upload to disk; nothing was kept.'),
    );
    req.on('data', (chunk: Buffer) => {
      if (ended) return;
      bytes += chunk.length;
      if (bytes > uploads.maxBytes) {
        fail(413, 'bad-request', tooBig);
        return;
      }
      if (bytes >= nextCheck) {
        nextCheck += UPLOAD_SPACE_CHECK_BYTES;
        let free = 0;
        try {
          free = uploads.freeBytes();
        } catch {
          // Unknown free space counts as none.
        }
        if (free < uploads.reserveBytes) {
          fail(507, 'unavailable', noSpace());
          return;
        }
      }
      if (!writer.write(chunk)) {
        req.pause();
        writer.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (ended) return;
      writer.end((error?: Error | null) => {
        if (ended) return;
        if (error) {
          fail(500, 'internal', 'Patchdeck could not write this upload to disk; nothing was kept.');
          return;
        }
        ended = true;
        if (declared !== null && bytes !== declared) {
          uploads.abort(started.id);
          sendError(
            res,
            400,
            'bad-request',
            'The upload ended short of its Content-Length; nothing was kept.',
          );
          return;
        }
        uploads.finish(started.id, bytes);
        sendJson(res, 200, { ok: true, value: { uploadId: started.id, name: started.name, bytes } });
      });
    });
    // The browser went away (a closed tab, a cancelled request) before the body ended.
    req.on('close', () => {
      if (!req.complete) fail(400, 'bad-request', 'The upload broke off; nothing was kept.');
    });
    req.on('error', () => fail(400, 'bad-request', 'The upload broke off; nothing was kept.'));
  };

  const serveStatic = (res: http.ServerResponse, pathname: string): void => {
    let relative: string;
    try {
      relative = decodeURIComponent(pathname);
    } catch {
      res.writeHead(400).end('Bad path.');
      return;
    }
    let file = path.resolve(staticDir, `.${relative}`);
    if (file !== staticDir && !file.startsWith(staticDir + path.sep)) {
      res.writeHead(404).end('Not found.');
      return;
    }
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(staticDir, 'index.html');
    if (!fs.existsSync(file)) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The renderer is not built. Run `npm run build:renderer` (or `npm run serve`).');
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    // pipe() would leave a read error (EACCES, a file replaced by a rebuild) unhandled, crashing the
    // process, and keep the file open when the browser goes away; pipeline ends both sides instead.
    pipeline(fs.createReadStream(file), res, () => {});
  };

  server.on('request', (req, res) => {
    // A throw here would be an uncaught exception: one bad request line would end the process.
    const url = requestUrl(req);
    if (!url) {
      res.writeHead(400).end('Bad request target.');
      return;
    }
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
    const refusal =
      checkPlace(req) ?? (isApi && url.pathname !== '/api/launch' ? checkToken(req, false) : null);
    if (refusal) {
      if (url.pathname === '/api/upload') closeAfterAnswer(req, res);
      refuse(req, res, refusal.status, 'forbidden', refusal.message);
      return;
    }
    if (isApi && isBrowserNavigation(req)) {
      // Typed into the address bar or followed as a link: the API has no pages to show.
      sendRefusalPage(res, 404, API_NOT_A_PAGE);
      return;
    }
    if (url.pathname === '/api/launch') {
      readJsonBody(req, res, (body) => {
        const code =
          typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
        if (redeemLaunchCode(code)) sendJson(res, 200, { ok: true, value: { token } });
        else
          sendError(
            res,
            401,
            'forbidden',
            'This launch link was already used or has expired. Open the URL that `patchdeck serve` printed.',
          );
      });
      return;
    }
    if (url.pathname === '/api/upload') {
      receiveUpload(req, res, url);
      return;
    }
    if (url.pathname === '/api/call') {
      readJsonBody(req, res, (body) => {
        const message = (typeof body === 'object' && body !== null ? body : {}) as {
          method?: unknown;
          args?: unknown;
        };
        void options.core.router
          .call(message.method, message.args, { carrier: 'browser' })
          .then((envelope) => sendJson(res, 200, envelope));
      });
      return;
    }
    if (isApi) {
      sendError(res, 404, 'bad-request', `No such API endpoint: ${url.pathname.slice(0, 80)}.`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.searchParams.has('token')) {
      // A URL with the token in its query (older launch links): move it into the fragment, on `/`
      // only (never a path taken from the request: `/.//evil.com/` would leave the site).
      const presented = url.searchParams.get('token') ?? '';
      if (!safeEqual(presented, token)) {
        refuse(req, res, 401, 'forbidden', STALE_LINK_MESSAGE);
        return;
      }
      res.writeHead(303, { location: `/#token=${token}`, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    serveStatic(res, url.pathname);
  });

  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_BODY,
    // Select the plain protocol, never echo the one carrying the token.
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    // Node hands the socket over with no 'error' listener: a client that resets it (even one
    // without the token) would crash the process with an unhandled ECONNRESET.
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    const refusal = !url
      ? { status: 400, message: 'Bad request target.' }
      : url.pathname === '/api/ws'
        ? (checkPlace(req) ?? checkToken(req, true))
        : { status: 404, message: 'Not found.' };
    // Browsers always send Origin on WebSocket handshakes; require it so a page elsewhere cannot connect.
    if (refusal || !req.headers.origin) {
      const status = refusal?.status ?? 403;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      // ws closes the connection itself on a bad frame (1009 for one above maxPayload, 1002…) and
      // then emits 'error': without a listener that would crash the process.
      ws.on('error', () => {});
      const unsubscribe = options.core.events.subscribe((event, payload) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'event', event, payload }));
      });
      ws.on('message', (data) => {
        let message: { id?: unknown; method?: unknown; args?: unknown };
        try {
          message = JSON.parse(String(data)) as typeof message;
        } catch {
          ws.send(
            JSON.stringify({ type: 'error', error: { code: 'bad-request', message: 'Not valid JSON.' } }),
          );
          return;
        }
        const id = typeof message?.id === 'number' || typeof message?.id === 'string' ? message.id : null;
        void options.core.router
          .call(message?.method, message?.args, { carrier: 'browser' })
          .then((envelope) => {
            if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'result', id, ...envelope }));
          });
      });
      ws.on('close', () => {
        unsubscribe();
        sockets.delete(ws);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as net.AddressInfo).port;
  const hostForUrl = net.isIPv6(host) ? `[${host}]` : host;
  const url = `http://${hostForUrl}:${port}/`;
  return {
    url,
    launchUrl: `${url}#token=${token}`,
    createLaunchUrl: () => `${url}#code=${createLaunchCode()}`,
    token,
    port,
    async close() {
      // Uploads no import claimed go with the carrier; claimed ones go when their import ends.
      options.core.uploads?.discardUnclaimed();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
