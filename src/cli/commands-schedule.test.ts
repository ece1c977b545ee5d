import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEvery } from './commands-schedule';
import { runCli } from './testing/run-cli';

let dir: string;
let ws: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-sched-'));
  ws = path.join(dir, 'ws.sqlite');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the real CLI in its own process (the sources through tsx). */
const patchdeck = (...args: string[]) => runCli(args, { workspace: ws, configDir: path.join(dir, 'config') });

describe('patchdeck schedule', () => {
  it('adds, lists, runs and removes a schedule; a failed run exits non-zero; an overdue run is shown, not run', async () => {
    const added = await patchdeck(
      'schedule',
      'add',
      'nightly office',
      '--audit',
      '--tag',
      'office',
      '--daily',
      '02:00',
      '--tz',
      'Europe/Berlin',
      '--days',
      'mon,tue,wed,thu,fri',
    );
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(
      /^Schedule 1 "nightly office": audit inventory hosts tagged "office", Mon, Tue, Wed, Thu, Fri at 02:00 \(Europe\/Berlin\)\. Next run \d{4}-\d\d-\d\d \d\d:\d\d UTC, while the app or `patchdeck serve` is running\.\n$/,
    );
    expect(added.code).toBe(0);

    // No host carries the tag: the run is a failed task, and the command says so and fails.
    const run = await patchdeck('schedule', 'run', 'Nightly Office');
    expect(run.stdout).toBe(
      'nightly office: failed: No inventory host carries the tag "office". (task 1).\n',
    );
    expect(run.code).toBe(1);

    // Closed across its time: the CLI shows it overdue and leaves it for the app to report.
    const db = new BetterSqlite3(ws);
    db.prepare(`UPDATE schedules SET next_run_at = '2026-01-05T01:00:00.000Z'`).run();
    db.close();
    const list = await patchdeck('schedule', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('due 2026-01-05 01:00 UTC, not run yet');
    expect(list.stdout).toMatch(
      /Overdue runs are reported, and made up once where the schedule says so, when the app or `patchdeck serve` next starts\./,
    );
    const json = JSON.parse((await patchdeck('--json', 'schedule', 'list')).stdout) as {
      overdueSince: string;
      lastMissed: unknown;
    }[];
    expect(json[0]).toMatchObject({ overdueSince: '2026-01-05T01:00:00.000Z', lastMissed: null });

    expect((await patchdeck('schedule', 'disable', '1')).stdout).toBe(
      'Schedule 1 "nightly office" is off.\n',
    );
    expect((await patchdeck('schedule', 'remove', 'nightly office')).stdout).toBe(
      'Removed schedule 1 "nightly office".\n',
    );
    expect((await patchdeck('schedule', 'list')).stdout).toMatch(/^No schedules yet\./);
  });

  it('refuses what it cannot schedule with one clear line', async () => {
    const refuse = async (args: string[], message: RegExp) => {
      const r = await patchdeck('schedule', 'add', 'x', ...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    await refuse(['--daily', '02:00'], /Say what to run/);
    await refuse(['--audit'], /Say when/);
    await refuse(['--audit', '--daily', '25:00', '--tz', 'UTC'], /HH:MM/);
    await refuse(['--audit', '--daily', '02:00', '--tz', 'Nowhere/Land'], /time zone/);
    await refuse(['--audit', '--every', '5'], /--every is at least 15 minutes and at most 31 days\./);
    await refuse(['--discover', '10.0.0.0/15', '--yes', '--every', '1h'], /at most a \/16/);
  });

  it('reads intervals as minutes, hours or days', () => {
    expect(parseEvery('90')).toBe(90);
    expect(parseEvery('6h')).toBe(360);
    expect(parseEvery('2d')).toBe(2880);
    expect(() => parseEvery('6 weeks')).toThrow(/--every takes minutes/);
    expect(() => parseEvery('32d')).toThrow(/at most 31 days/);
  });
});
