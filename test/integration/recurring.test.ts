import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labStatus, labUp, resetHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { Core } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import type { ScheduleRun } from '../../src/api/schedule-schemas';
import { assertLabRoute, enrolLab } from './support';

/**
 * A scheduled audit on real lab hosts, with Patchdeck "closed" across its time the way the app
 * is: the Core over the workspace file is dropped, the run falls due, a Core is made again. The
 * missed run is reported and made up once at start-up, as an ordinary audit task whose findings
 * are the lab's ground truth; the host without the tag is left alone.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-recurring-'));
const wsPath = path.join(dir, 'ws.sqlite');

async function openCore(): Promise<Core> {
  const core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(wsPath, { create: 'if-missing' });
  return core;
}

async function lateRun(core: Core, id: number): Promise<ScheduleRun> {
  for (let i = 0; i < 600; i++) {
    const run = (await core.call('schedules.runs', { id })).find((r) => r.status === 'late' && r.taskId);
    if (run) {
      await core.requireWorkspace().tasks.wait(run.taskId!);
      return (await core.call('schedules.runs', { id })).find((r) => r.id === run.id)!;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the missed run was never made up');
}

describeAsRoot('scheduled audits on lab hosts', () => {
  let lab: LabInventory;
  let core: Core | null = null;
  let ids: Map<string, number>;

  beforeAll(async () => {
    lab = await labUp({ hosts: 2, profile: 'security' });
    assertLabRoute(lab);
    for (const h of lab.hosts) await resetHost(h.name);
    lab = labStatus();
    core = await openCore();
    ids = await enrolLab(core, lab);
  });
  afterAll(async () => {
    await core?.closeWorkspace();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a nightly audit missed while Patchdeck was closed runs once at the next start and finds the ground truth', async () => {
    const [tagged, other] = lab.hosts;
    await core!.call('hosts.update', { id: ids.get(tagged!.name)!, patch: { tags: ['office'] } });
    const schedule = await core!.call('schedules.create', {
      name: 'nightly office audit',
      target: { kind: 'audit', tag: 'office' },
      recurrence: { every: 'day', at: '02:00', timeZone: 'UTC' },
    });
    await core!.closeWorkspace();
    core = null;
    // Closed across last night's 02:00 (and the one before).
    const due = new Date(Date.parse(schedule.nextRunAt!) - 2 * 86_400_000).toISOString();
    const file = new BetterSqlite3(wsPath);
    file.prepare('UPDATE schedules SET next_run_at = ? WHERE id = ?').run(due, schedule.id);
    file.close();

    core = await openCore();
    const run = await lateRun(core, schedule.id);
    expect(run.task, run.task?.error ?? '').toMatchObject({ kind: 'audit', status: 'succeeded' });
    expect(run.task!.title).toBe(`Scheduled "nightly office audit" (late): Audit ${tagged!.name}`);
    const [missed] = (await core.call('schedules.runs', { id: schedule.id })).filter(
      (r) => r.status === 'missed',
    );
    expect(missed).toMatchObject({ missedCount: 2, dueAt: due });

    const [audit] = await core.call('audits.forHost', { hostId: ids.get(tagged!.name)! });
    expect(audit!.status, audit!.errorMessage ?? '').toBe('succeeded');
    expect(audit!.updatesCount).toBe(tagged!.pending.length);
    // The host without the tag was not audited.
    expect(await core.call('audits.forHost', { hostId: ids.get(other!.name)! })).toEqual([]);
  });
});
