import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packageRoot } from '../util/package-root';
import { ensureRendererBuilt, rendererBuildState } from './renderer-build';

// A fresh clone: the checkout's files and its installed node_modules, but no out/ folder at all.
// `npx patchdeck serve` there must show the app, not "The renderer is not built".
let clone: string;
let child: ChildProcess | null = null;

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
  if (child && child.exitCode === null) child.kill('SIGTERM');
  fs.rmSync(clone, { recursive: true, force: true });
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

it(
  'serve from a fresh clone builds the renderer first and serves the app',
  { timeout: 120_000 },
  async () => {
    child = spawn(
      process.execPath,
      [path.join(clone, 'bin', 'patchdeck.mjs'), '--json', '-w', path.join(clone, 'ws.sqlite'), 'serve'],
      {
        cwd: clone,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PATCHDECK_PASSPHRASE: 'x'.repeat(20) },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = await new Promise<{ url: string }>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        try {
          resolve(JSON.parse(stdout) as { url: string });
        } catch {
          // not the whole document yet
        }
      });
      child!.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const page = await get(new URL('/', started.url).href);
    expect(page.body).not.toMatch(/not built/);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<div id="root">/);
    // --json keeps stdout machine-readable: the build's progress went to stderr.
    expect(stderr).toMatch(/Building the renderer/);
    expect(rendererBuildState(clone, path.join(clone, 'out', 'renderer'))).toBe('fresh');
    child.kill('SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
  },
);

it(
  'rebuilds a build older than the renderer sources, and leaves a fresh one alone',
  { timeout: 120_000 },
  async () => {
    const outDir = path.join(clone, 'out', 'renderer');
    if (rendererBuildState(clone, outDir) !== 'fresh') await ensureRendererBuilt({ root: clone });
    expect(await ensureRendererBuilt({ root: clone })).toBe('fresh');
    const index = path.join(outDir, 'index.html');
    fs.utimesSync(index, new Date(0), new Date(0));
    expect(rendererBuildState(clone, outDir)).toBe('stale');
    const lines: string[] = [];
    expect(await ensureRendererBuilt({ root: clone, log: (l) => lines.push(l) })).toBe('stale');
    expect(lines.join('')).toMatch(/Rebuilding the renderer/);
    expect(rendererBuildState(clone, outDir)).toBe('fresh');
    expect(fs.readdirSync(path.dirname(outDir)).filter((n) => n.includes('.building-'))).toEqual([]);
  },
);
