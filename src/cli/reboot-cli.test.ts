/**
 * `patchdeck hosts reboot HOST --at TIME` and `patchdeck jobs reboot` in real CLI processes over
 * a real workspace file: a reboot at a time becomes a scheduled job of its own (which the app or
 * `patchdeck serve` runs), recorded in the audit log; refusals name what is wrong. Nothing here
 * reaches a host (the reboot itself, and its re-audit, are tested against the lab).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOptions } from '../api/schemas';
import {
  completeAudit,
  createWorkspace,
  insertHost,
  insertJob,
  listAuditLog,
  listJobs,
  listSteps,
  openWorkspace,
  startAudit,
  updateJob,
  updateStep,
} from '../db';
import { cliArgv, cliEnv, runCli, runProcess, type ProcessResult } from './testing/run-cli';

let dir: string;
let ws: string;
let webId: number;

const patchdeck = (...args: string[]) =>
  runCli(args, { workspace: ws, configDir: path.join(dir, 'config'), env: { PATCHDECK_PASSPHRASE: 'x' } });

/** The CLI on a terminal of its own (util-linux `script` gives it a pty), answering `answer`. */
function onTerminal(answer: string, ...args: string[]): Promise<ProcessResult> {
  const argv = [process.execPath, ...cliArgv(args, ws)];
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return runProcess('script', ['-qec', quoted, '/dev/null'], {
    env: cliEnv(path.join(dir, 'config'), { PATCHDECK_PASSPHRASE: 'x' }),
    input: `${answer}\n`,
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-reboot-'));
  ws = path.join(dir, 'ws.sqlite');
  const db = createWorkspace(ws);
  const web = insertHost(db, { name: 'web01', address: '127.0.0.1' });
  webId = web.id;
  insertHost(db, { name: 'never-audited', address: '127.0.0.2' });
  const audit = startAudit(db, { hostId: web.id, taskId: null });
  completeAudit(db, audit, {
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 0,
    rebootRequired: true,
    warnings: [],
    durationMs: 1,
    findings: [],
  });
  db.close();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('patchdeck hosts reboot / jobs reboot', () => {
  it('--at schedules a reboot job of its own, says when and what runs it, and logs who asked', async () => {
    const at = new Date(Date.now() + 3_600_000);
    const r = await patchdeck('hosts', 'reboot', 'web01', '--at', at.toISOString(), '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Job \d+ \(Reboot web01\) is scheduled for /);
    expect(r.stdout).toMatch(/runs while the Patchdeck app or `patchdeck serve` is running/);
    const db = openWorkspace(ws);
    try {
      const [job] = listJobs(db);
      expect(job).toMatchObject({ name: 'Reboot web01', status: 'scheduled', rebootPolicy: 'always' });
      expect(Date.parse(job!.scheduledAt!)).toBe(at.getTime());
      expect(listAuditLog(db, { entityType: 'host' }).some((e) => e.action === 'host.reboot')).toBe(true);
      expect(listAuditLog(db, { entityType: 'patch_job' }).map((e) => e.action)).toEqual(
        expect.arrayContaining(['job.approve', 'job.schedule']),
      );
    } finally {
      db.close();
    }
  });

  it('refuses a time in the past, a host never audited, and a job with no host waiting for a reboot', async () => {
    const past = await patchdeck('hosts', 'reboot', 'web01', '--at', '2001-01-01T00:00:00Z');
    expect(past.code).not.toBe(0);
    expect(past.stderr).toMatch(/not in the future/);
    const unaudited = await patchdeck('hosts', 'reboot', 'never-audited', '--yes');
    expect(unaudited.code).not.toBe(0);
    expect(unaudited.stderr).toMatch(/never-audited has no successful audit/);
    const db = openWorkspace(ws);
    const jobId = listJobs(db)[0]!.id;
    db.close();
    const notWaiting = await patchdeck('jobs', 'reboot', String(jobId));
    expect(notWaiting.code).not.toBe(0);
    expect(notWaiting.stderr).toMatch(
      /its hosts can be rebooted once it has ended|no host waiting for a reboot/,
    );
  });

  it('asks before rebooting: on a terminal "Reboot N hosts (names) now?"; without one it refuses unless --yes', async () => {
    const jobsNow = (): number => {
      const db = openWorkspace(ws);
      try {
        return listJobs(db).length;
      } finally {
        db.close();
      }
    };
    const before = jobsNow();
    // No terminal, no --yes: refused with a usage exit, naming --yes; nothing is scheduled or run.
    const now = await patchdeck('hosts', 'reboot', 'web01');
    expect(now.code).toBe(2);
    expect(now.stderr).toMatch(/Not rebooted: there is no terminal to confirm rebooting 1 host \(web01\)/);
    expect(now.stderr).toMatch(/again with --yes/);
    const later = await patchdeck(
      'hosts',
      'reboot',
      'web01',
      '--at',
      new Date(Date.now() + 3_600_000).toISOString(),
    );
    expect(later.code).toBe(2);
    expect(later.stderr).toMatch(/--yes/);
    expect(jobsNow()).toBe(before);

    // On a terminal: the question names the hosts and when; anything but yes changes nothing.
    const no = await onTerminal('n', 'hosts', 'reboot', 'web01');
    expect(no.stdout).toMatch(/Reboot 1 host \(web01\) now\? \[y\/N\]/);
    expect(no.stdout).toMatch(/Not rebooted/);
    expect(no.code).toBe(1);
    expect(jobsNow()).toBe(before);
    const at = new Date(Date.now() + 7_200_000).toISOString();
    const yes = await onTerminal('y', 'hosts', 'reboot', 'web01', '--at', at);
    expect(yes.stdout).toMatch(
      new RegExp(`Reboot 1 host \\(web01\\) at ${at.replace(/\./g, '\\.')}\\? \\[y/N\\]`),
    );
    expect(yes.stdout).toMatch(/is scheduled for /);
    expect(yes.code).toBe(0);
    expect(jobsNow()).toBe(before + 1);

    // patchdeck jobs reboot: the same, over the job's hosts that wait for a reboot.
    const db = openWorkspace(ws);
    const jobId = insertJob(db, {
      name: 'Security updates',
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 4,
      options: JobOptions.parse({}),
      steps: [
        {
          hostId: webId,
          packages: [{ name: 'acme-firmware', arch: null, from: '1', to: '2', security: false }],
          packageManager: 'apt',
        },
      ],
    });
    for (const step of listSteps(db, jobId))
      updateStep(db, step.id, { status: 'reboot-pending', phase: 'done' });
    updateJob(db, jobId, { status: 'succeeded' });
    db.close();
    const job = await patchdeck('jobs', 'reboot', String(jobId));
    expect(job.code).toBe(2);
    expect(job.stderr).toMatch(/no terminal to confirm rebooting 1 host \(web01\)/);
    expect(job.stderr).toMatch(/--yes/);
    const asked = await onTerminal('no', 'jobs', 'reboot', String(jobId));
    expect(asked.stdout).toMatch(/Reboot 1 host \(web01\) now\? \[y\/N\]/);
    expect(asked.code).toBe(1);
    const check = openWorkspace(ws);
    try {
      expect(listSteps(check, jobId)[0]!.status).toBe('reboot-pending');
    } finally {
      check.close();
    }
  }, 60_000); // eight CLI processes, each a cold start of the bundled CLI
});
