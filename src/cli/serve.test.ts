import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packageRoot } from '../util/package-root';

// `patchdeck serve --open` as a real process, with a stand-in `xdg-open` first on PATH that
// records the argv it was given: what every local user would read in `ps`.
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-serve-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'static'));
  fs.writeFileSync(path.join(dir, 'static', 'index.html'), '<!doctype html><title>Patchdeck</title>');
  const opener = path.join(dir, 'bin', 'xdg-open');
  fs.writeFileSync(
    opener,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${path.join(dir, 'argv')}.tmp"\nmv "${path.join(dir, 'argv')}.tmp" "${path.join(dir, 'argv')}"\n`,
  );
  fs.chmodSync(opener, 0o755);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function post(port: number, pathname: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        method: 'POST',
        headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

it('serve --open hands the browser opener a single-use launch code, never the token', async () => {
  const child = spawn(
    process.execPath,
    [
      path.join(packageRoot(), 'bin', 'patchdeck.mjs'),
      '--json',
      '-w',
      path.join(dir, 'ws.sqlite'),
      'serve',
      '--open',
      '--static',
      path.join(dir, 'static'),
    ],
    {
      env: {
        ...process.env,
        PATH: `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
        PATCHDECK_CONFIG_DIR: path.join(dir, 'config'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await expect
      .poll(() => stdout.includes('}\n') || child.exitCode !== null, { timeout: 15_000 })
      .toBe(true);
    expect(child.exitCode, stderr).toBeNull();
    const printed = JSON.parse(stdout) as { url: string; port: number };
    const token = /#token=([A-Za-z0-9_-]+)$/.exec(printed.url)![1]!;
    const argvFile = path.join(dir, 'argv');
    await expect.poll(() => fs.existsSync(argvFile), { timeout: 10_000 }).toBe(true);
    const argv = fs.readFileSync(argvFile, 'utf8').trim().split('\n');
    expect(argv).toHaveLength(1);
    expect(argv[0]).not.toContain(token);
    const code = new RegExp(`^http://127\\.0\\.0\\.1:${printed.port}/#code=([A-Za-z0-9_-]{43})$`).exec(
      argv[0]!,
    )?.[1];
    expect(code, argv[0]).toBeDefined();
    // The page trades the code for the token once; whoever comes second gets nothing.
    const first = await post(printed.port, '/api/launch', { code });
    expect(JSON.parse(first.body)).toEqual({ ok: true, value: { token } });
    const second = await post(printed.port, '/api/launch', { code });
    expect(second.status).toBe(401);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
});
