import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Core } from '../core';
import { createNodePlatform } from '../platform';
import { startBrowserCarrier, type BrowserCarrier } from './browser-carrier';

let dir: string;
let core: Core;
let carrier: BrowserCarrier;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-carrier-'));
  fs.mkdirSync(path.join(dir, 'static'));
  fs.writeFileSync(path.join(dir, 'static', 'index.html'), '<!doctype html><title>Patchdeck</title>');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the static folder');
  core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'browser',
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  carrier = await startBrowserCarrier({ core, staticDir: path.join(dir, 'static') });
});
afterAll(async () => {
  await carrier.close();
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

type RequestOptions = { method?: string; headers?: Record<string, string>; body?: string };
type Response = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** A raw HTTP request, so that Host and Origin can be set to anything. */
function rawRequest(port: number, pathname: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
const request = (pathname: string, options: RequestOptions = {}): Promise<Response> =>
  rawRequest(carrier.port, pathname, options);

/** A WebSocket handshake: 'open' (with the protocol the server chose), a status code, or 'error'. */
function wsAttempt(headers: Record<string, string>, origin?: string, protocols?: string[]): Promise<string> {
  return new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${carrier.port}/api/ws`, protocols, { headers, origin });
    ws.once('open', () => {
      ws.close();
      resolve(`open ${ws.protocol}`);
    });
    ws.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    ws.once('error', () => resolve('error'));
  });
}

/** Errors nobody handled while `work` ran: an 'error' event without a listener ends up here. */
async function uncaughtDuring(work: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (error: unknown): void => {
    seen.push(error);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  try {
    await work();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  }
  return seen;
}

const auth = (): Record<string, string> => ({ authorization: `Bearer ${carrier.token}` });
const callApi = (method: unknown, args: unknown, headers: Record<string, string> = auth()) =>
  request('/api/call', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ method, args }),
  });

describe('browser carrier', () => {
  it('uses a token of at least 128 bits and listens on loopback', () => {
    expect(Buffer.from(carrier.token, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(carrier.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('refuses to listen on a non-loopback address', async () => {
    await expect(startBrowserCarrier({ core, host: '0.0.0.0', staticDir: dir })).rejects.toThrow(/loopback/);
    await expect(startBrowserCarrier({ core, host: '198.18.0.1', staticDir: dir })).rejects.toThrow(
      /loopback/,
    );
  });

  it('refuses API requests without the token or with a wrong one', async () => {
    expect((await callApi('app.info', {}, {})).status).toBe(401);
    expect((await callApi('app.info', {}, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await request('/api/call?token=' + carrier.token, { method: 'POST' })).status).toBe(401);
    expect((await request('/?token=wrong')).status).toBe(401);
    // The renderer's files are public build output; only the API holds data.
    const page = await request('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.body).toContain('Patchdeck');
  });

  it('refuses a foreign Host header (DNS rebinding) and a foreign Origin', async () => {
    const rebinding = await request('/', { headers: { host: `evil.example:${carrier.port}`, ...auth() } });
    expect(rebinding.status).toBe(421);
    const crossSite = await callApi('app.info', {}, { ...auth(), origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);
    const otherPort = await callApi(
      'app.info',
      {},
      { ...auth(), origin: `http://127.0.0.1:${carrier.port + 1}` },
    );
    expect(otherPort.status).toBe(403);
  });

  it('carries the token in the launch URL’s fragment, never in a cookie another port would receive', async () => {
    const launch = new URL(carrier.launchUrl);
    expect(launch.search).toBe('');
    expect(launch.hash).toBe(`#token=${carrier.token}`);
    // Cookies are not isolated by port (RFC 6265 §8.5): none is set, and none is accepted.
    const legacy = await request(`/?token=${carrier.token}`);
    expect(legacy.headers['set-cookie']).toBeUndefined();
    expect((await request('/')).headers['set-cookie']).toBeUndefined();
    const cookie = `patchdeck_token=${carrier.token}`;
    expect((await callApi('app.info', {}, { cookie })).status).toBe(401);
    expect(await wsAttempt({ cookie }, `http://127.0.0.1:${carrier.port}`)).toBe('401');
  });

  it('redirects a token in the query string to / only, never to a path from the request', async () => {
    for (const target of ['/', '/.//evil.com/', '/%2F%2Fevil.com/', '/hosts/..//evil.com', '//evil.com/']) {
      const res = await request(`${target}?token=${carrier.token}`);
      expect(res.status, target).toBe(303);
      expect(res.headers.location, target).toBe(`/#token=${carrier.token}`);
    }
  });

  it('opens with a single-use launch code that expires, so a command line never holds the token', async () => {
    let clock = 1_000_000;
    const timed = await startBrowserCarrier({
      core,
      staticDir: path.join(dir, 'static'),
      launchCodeTtlMs: 10_000,
      now: () => clock,
    });
    try {
      const exchange = (code: unknown, headers: Record<string, string> = {}) =>
        rawRequest(timed.port, '/api/launch', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ code }),
        });
      const codeOf = (launchUrl: string): string => {
        const url = new URL(launchUrl);
        expect(url.search).toBe('');
        expect(launchUrl).not.toContain(timed.token);
        return /^#code=([A-Za-z0-9_-]{43})$/.exec(url.hash)![1]!;
      };
      const code = codeOf(timed.createLaunchUrl());
      // A wrong guess, or one from another origin, neither works nor spends the code.
      expect((await exchange('x'.repeat(43))).status).toBe(401);
      expect((await exchange(code, { origin: 'http://evil.example' })).status).toBe(403);
      const first = await exchange(code);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toEqual({ ok: true, value: { token: timed.token } });
      const again = await exchange(code);
      expect(again.status).toBe(401);
      expect(JSON.parse(again.body).error.message).toMatch(/already used or has expired/);
      // A code older than its lifetime is refused; one just inside it works.
      const late = codeOf(timed.createLaunchUrl());
      clock += 10_000;
      expect((await exchange(late)).status).toBe(401);
      const inTime = codeOf(timed.createLaunchUrl());
      clock += 9_999;
      expect((await exchange(inTime)).status).toBe(200);
      for (const junk of [null, 42, { code: [] }]) {
        const res = await rawRequest(timed.port, '/api/launch', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(junk),
        });
        expect(res.status).toBe(401);
      }
    } finally {
      await timed.close();
    }
  });

  it('does not serve files outside the renderer folder', async () => {
    const res = await request('/..%2fsecret.txt', { headers: auth() });
    expect(res.body).not.toContain('outside the static folder');
  });

  it('survives a file in the renderer folder that cannot be read', async () => {
    // A socket file exists and is no directory, but opening it fails (ENXIO), even for root.
    const unreadable = net.createServer();
    await new Promise<void>((resolve) => unreadable.listen(path.join(dir, 'static', 'busy.sock'), resolve));
    try {
      const errors = await uncaughtDuring(async () => {
        await expect(request('/busy.sock', { headers: auth() })).rejects.toThrow();
      });
      expect(errors).toEqual([]);
      expect((await request('/', { headers: auth() })).status).toBe(200);
    } finally {
      await new Promise((resolve) => unreadable.close(resolve));
    }
  });

  it('carries calls and maps bad input to clear errors', async () => {
    const info = JSON.parse((await callApi('app.info', {})).body);
    expect(info).toMatchObject({ ok: true, value: { name: 'Patchdeck', carrier: 'browser' } });
    expect(JSON.parse((await callApi('nope.nothing', {})).body)).toMatchObject({
      ok: false,
      error: { code: 'unknown-method' },
    });
    expect(JSON.parse((await callApi('hosts.get', { id: -1 })).body)).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
    const notJson = await request('/api/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: '{',
    });
    expect(notJson.status).toBe(400);
    const formPost = await request('/api/call', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...auth() },
      body: '{}',
    });
    expect(formPost.status).toBe(415);
  });

  it('carries calls and events over an authenticated WebSocket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${carrier.port}/api/ws`, {
      headers: { authorization: `Bearer ${carrier.token}` },
      origin: `http://127.0.0.1:${carrier.port}`,
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const messages: { type: string; id?: number; event?: string; ok?: boolean; value?: unknown }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.send(JSON.stringify({ id: 1, method: 'settings.set', args: { patch: { theme: 'dark' } } }));
    ws.send(JSON.stringify({ id: 2, method: 'settings.set', args: { patch: { theme: 'neon' } } }));
    ws.send('not json');
    await expect.poll(() => messages.length, { timeout: 2000 }).toBeGreaterThanOrEqual(4);
    expect(messages.find((m) => m.id === 1)).toMatchObject({ type: 'result', ok: true });
    expect(messages.find((m) => m.id === 2)).toMatchObject({ type: 'result', ok: false });
    expect(messages.find((m) => m.type === 'event')).toMatchObject({ event: 'entity.changed' });
    expect(messages.find((m) => m.type === 'error')).toBeTruthy();
    ws.close();
  });

  it('carries an error as data, { code, message, details }, on HTTP and on the WebSocket', async () => {
    const wanted = {
      ok: false,
      error: {
        code: 'bad-request',
        message: expect.stringMatching(/^Invalid arguments for hosts\.update: patch: /),
        details: { issues: [{ path: ['patch'], message: expect.any(String) }] },
      },
    };
    const args = { id: 1, patch: { evil: true } };
    expect(JSON.parse((await callApi('hosts.update', args)).body)).toMatchObject(wanted);
    const ws = new WebSocket(`ws://127.0.0.1:${carrier.port}/api/ws`, {
      headers: { authorization: `Bearer ${carrier.token}` },
      origin: `http://127.0.0.1:${carrier.port}`,
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const answer = new Promise<unknown>((resolve) =>
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; id?: number };
        if (message.type === 'result' && message.id === 7) resolve(message);
      }),
    );
    ws.send(JSON.stringify({ id: 7, method: 'hosts.update', args }));
    expect(await answer).toMatchObject({ type: 'result', id: 7, ...wanted });
    ws.close();
  });

  it('closes a WebSocket that sends a message above the size limit, and keeps serving', async () => {
    let code = 0;
    const errors = await uncaughtDuring(async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${carrier.port}/api/ws`, {
        headers: { authorization: `Bearer ${carrier.token}` },
        origin: `http://127.0.0.1:${carrier.port}`,
      });
      ws.on('error', () => {});
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send('x'.repeat(2 * 1024 * 1024));
      code = await new Promise<number>((resolve) => ws.once('close', resolve));
    });
    expect(errors).toEqual([]);
    expect(code).toBe(1009);
    expect((await callApi('app.info', {})).status).toBe(200);
  });

  it('refuses WebSocket handshakes without the token or from another origin', async () => {
    const own = `http://127.0.0.1:${carrier.port}`;
    expect(await wsAttempt({}, own)).toBe('401');
    expect(await wsAttempt({}, own, ['patchdeck', 'patchdeck.token.wrong'])).toBe('401');
    expect(await wsAttempt({ authorization: `Bearer ${carrier.token}` }, 'http://evil.example')).toBe('403');
    expect(
      await wsAttempt({}, 'http://evil.example', ['patchdeck', `patchdeck.token.${carrier.token}`]),
    ).toBe('403');
    expect(await wsAttempt({ authorization: `Bearer ${carrier.token}` })).not.toMatch(/^open/);
  });

  it('takes the token as a WebSocket subprotocol, as a browser must send it, and never echoes it', async () => {
    const own = `http://127.0.0.1:${carrier.port}`;
    expect(await wsAttempt({}, own, ['patchdeck', `patchdeck.token.${carrier.token}`])).toBe(
      'open patchdeck',
    );
  });

  it('answers 400 to a request target that is no URL, and keeps serving', async () => {
    const raw = (head: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = net.connect(carrier.port, '127.0.0.1', () => socket.end(head));
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
      });
    let plain = '';
    let upgrade = '';
    const errors = await uncaughtDuring(async () => {
      plain = await raw(`GET http://[/ HTTP/1.1\r\nHost: 127.0.0.1:${carrier.port}\r\n\r\n`);
      upgrade = await raw(
        `GET http://[/ HTTP/1.1\r\nHost: 127.0.0.1:${carrier.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
      );
    });
    expect(errors).toEqual([]);
    expect(plain).toBe('HTTP/1.1 400 Bad Request');
    expect(upgrade).toBe('HTTP/1.1 400 Bad Request');
    expect((await callApi('app.info', {})).status).toBe(200);
  });

  it('survives a client that resets the connection while its handshake is refused', async () => {
    const errors = await uncaughtDuring(async () => {
      const socket = net.connect(carrier.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      // No token: the carrier answers 401 and writes into a connection the client already reset.
      socket.write(
        `GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:${carrier.port}\r\nOrigin: http://127.0.0.1:${carrier.port}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      socket.resetAndDestroy();
    });
    expect(errors).toEqual([]);
    expect((await callApi('app.info', {})).status).toBe(200);
  });
});
