import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertHost, listSteps, updateJob, updateStep } from '../db';
import { insertTestJob } from '../db/testing/jobs';
import { createWorkspace } from '../db/workspace';
import { runCli } from './testing/run-cli';

/**
 * Issue 10, bug 1, on the command line: a run in which any host failed exits 1 and ends with the
 * task's own summary line. The real CLI in its own process; hosts on a loopback port just closed.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-exit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const patchdeck = (...args: string[]) => runCli(args, { configDir: path.join(dir, 'config') });

const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

describe('exit codes and the closing summary line', () => {
  it('patchdeck audit: every host failed → exit 1 and "failed: 0 of 2 hosts succeeded, 2 failed"', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    const port = await closedPort();
    insertHost(db, { name: 'down01', address: '127.0.0.1', sshPort: port });
    insertHost(db, { name: 'down02', address: '127.0.0.1', sshPort: port });
    db.close();
    const run = await patchdeck('-w', ws, 'audit');
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      'Audit 2 hosts — failed: 0 of 2 hosts succeeded, 2 failed.',
    );
    expect(run.stdout).not.toMatch(/— succeeded/);
  }, 60_000);

  it('patchdeck jobs show: exit 1 for a job whose hosts failed, 0 for one that succeeded', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    const host = insertHost(db, { name: 'web01', address: '127.0.0.1' });
    const job = (name: string, status: 'succeeded' | 'failed') => {
      const id = insertTestJob(db, [host.id], { name, selection: { mode: 'all' } });
      for (const s of listSteps(db, id)) updateStep(db, s.id, { status, phase: 'done' });
      updateJob(db, id, { status, finishedAt: new Date().toISOString() });
      return id;
    };
    const failed = job('broken', 'failed');
    const fine = job('fine', 'succeeded');
    db.close();
    const bad = await patchdeck('-w', ws, 'jobs', 'show', String(failed));
    expect(bad.stderr).toBe('');
    expect(bad.stdout).toContain(`Job ${failed}: broken — failed`);
    expect(bad.code).toBe(1);
    expect((await patchdeck('-w', ws, '--json', 'jobs', 'show', String(failed))).code).toBe(1);
    const good = await patchdeck('-w', ws, 'jobs', 'show', String(fine));
    expect(good.code).toBe(0);
  }, 60_000);
});
