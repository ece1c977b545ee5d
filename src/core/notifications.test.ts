import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppNotification, Task } from '../api/schemas';
import { EventBus } from '../api';
import { completeAudit, createMemoryWorkspace, startAudit, writeSettings } from '../db';
import { createNodePlatform, type Platform } from '../platform';
import { Core } from './core';
import { TaskRunner } from '../tasks';
import { startNotifications, taskNotification } from './notifications';

/**
 * Notifications say what the task says: an audit of hosts on a loopback port that was just closed
 * (every connection really refused) notifies "failed" with its summary, through the platform's OS
 * notifications where it has them, or as an event for browser mode where it has none.
 */
let closedPort = 0;
const dirs: string[] = [];
const cores: Core[] = [];
beforeAll(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
});
afterEach(async () => {
  for (const core of cores.splice(0)) await core.closeWorkspace();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function open(options: { osNotifications: boolean; carrier?: 'browser' | 'cli' | 'test' }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-notify-'));
  dirs.push(dir);
  const shown: AppNotification[] = [];
  const node = createNodePlatform({ configDir: dir, useKeychain: false });
  // The desktop's Platform shows OS notifications (electron/platform.ts, tested there); here a
  // Platform that has them records what it was asked to show.
  const platform: Platform = options.osNotifications
    ? {
        ...node,
        async notify(n) {
          shown.push({ ...n, taskId: null });
          return true;
        },
      }
    : node;
  const core = new Core({ platform, carrier: options.carrier ?? 'test' });
  cores.push(core);
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  const events: AppNotification[] = [];
  core.events.subscribe((event, payload) => {
    if (event === 'notification') events.push(payload as AppNotification);
  });
  return { core, shown, events };
}

async function failingAudit(core: Core): Promise<number> {
  const a = await core.call('hosts.add', { name: 'down01', address: '127.0.0.1', sshPort: closedPort });
  const b = await core.call('hosts.add', { name: 'down02', address: '127.0.0.1', sshPort: closedPort });
  const { taskId } = await core.call('audits.start', { hostIds: [a.id, b.id] });
  await core.requireWorkspace().tasks.wait(taskId);
  return taskId;
}

describe('notifications when work finishes', () => {
  it('are off until Settings turns them on', async () => {
    const { core, shown, events } = await open({ osNotifications: true });
    expect((await core.call('settings.get', {})).notifyWhenWorkFinishes).toBe(false);
    await failingAudit(core);
    expect(shown).toEqual([]);
    expect(events).toEqual([]);
  });

  it('go through the OS where the platform has notifications, with the task’s own summary', async () => {
    const { core, shown, events } = await open({ osNotifications: true });
    await core.call('settings.set', { patch: { notifyWhenWorkFinishes: true } });
    const taskId = await failingAudit(core);
    const task = (await core.call('tasks.list', {})).find((t) => t.id === taskId)!;
    expect(task.summary).toBe('0 of 2 hosts succeeded, 2 failed');
    await expect.poll(() => shown.length).toBe(1);
    expect(shown).toEqual([
      { title: 'Audit 2 hosts — failed', body: task.summary, tone: 'danger', taskId: null },
    ]);
    // Never both: the browser event is only for platforms without notifications.
    expect(events).toEqual([]);
  });

  it('go to the browser as an event where the platform has none (browser mode)', async () => {
    const { core, events } = await open({ osNotifications: false, carrier: 'browser' });
    await core.call('settings.set', { patch: { notifyWhenWorkFinishes: true } });
    const taskId = await failingAudit(core);
    expect(events).toEqual([
      { title: 'Audit 2 hosts — failed', body: '0 of 2 hosts succeeded, 2 failed', tone: 'danger', taskId },
    ]);
  });

  it('say which hosts need a reboot after an audit that found it', async () => {
    const { core, events } = await open({ osNotifications: false });
    await core.call('settings.set', { patch: { notifyWhenWorkFinishes: true } });
    const ws = core.requireWorkspace();
    const web = await core.call('hosts.add', { name: 'web01', address: '198.18.0.11' });
    const db2 = await core.call('hosts.add', { name: 'db01', address: '198.18.0.12' });
    // A task of the audit kind whose audits are recorded with the real repository functions.
    const { task } = ws.tasks.start({ kind: 'audit', title: 'Audit 2 hosts' }, async (ctx) => {
      for (const [host, reboot] of [
        [web, true],
        [db2, false],
      ] as const)
        completeAudit(ws.db, startAudit(ws.db, { hostId: host.id, taskId: ctx.taskId }), {
          osId: 'debian',
          osName: 'Debian GNU/Linux',
          osVersion: '12',
          kernel: '6.1.0',
          packageManager: 'apt',
          metadataAgeSeconds: 60,
          rebootRequired: reboot,
          warnings: [],
          durationMs: 1,
          findings: [],
        });
      ctx.conclude({ parts: { noun: 'host', total: 2, succeeded: 2, failed: 0 } });
    });
    await ws.tasks.wait(task.id);
    expect(events).toEqual([
      { title: 'Audit 2 hosts — succeeded', body: '2 of 2 hosts succeeded', tone: 'ok', taskId: task.id },
      {
        title: 'web01 needs a reboot',
        body: 'web01 needs a reboot to finish installing updates.',
        tone: 'warn',
        taskId: task.id,
      },
    ]);
  });

  it('are not sent by the CLI, which prints its own closing line', async () => {
    const { core, shown, events } = await open({ osNotifications: true, carrier: 'cli' });
    await core.call('settings.set', { patch: { notifyWhenWorkFinishes: true } });
    await failingAudit(core);
    expect(shown).toEqual([]);
    expect(events).toEqual([]);
  });
});

describe('startNotifications', () => {
  it('needs only events, the open workspace, the notify door and a logger, not the whole core', async () => {
    const db = createMemoryWorkspace();
    writeSettings(db, { notifyWhenWorkFinishes: true });
    const events = new EventBus();
    const tasks = new TaskRunner(db, events);
    const shown: { title: string; body: string }[] = [];
    const warnings: string[] = [];
    const stop = startNotifications({
      events,
      workspace: { db },
      platform: {
        async notify(n) {
          shown.push({ title: n.title, body: n.body });
          return true;
        },
      },
      logger: { warn: (message) => warnings.push(message) },
    });
    try {
      const { task } = tasks.start({ kind: 'audit', title: 'Audit 4 hosts' }, async (ctx) => {
        ctx.conclude({ parts: { noun: 'host', total: 4, succeeded: 4, failed: 0 } });
      });
      await tasks.wait(task.id);
      expect(shown).toEqual([{ title: 'Audit 4 hosts — succeeded', body: '4 of 4 hosts succeeded' }]);
      expect(warnings).toEqual([]);
    } finally {
      stop();
      await tasks.shutdown();
      db.close();
    }
  });
});

describe('taskNotification', () => {
  const task = (over: Partial<Task>): Task =>
    ({
      id: 7,
      kind: 'patch',
      title: 'Patch job #2: Security updates',
      status: 'succeeded',
      outcome: 'succeeded',
      summary: '2 of 2 hosts succeeded',
      error: null,
      progressDone: 2,
      progressTotal: 2,
      message: null,
      createdAt: '2026-12-01T00:00:00.000Z',
      startedAt: '2026-12-01T00:00:00.000Z',
      finishedAt: '2026-12-01T00:01:00.000Z',
      ...over,
    }) as Task;
  it('is quiet only for real success: hosts that wait for their reboot are worth a sound', () => {
    expect(taskNotification(task({})).tone).toBe('ok');
    const waiting = taskNotification(
      task({ outcome: 'reboot-pending', summary: '0 of 2 hosts succeeded, 2 installed, reboot pending' }),
    );
    expect(waiting.tone).toBe('warn');
    expect(waiting.title).toBe('Patch job #2: Security updates — installed, reboot pending');
    expect(taskNotification(task({ status: 'failed', outcome: 'partly-failed' })).tone).toBe('danger');
  });
});
