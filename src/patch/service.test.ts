import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobOptions } from '../api/schemas';
import { Core } from '../core';
import { insertHost, insertJob, listSteps, updateJob, updateStep } from '../db';
import { createNodePlatform } from '../platform';

let dir: string;
let core: Core;
let ws: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-resume-'));
  ws = path.join(dir, 'ws.sqlite');
  core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'cli',
  });
  await core.openWorkspace(ws, { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('resume of a job stopped after its last host finished', () => {
  it('settles the job from its steps instead of refusing and leaving it interrupted', async () => {
    const db = core.requireWorkspace().db;
    const hosts = ['web01', 'web02'].map((name) => insertHost(db, { name, address: '127.0.0.1' }));
    const jobId = insertJob(db, {
      name: 'security updates',
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 2,
      options: JobOptions.parse({}),
      steps: hosts.map((h) => ({
        hostId: h.id,
        packageManager: 'apt',
        packages: [{ name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-1+deb12u1', security: true }],
      })),
    });
    // What a run leaves when the process dies right after its last step was committed as done.
    updateJob(db, jobId, { status: 'running', approvedBy: 'admin', approvedAt: '2026-01-01T00:00:00Z' });
    for (const s of listSteps(db, jobId)) updateStep(db, s.id, { status: 'succeeded', phase: 'done' });
    await core.closeWorkspace();

    await core.openWorkspace(ws); // the next open records the crash
    expect((await core.call('jobs.get', { id: jobId })).job.status).toBe('interrupted');
    const resumed = await core.call('jobs.resume', { id: jobId });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.message).toMatch(/every host had finished before Patchdeck stopped/);
    expect((await core.call('jobs.list', {})).filter((j) => j.status === 'interrupted')).toEqual([]);
  });
});
