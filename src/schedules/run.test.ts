/**
 * Recurring work through a real Core, a real workspace file and a real SSH server on 127.0.0.1
 * (ssh2's): a schedule due while Patchdeck was closed is reported when the app opens the
 * workspace again, and its audit runs then as an ordinary task that reaches the host. A CLI
 * command, whose process does not live on, neither runs nor swallows it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleRun } from '../api/schedule-schemas';
import { Core } from '../core';
import { listAuditLog } from '../db';
import { createNodePlatform } from '../platform';
import { ed25519KeyPair } from '../remote/testing/keys';

let server: ssh2.Server;
let port = 0;
const logins: string[] = [];

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [ed25519KeyPair().private] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey') {
        logins.push(ctx.username);
        ctx.accept();
      } else ctx.reject(['publickey']);
    });
    // In, but no command runs: the audit reaches the host and fails there, as a real refusal would.
    client.on('session', (_accept, reject) => reject());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let dir: string;
let core: Core | null;
const open = async (carrier: 'test' | 'cli' = 'test') => {
  const c = new Core({
    platform: createNodePlatform({ configDir: join(dir, 'config'), useKeychain: false }),
    carrier,
  });
  await c.openWorkspace(join(dir, 'ws.sqlite'), { create: 'if-missing' });
  return c;
};
beforeEach(async () => {
  logins.length = 0;
  dir = mkdtempSync(join(tmpdir(), 'pd-sched-run-'));
  core = await open();
});
afterEach(async () => {
  await core?.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

/** A host on the loopback server, tagged, with its key reviewed and a key credential. */
async function enrol(c: Core, tags: string[]) {
  const host = await c.call('hosts.add', { name: 'office-pc', address: '127.0.0.1', sshPort: port });
  await c.call('hosts.update', { id: host.id, patch: { tags } });
  const shown = await c.call('hosts.trust', { id: host.id, pin: false });
  await c.call('hosts.trust', { id: host.id, fingerprint: shown.fingerprint });
  await c.call('credentials.add', {
    name: 'robot',
    username: 'robot',
    kind: 'key',
    secret: ed25519KeyPair().private,
    scope: ['*'],
  });
  return host;
}

