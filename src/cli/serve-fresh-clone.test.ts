import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packageRoot } from '../util/package-root';
import { ensureRendererBuilt, rendererBuildsDir } from './renderer-build';

// A fresh clone: the checkout's files and its installed node_modules, but no out/ folder at all.
// `npx patchdeck serve` there must show the app, not "The renderer is not built".
let clone: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  const root = packageRoot();
  clone = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-clone-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f && !f.startsWith('test/') && !f.startsWith('bench/'));
  for (const file of files) {
    const from = path.join(root, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    fs.copyFileSync(from, path.join(clone, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(clone, 'node_modules'));
  expect(fs.existsSync(path.join(clone, 'out'))).toBe(false);
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  fs.rmSync(clone, { recursive: true, force: true });
});

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode!, type: res.headers['content-type'] ?? '', body }),
        );
      })
      .on('error', reject);
  });
}

interface Serve {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/** `patchdeck serve` of the clone, as a user runs it; resolves once it has printed its URL. */
async function serve(): Promise<Serve> {
  const child = spawn(
    process.execPath,
    [path.join(clone, 'bin', 'patchdeck.mjs'), '--json', '-w', path.join(clone, 'ws.sqlite'), 'serve'],
    {
      cwd: clone,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATCHDECK_PASSPHRASE: 'x'.repeat(20) },
    },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = await new Promise<{ url: string }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      try {
        resolve(JSON.parse(stdout) as { url: string });
      } catch {
        // not the whole document yet
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, url: started.url, stderr: () => stderr };
}

async function stop(server: Serve): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** The page a serve answers, and every asset it references (by digest), each the file it is (not the page). */
async function page(server: Serve): Promise<{ index: string; assets: Map<string, string> }> {
  const index = await get(new URL('/', server.url).href);
  expect(index.status).toBe(200);
  expect(index.body).toMatch(/<div id="root">/);
  const refs = [...index.body.matchAll(/(?:src|href)="(\.?\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(refs.length).toBeGreaterThanOrEqual(2); // the script and the stylesheet
  const assets = new Map<string, string>();
  for (const ref of refs) {
    const asset = await get(new URL(ref, server.url).href);
    expect(asset.status, ref).toBe(200);
    // A missing asset would come back as the page itself (the single-page fallback).
    expect(asset.type, ref).toMatch(/javascript|css/);
    expect(asset.body, ref).not.toMatch(/<div id="root">/);
    // A digest, so a failure shows which asset differs rather than all of its text.
    assets.set(ref, createHash('sha256').update(asset.body).digest('hex'));
  }
  return { index: index.body, assets };
}

it(
  'serve from a fresh clone builds the renderer first and serves the app',
  { timeout: 120_000 },
  async () => {
    const server = await serve();
    const served = await get(new URL('/', server.url).href);
    expect(served.body).not.toMatch(/not built/);
    expect(served.status).toBe(200);
    await page(server);
    // --json keeps stdout machine-readable: the build's progress went to stderr.
    expect(server.stderr()).toMatch(/Building the renderer/);
    await stop(server);
    // The next serve finds it fresh and builds nothing.
    const again = await serve();
    await page(again);
    expect(again.stderr()).not.toMatch(/Building|Rebuilding/);
    await stop(again);
  },
);

it(
  'a second serve that finds the build stale rebuilds beside the first, which keeps serving its own build whole',
  { timeout: 180_000 },
  async () => {
    const first = await serve();
    const before = await page(first);
    // The renderer's sources change (a style, so the stylesheet's hashed name changes too).
    fs.appendFileSync(path.join(clone, 'renderer', 'styles.css'), '\n.rebuilt-marker { color: #123456; }\n');
    // Two more serves at once: one builds, the other waits for that build instead of making its own.
    const [second, third] = await Promise.all([serve(), serve()]);
    const rebuilt = [second, third].filter((s) => /Rebuilding the renderer/.test(s.stderr()));
    expect(rebuilt).toHaveLength(1);
    const after = await page(second);
    expect(await page(third)).toEqual(after);
    const css = [...after.assets.keys()].find((ref) => ref.endsWith('.css'))!;
    expect((await get(new URL(css, second.url).href)).body).toMatch(/rebuilt-marker/);
    expect(after.index).not.toBe(before.index);
    // The first serve still answers the page it started with, and every asset that page references.
    expect(await page(first)).toEqual(before);
    expect(fs.existsSync(path.join(rendererBuildsDir(clone), '.lock'))).toBe(false);
    // Once the first has stopped, a later build may prune its build; the others keep theirs.
    await stop(first);
    fs.appendFileSync(path.join(clone, 'renderer', 'styles.css'), '\n.rebuilt-again { color: #654321; }\n');
    const fourth = await serve();
    expect(fourth.stderr()).toMatch(/Rebuilding the renderer/);
    expect(await page(second)).toEqual(after);
    expect(await page(third)).toEqual(after);
    const builds = fs
      .readdirSync(rendererBuildsDir(clone), { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'in-use');
    expect(builds).toHaveLength(2); // the one the second and third serve, and the new current one
    await Promise.all([stop(second), stop(third), stop(fourth)]);
  },
);

it(
  'leaves a fresh build alone, and copies a fresh `npm run build:renderer` output rather than building',
  { timeout: 120_000 },
  async () => {
    const lines: string[] = [];
    const fresh = await ensureRendererBuilt({ root: clone, log: (l) => lines.push(l) });
    expect(fresh.state).toBe('fresh');
    expect(fs.realpathSync(fresh.dir)).toBe(fresh.dir);
    fresh.release();
    fs.appendFileSync(path.join(clone, 'renderer', 'styles.css'), '\n.built-by-npm { color: #abcdef; }\n');
    execFileSync('npm', ['run', 'build:renderer', '--silent'], { cwd: clone, stdio: 'ignore' });
    const copied = await ensureRendererBuilt({ root: clone, log: (l) => lines.push(l) });
    expect(copied.state).toBe('stale');
    expect(lines).toEqual([]); // nothing built
    expect(copied.dir).not.toBe(fresh.dir);
    expect(fs.readFileSync(path.join(copied.dir, 'index.html'), 'utf8')).toBe(
      fs.readFileSync(path.join(clone, 'out', 'renderer', 'index.html'), 'utf8'),
    );
    copied.release();
  },
);
