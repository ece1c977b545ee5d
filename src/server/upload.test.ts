/**
 * The browser carrier's upload route over real HTTP on loopback, into a real Core (real workspace
 * file, real task runner, the real KEV and EPSS files): who may upload, what is kept on disk and
 * for how long, and that `advisories.import { uploads }` imports what was uploaded and then
 * deletes it.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core, UploadRegistry } from '../core';
import { uploadDisplayName } from '../core/uploads';
import { createNodePlatform } from '../platform';
import { startBrowserCarrier, type BrowserCarrier } from './browser-carrier';

const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures/advisories');
const KEV = path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const EPSS = path.join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz');
/** The cap of the test's registry: the EPSS file (2.7 MB) fits, 4 MiB of zeros does not. */
const CAP = 3 * 1024 * 1024;

let dir: string;
let uploadsBase: string;
let core: Core;
let carrier: BrowserCarrier;
let origin: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-upload-'));
  uploadsBase = path.join(dir, 'tmp');
  fs.mkdirSync(uploadsBase);
  fs.mkdirSync(path.join(dir, 'static'));
  fs.writeFileSync(path.join(dir, 'static', 'index.html'), '<!doctype html><title>Patchdeck</title>');
  core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'browser',
    uploads: new UploadRegistry({ baseDir: uploadsBase, maxBytes: CAP, reserveBytes: 0 }),
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  carrier = await startBrowserCarrier({ core, staticDir: path.join(dir, 'static') });
  origin = `http://127.0.0.1:${carrier.port}`;
});
afterAll(async () => {
  await carrier?.close();
  await core?.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every file under the uploads' base folder (the registry's private folder and what is in it). */
function filesOnDisk(base = uploadsBase): string[] {
  return fs
    .readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

type Answer = { status: number; headers: http.IncomingHttpHeaders; json: unknown };

/**
 * A real POST. `body` is a Buffer (sent with its Content-Length) or chunks sent one by one with
 * chunked encoding (no length declared), as a stream of unknown size comes.
 */
function upload(
  name: string | null,
  body: Buffer | Buffer[],
  headers: Record<string, string | number> = {},
  port = carrier.port,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const query = name === null ? '' : `?name=${encodeURIComponent(name)}`;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/upload${query}`,
        method: 'POST',
        headers: {
          host: `127.0.0.1:${port}`,
          ...(Buffer.isBuffer(body) ? { 'content-length': body.length } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // Kept as text.
          }
          resolve({ status: res.statusCode!, headers: res.headers, json });
        });
      },
    );
    // The server may answer and close before the whole body went: that is the answer we want.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
    );
    if (Buffer.isBuffer(body)) req.end(body);
    else {
      const rest = [...body];
      const next = (): void => {
        const chunk = rest.shift();
        if (!chunk) req.end();
        else if (req.write(chunk)) setImmediate(next);
        else req.once('drain', next);
      };
      next();
    }
  });
}
const good = (): Record<string, string> => ({ authorization: `Bearer ${carrier.token}`, origin });

async function taskEnded(taskId: number) {
  for (;;) {
    const task = (await core.call('tasks.list', {})).find((t) => t.id === taskId);
    if (task && task.status !== 'running' && task.status !== 'queued') return task;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /api/upload', () => {
  it('refuses a missing or wrong token (401) and writes nothing', async () => {
    const bytes = fs.readFileSync(KEV);
    const missing = await upload('kev.json', bytes, { origin });
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const wrong = await upload('kev.json', bytes, { origin, authorization: `Bearer ${'x'.repeat(43)}` });
    expect(wrong.status).toBe(401);
    // The token's own length, one character off: the compare is on the whole value.
    const offByOne = carrier.token.slice(0, -1) + (carrier.token.endsWith('A') ? 'B' : 'A');
    expect((await upload('kev.json', bytes, { origin, authorization: `Bearer ${offByOne}` })).status).toBe(
      401,
    );
    expect(filesOnDisk()).toEqual([]);
    expect(core.uploads.pending).toBe(0);
  });

  it('refuses another Origin, and a request with none, as the WebSocket does (403), writing nothing', async () => {
    const bytes = Buffer.from('{"catalogVersion":"1"}');
    const elsewhere = await upload('kev.json', bytes, { ...good(), origin: 'http://evil.example' });
    expect(elsewhere.status).toBe(403);
    const otherPort = await upload('kev.json', bytes, { ...good(), origin: 'http://127.0.0.1:1' });
    expect(otherPort.status).toBe(403);
    const none = await upload('kev.json', bytes, { authorization: `Bearer ${carrier.token}` });
    expect(none.status).toBe(403);
    // A Host naming something else (DNS rebinding) is refused too.
    const rebound = await upload('kev.json', bytes, { ...good(), host: `evil.example:${carrier.port}` });
    expect(rebound.status).toBe(421);
    expect(filesOnDisk()).toEqual([]);
  });

  it('refuses a declared size over the cap before writing, and removes a streamed one that passes it', async () => {
    const declared = await upload('big.zip', Buffer.alloc(CAP + 1), good());
    expect(declared.status).toBe(413);
    expect(JSON.stringify(declared.json)).toContain('the most Patchdeck takes in one upload');
    expect(filesOnDisk()).toEqual([]);
    // No length declared: the route finds out while writing, refuses, and deletes the partial file.
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024));
    const streamed = await upload('big.zip', chunks, good());
    expect(streamed.status).toBe(413);
    expect(filesOnDisk()).toEqual([]);
    expect(core.uploads.pending).toBe(0);
    // The carrier still answers afterwards.
    expect((await upload(null, Buffer.from('x'), good())).status).toBe(400);
  });

  it('refuses an upload that would leave the disk short of its reserve (507), writing nothing', async () => {
    const registry = new UploadRegistry({ baseDir: uploadsBase, reserveBytes: Number.MAX_SAFE_INTEGER });
    const other = new Core({
      platform: createNodePlatform({ configDir: dir, useKeychain: false }),
      carrier: 'browser',
      uploads: registry,
    });
    const second = await startBrowserCarrier({ core: other, staticDir: path.join(dir, 'static') });
    try {
      const answer = await upload(
        'kev.json',
        fs.readFileSync(KEV),
        { authorization: `Bearer ${second.token}`, origin: `http://127.0.0.1:${second.port}` },
        second.port,
      );
      expect(answer.status).toBe(507);
      expect(JSON.stringify(answer.json)).toContain('Not enough free disk space');
      expect(filesOnDisk()).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('keeps an upload private under a random name, and advisories.import imports it, then deletes it', async () => {
    const kev = await upload('../../etc/known_exploited_vulnerabilities.json', fs.readFileSync(KEV), good());
    expect(kev.status).toBe(200);
    const value = (kev.json as { ok: true; value: { uploadId: string; name: string; bytes: number } }).value;
    expect(value.name).toBe('known_exploited_vulnerabilities.json');
    expect(value.bytes).toBe(fs.statSync(KEV).size);
    const epss = await upload(path.basename(EPSS), fs.readFileSync(EPSS), good());
    expect(epss.status).toBe(200);
    const epssId = (epss.json as { value: { uploadId: string } }).value.uploadId;

    const stored = filesOnDisk();
    expect(stored).toHaveLength(2);
    const folder = path.dirname(stored[0]!);
    expect(fs.statSync(folder).mode & 0o777).toBe(0o700);
    for (const file of stored) {
      expect(fs.statSync(file).mode & 0o077).toBe(0);
      expect(path.basename(file)).not.toMatch(/known|epss|etc/);
    }
    expect(fs.readFileSync(stored.find((f) => fs.statSync(f).size === value.bytes)!)).toEqual(
      fs.readFileSync(KEV),
    );

    const { taskId } = await core.call('advisories.import', { uploads: [value.uploadId, epssId] });
    const task = await taskEnded(taskId);
    expect(task).toMatchObject({ status: 'succeeded', outcome: 'succeeded' });
    const status = await core.call('advisories.status', {});
    expect(status.counts.kev).toBe(1404);
    expect(status.feeds.map((f) => f.fileName).sort()).toEqual([
      path.basename(EPSS),
      'known_exploited_vulnerabilities.json',
    ]);
    // Imported, the files are gone (the private folder too), and the ids are spent.
    expect(filesOnDisk()).toEqual([]);
    expect(fs.existsSync(folder)).toBe(false);
    const again = await core.router.call('advisories.import', { uploads: [epssId] }, { carrier: 'browser' });
    expect(again).toMatchObject({ ok: false, error: { code: 'not-found' } });
    if (!again.ok) expect(again.error.message).toContain('upload the file again');
  });

  it('deletes an upload whose import fails, and an unknown id fails the call with nothing taken', async () => {
    const junk = await upload('notes.txt', Buffer.from('not an advisory file\n'), good());
    expect(junk.status).toBe(200);
    const junkId = (junk.json as { value: { uploadId: string } }).value.uploadId;
    const kept = await upload('kev.json', fs.readFileSync(KEV), good());
    const keptId = (kept.json as { value: { uploadId: string } }).value.uploadId;

    // One unknown id among good ones: a clear error, and the good upload is still there to use.
    const unknown = await core.router.call(
      'advisories.import',
      { uploads: [keptId, 'A'.repeat(32)] },
      { carrier: 'browser' },
    );
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not-found' } });
    if (!unknown.ok) expect(unknown.error.message).toMatch(/^No finished upload has the id A{32}/);
    expect(core.uploads.pending).toBe(2);

    const { taskId } = await core.call('advisories.import', { uploads: [junkId] });
    const task = await taskEnded(taskId);
    expect(task.status).toBe('failed');
    expect(task.summary ?? '').toContain('refused');
    expect(filesOnDisk()).toHaveLength(1);
    // The carrier stopping deletes uploads nobody imported.
    core.uploads.discardUnclaimed();
    expect(filesOnDisk()).toEqual([]);
  });
});

describe('uploadDisplayName', () => {
  it('keeps the last path part, printable and short, never a path', () => {
    expect(uploadDisplayName('C:\\Users\\me\\kev.json')).toBe('kev.json');
    expect(uploadDisplayName('a/b/../epss.csv.gz')).toBe('epss.csv.gz');
    expect(uploadDisplayName('ev\u0000il\u001b[31m\u202e.json')).toBe('evil[31m.json');
    expect(uploadDisplayName('..')).toBe('upload');
    expect(uploadDisplayName('')).toBe('upload');
    expect(uploadDisplayName('x'.repeat(5000))).toHaveLength(200);
  });
});
