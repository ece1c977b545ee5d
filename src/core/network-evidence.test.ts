/**
 * Which finished work is evidence that the laptop is on the workspace's client's network: tasks
 * of the real runner over a real (in-memory) SQLite workspace, writing the same scan and audit
 * rows the discovery and audit services write.
 */
import { describe, expect, it } from 'vitest';
import { EventBus, type Task } from '../api';
import {
  completeAudit,
  createMemoryWorkspace,
  failAudit,
  insertHost,
  recordScanHost,
  startAudit,
  startScan,
  type ObservedHost,
} from '../db';
import { TaskRunner } from '../tasks';
import { reachedOwnHost } from './network-evidence';

const seen = (address: string, mac: string | null = null): ObservedHost => ({
  address,
  name: null,
  names: [],
  mac,
  macVendor: null,
  osFamily: null,
  osName: null,
  osVersion: null,
  osConfidence: 0,
  osEvidence: [],
  management: [],
  services: [],
  openPorts: [22],
  result: {},
});

function setup() {
  const db = createMemoryWorkspace();
  const tasks = new TaskRunner(db, new EventBus());
  const run = async (kind: string, work: (taskId: number) => void): Promise<Task> => {
    const { task } = tasks.start({ kind, title: kind }, async (ctx) => work(ctx.taskId));
    const done = await tasks.wait(task.id);
    if (!done) throw new Error(`task ${task.id} has no record`);
    return done;
  };
  return { db, run };
}

describe('network evidence', () => {
  it('a scan counts when it found again a host of the inventory, not when it found only new ones', async () => {
    const { db, run } = setup();
    const own = insertHost(db, { name: 'chair1', address: '10.0.0.5' });
    const stranger = insertHost(db, { name: 'printer', address: '10.0.0.9', inInventory: false });
    const scan = (hosts: [ObservedHost, number | null][]) =>
      run('discovery', (taskId) => {
        const scanId = startScan(db, { taskId, targets: '10.0.0.0/24', ports: [22], total: 256 });
        for (const [observed, match] of hosts)
          recordScanHost(db, scanId, observed, match, { addToInventory: true });
      });
    expect(reachedOwnHost(db, await scan([[seen('10.0.0.5'), own.id]]))).toBe(true);
    // New machines, even added to the inventory by this scan, prove nothing; nor does a host
    // seen before but not in the inventory; nor an empty scan.
    expect(reachedOwnHost(db, await scan([[seen('10.0.0.7'), null]]))).toBe(false);
    const outside = await run('discovery', (taskId) => {
      const scanId = startScan(db, { taskId, targets: '10.0.0.9', ports: [22], total: 1 });
      recordScanHost(db, scanId, seen('10.0.0.9'), stranger.id, { addToInventory: false });
    });
    expect(reachedOwnHost(db, outside)).toBe(false);
    expect(reachedOwnHost(db, await scan([]))).toBe(false);
  });

  it('an audit counts when one of its hosts was audited, not when all failed or were skipped', async () => {
    const { db, run } = setup();
    const a = insertHost(db, { name: 'web01', address: '10.0.0.5' });
    const b = insertHost(db, { name: 'web02', address: '10.0.0.6' });
    const fail = (taskId: number, hostId: number) =>
      failAudit(db, startAudit(db, { hostId, taskId }), {
        kind: 'unreachable',
        message: 'refused',
        durationMs: 1,
      });
    const succeed = (taskId: number, hostId: number) =>
      completeAudit(db, startAudit(db, { hostId, taskId }), {
        osId: 'debian',
        osName: 'Debian GNU/Linux',
        osVersion: '12',
        kernel: null,
        packageManager: 'apt',
        metadataAgeSeconds: 0,
        rebootRequired: false,
        warnings: [],
        durationMs: 1,
        findings: [],
      });
    expect(
      reachedOwnHost(
        db,
        await run('audit', (id) => {
          fail(id, a.id);
          succeed(id, b.id);
        }),
      ),
    ).toBe(true);
    expect(
      reachedOwnHost(
        db,
        await run('audit', (id) => {
          fail(id, a.id);
          fail(id, b.id);
        }),
      ),
    ).toBe(false);
    // Every host offline-only: the task "succeeded", yet it reached nobody.
    const skipped = await run('audit', () => undefined);
    expect(skipped.status).toBe('succeeded');
    expect(reachedOwnHost(db, skipped)).toBe(false);
    // A patch job's re-audit reached its host; other work never counts.
    expect(reachedOwnHost(db, await run('patch', (id) => succeed(id, a.id)))).toBe(true);
    expect(reachedOwnHost(db, await run('advisories.import', (id) => succeed(id, a.id)))).toBe(false);
  });
});