/** Polls the schedule's runs until one has a finished task (bounded; nothing here waits on a clock). */
async function finishedRun(c: Core, id: number, status: ScheduleRun['status']): Promise<ScheduleRun> {
  for (let i = 0; i < 400; i++) {
    const run = (await c.call('schedules.runs', { id })).find((r) => r.status === status && r.taskId);
    if (run) {
      await c.requireWorkspace().tasks.wait(run.taskId!);
      return (await c.call('schedules.runs', { id })).find((r) => r.id === run.id)!;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${status} run with a task for schedule ${id}`);
}

describe('scheduled audits', () => {
  it('a run missed while the app was closed is reported at the next start and its audit reaches the host', async () => {
    const host = await enrol(core!, ['Office']);
    const schedule = await core!.call('schedules.create', {
      name: 'nightly office audit',
      target: { kind: 'audit', tag: 'office' },
      recurrence: { every: 'day', at: '02:00', timeZone: 'Europe/Berlin' },
    });
    expect(schedule).toMatchObject({
      when: 'every day at 02:00 (Europe/Berlin)',
      what: 'audit inventory hosts tagged "office"',
      ifMissed: 'run-once',
      lastRun: null,
      overdueSince: null,
    });
    expect(Date.parse(schedule.nextRunAt!)).toBeGreaterThan(Date.now());
    await core!.closeWorkspace();

    // A CLI command opens the workspace meanwhile: it neither runs the schedule nor reports it away.
    const due = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const file = new BetterSqlite3(join(dir, 'ws.sqlite'));
    file.prepare('UPDATE schedules SET next_run_at = ? WHERE id = ?').run(due, schedule.id);
    file.close();
    const cli = await open('cli');
    const seenByCli = (await cli.call('schedules.list', {}))[0]!;
    expect(seenByCli.overdueSince).toBe(due);
    expect(seenByCli.lastMissed).toBeNull();
    await cli.closeWorkspace();
    expect(logins).toEqual([]);

    // The app opens it: the scheduler's first pass reports the missed runs and makes one up, late.
    core = await open();
    const late = await finishedRun(core, schedule.id, 'late');
    expect(late.message).toMatch(/^Late: made up at start-up for the run due /);
    expect(late.task).toMatchObject({ kind: 'audit', status: 'failed' });
    expect(late.task!.title).toBe('Scheduled "nightly office audit" (late): Audit office-pc');
    expect(logins).toContain('robot');
    const audits = await core.call('audits.forHost', { hostId: host.id });
    expect(audits[0]).toMatchObject({ status: 'failed' });
    const listed = (await core.call('schedules.list', {}))[0]!;
    expect(listed.overdueSince).toBeNull();
    expect(listed.lastRun).toMatchObject({ id: late.id, status: 'late' });
    expect(listed.lastMissed).toMatchObject({ status: 'missed', dueAt: due });
    expect(listed.lastMissed!.missedCount).toBeGreaterThanOrEqual(2);
    expect(listed.lastMissed!.message).toMatch(
      /while Patchdeck was not running\. Running it once now, late\.$/,
    );
    expect(Date.parse(listed.nextRunAt!)).toBeGreaterThan(Date.now());
  });

  it('a tag no inventory host carries makes a failed task that says so', async () => {
    await enrol(core!, ['office']);
    const schedule = await core!.call('schedules.create', {
      name: 'lab audit',
      target: { kind: 'audit', tag: 'lab' },
      recurrence: { every: 'interval', minutes: 60 },
    });
    const run = await core!.call('schedules.runNow', { id: schedule.id });
    expect(run).toMatchObject({ status: 'failed', trigger: 'manual' });
    expect(run.task).toMatchObject({ status: 'failed', error: 'No inventory host carries the tag "lab".' });
    expect(logins).toEqual([]);
    const log = listAuditLog(core!.requireWorkspace().db, { entityType: 'schedule' });
    expect(log.map((e) => e.action).sort()).toEqual(['schedule.create', 'schedule.run']);
  });
});

describe('scheduled discovery', () => {
  it('scans the range the admin named, as an ordinary scan task', async () => {
    const schedule = await core!.call('schedules.create', {
      name: 'loopback sweep',
      target: { kind: 'discovery', targets: '127.0.0.1', ports: String(port) },
      recurrence: { every: 'day', at: '03:00', timeZone: 'UTC', days: ['sat'] },
    });
    expect(schedule.what).toBe('discover 127.0.0.1');
    const run = await core!.call('schedules.runNow', { id: schedule.id });
    const task = await core!.requireWorkspace().tasks.wait(run.taskId!);
    expect(task).toMatchObject({ kind: 'discovery', status: 'succeeded' });
    const scans = await core!.call('scans.list', {});
    expect(scans[0]).toMatchObject({ targets: '127.0.0.1', ports: [port] });
  });

  it('refuses targets it could never scan, and a range above a /16 even when confirmed', async () => {
    const create = (target: Record<string, unknown>) =>
      core!.call('schedules.create', {
        name: `s${Math.random()}`,
        target: { kind: 'discovery', ...target } as never,
        recurrence: { every: 'interval', minutes: 60 },
      });
    await expect(create({ targets: '999.1.1.1' })).rejects.toThrow(/Cannot scan these targets/);
    await expect(create({ targets: '10.0.0.0/15', confirm: true })).rejects.toThrow(
      /131,070 addresses: a scheduled scan covers at most a \/16/,
    );
    await expect(create({ targets: '10.0.0.0/8', confirm: true })).rejects.toThrow();
    await expect(create({ targets: '10.0.0.0/20' })).rejects.toThrow(/Confirm to scan them all/);
    await expect(create({ targets: '127.0.0.1', ports: '70000' })).rejects.toThrow(/70000/);
    await expect(create({ networkId: 4242 })).rejects.toThrow(/Saved network 4242 does not exist/);
    expect(await core!.call('schedules.list', {})).toEqual([]);
  });
});

describe('editing schedules', () => {
  it('names are unique, a new time counts from now, switched off it has no next run', async () => {
    const s = await core!.call('schedules.create', {
      name: 'weekly',
      target: { kind: 'audit' },
      recurrence: { every: 'interval', minutes: 10_080 },
    });
    await expect(
      core!.call('schedules.create', {
        name: 'WEEKLY',
        target: { kind: 'audit' },
        recurrence: { every: 'interval', minutes: 60 },
      }),
    ).rejects.toThrow(/already exists/);
    const off = await core!.call('schedules.update', { id: s.id, patch: { enabled: false } });
    expect(off).toMatchObject({ enabled: false, nextRunAt: null });
    const on = await core!.call('schedules.update', {
      id: s.id,
      patch: { enabled: true, recurrence: { every: 'interval', minutes: 60 } },
    });
    expect(Date.parse(on.nextRunAt!) - Date.now()).toBeLessThanOrEqual(3600_000);
    await expect(
      core!.call('schedules.update', {
        id: s.id,
        patch: { recurrence: { every: 'day', at: '02:00', timeZone: 'Nowhere/Land' } },
      }),
    ).rejects.toThrow(/time zone/);
    expect(await core!.call('schedules.remove', { id: s.id })).toEqual({ removed: true });
    await expect(core!.call('schedules.runNow', { id: s.id })).rejects.toThrow(/does not exist/);
  });
});
