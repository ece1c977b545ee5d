import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Core } from '../core';
import { PatchdeckError } from '../util/errors';

/**
 * The browser carrier: HTTP + WebSocket on loopback only, carrying the same contract as the
 * Electron preload. Every request and socket must present the per-launch token (≥ 128 bits):
 * as a cookie set by the first `/?token=` visit, an `Authorization: Bearer` header, or a
 * `token` query parameter. Host and Origin must name this very listener, which defeats DNS
 * rebinding and cross-site requests.
 */
export interface BrowserCarrierOptions {
  core: Core;
  host?: string;
  port?: number;
  /** Folder holding the renderer build (index.html + assets). */
  staticDir: string;
  token?: string;
}

export interface BrowserCarrier {
  url: string;
  /** The URL to open: it carries the token once, then the page continues on a cookie. */
  launchUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const COOKIE = 'patchdeck_token';
const MAX_BODY = 1024 * 1024;
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
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
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

  /** Returns an error sentence, or null when the request may proceed. */
  const checkRequest = (req: http.IncomingMessage, url: URL): { status: number; message: string } | null => {
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
    const presented =
      readCookie(req.headers.cookie, COOKIE) ??
      (req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : null) ??
      url.searchParams.get('token');
    if (!presented || !safeEqual(presented, token)) {
      return { status: 401, message: 'Missing or wrong token: open the URL that `patchdeck serve` printed.' };
    }
    return null;
  };

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
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
    const refusal = checkRequest(req, url);
    if (refusal) {
      sendJson(res, refusal.status, { ok: false, error: { code: 'forbidden', message: refusal.message } });
      return;
    }
    if (url.searchParams.has('token') && req.method === 'GET' && !url.pathname.startsWith('/api')) {
      // Trade the token in the URL for a cookie, and drop it from the address bar and history.
      res.writeHead(303, {
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        location: url.pathname,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    if (url.pathname === '/api/call') {
      if (req.method !== 'POST') {
        sendJson(res, 405, { ok: false, error: { code: 'bad-request', message: 'Use POST for /api/call.' } });
        return;
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        // A JSON content type forces a CORS preflight, closing the simple-request CSRF path.
        sendJson(res, 415, { ok: false, error: { code: 'bad-request', message: 'Send application/json.' } });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) {
          sendJson(res, 413, { ok: false, error: { code: 'bad-request', message: 'Request too large.' } });
          req.destroy();
        } else chunks.push(chunk);
      });
      req.on('end', () => {
        if (res.headersSent) return;
        let body: { method?: unknown; args?: unknown };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          sendJson(res, 400, {
            ok: false,
            error: { code: 'bad-request', message: 'The body is not valid JSON.' },
          });
          return;
        }
        void options.core.router
          .call(body?.method, body?.args, { carrier: 'browser' })
          .then((envelope) => sendJson(res, 200, envelope));
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    serveStatic(res, url.pathname);
  });

  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    // Node hands the socket over with no 'error' listener: a client that resets it (even one
    // without the token) would crash the process with an unhandled ECONNRESET.
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    const refusal = !url
      ? { status: 400, message: 'Bad request target.' }
      : url.pathname === '/api/ws'
        ? checkRequest(req, url)
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
    launchUrl: `${url}?token=${token}`,
    token,
    port,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
