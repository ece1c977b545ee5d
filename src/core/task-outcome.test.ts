import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOptions, type StepPreview, type TargetPackage } from '../api/schemas';
import { completeAudit, insertJob, listSteps, startAudit, updateStep } from '../db';
import { createNodePlatform } from '../platform';
import { Core } from './core';

/**
 * Issue 10, bug 1: an audit where every host failed and a patch job where 2 of 3 hosts failed both
 * ended as "succeeded". Hosts point at a loopback port that was just closed, so every connection
 * is really refused, on this machine only.
 */
let dir: string;
let core: Core;
let closedPort = 0;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-task-outcome-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

const TOOL: TargetPackage = { name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-2', security: true };
const preview: StepPreview = {
  command: 'apt-get -s install --only-upgrade acme-tool',
  upgrades: [{ name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-2' }],
  newPackages: [],
  removals: [],
  skipped: [],
  ranAt: new Date().toISOString(),
};

describe('a task says how its parts went', () => {
  it('an audit in which every host failed is failed, with "0 of 2 hosts succeeded, 2 failed"', async () => {
    const a = await core.call('hosts.add', { name: 'down01', address: '127.0.0.1', sshPort: closedPort });
    const b = await core.call('hosts.add', { name: 'down02', address: '127.0.0.1', sshPort: closedPort });
    const { taskId } = await core.call('audits.start', { hostIds: [a.id, b.id] });
    const task = await core.requireWorkspace().tasks.wait(taskId);
    expect(task).toMatchObject({
      status: 'failed',
      outcome: 'failed',
      summary: '0 of 2 hosts succeeded, 2 failed',
    });
    // The list the window reads says the same.
    const listed = (await core.call('tasks.list', {})).find((t) => t.id === taskId);
    expect(listed).toMatchObject({ outcome: 'failed', summary: '0 of 2 hosts succeeded, 2 failed' });
  });

  it('a patch job in which 2 of 3 hosts failed is partly failed, never succeeded', async () => {
    const db = core.requireWorkspace().db;
    const hosts = [];
    for (const name of ['web01', 'web02', 'web03']) {
      const host = await core.call('hosts.add', { name, address: '127.0.0.1', sshPort: closedPort });
      completeAudit(db, startAudit(db, { hostId: host.id, taskId: null }), {
        osId: 'debian',
        osName: 'Debian GNU/Linux',
        osVersion: '12',
        kernel: '6.1.0',
        packageManager: 'apt',
        metadataAgeSeconds: 60,
        rebootRequired: false,
        warnings: [],
        durationMs: 1,
        findings: [
          {
            kind: 'package',
            package: TOOL.name,
            arch: TOOL.arch,
            installedVersion: TOOL.from!,
            availableVersion: TOOL.to,
            repository: 'bookworm-security',
            security: true,
            severity: null,
            vendorSeverity: null,
            advisories: [],
            held: false,
            rebootRequired: null,
          },
        ],
      });
      hosts.push(host);
    }
    const jobId = insertJob(db, {
      name: 'Security updates',
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 4,
      options: JobOptions.parse({}),
      steps: hosts.map((h) => ({ hostId: h.id, packages: [TOOL], packageManager: 'apt' })),
    });
    const steps = listSteps(db, jobId);
    for (const s of steps) updateStep(db, s.id, { phase: 'planned', preview });
    // web01 is already patched (the state a re-run of failed hosts starts from); the approval
    // covers the two hosts still queued.
    updateStep(db, steps[0]!.id, { status: 'succeeded', phase: 'done' });
    await core.call('jobs.approve', { id: jobId });
    const started = await core.call('jobs.start', { id: jobId });
    const task = await core.requireWorkspace().tasks.wait(started.taskId!);
    expect(task).toMatchObject({
      title: `Patch job #${jobId}: Security updates`,
      status: 'failed',
      outcome: 'partly-failed',
      summary: '1 of 3 hosts succeeded, 2 failed',
    });
  });
});
