/**
 * `patchdeck hosts reboot HOST --at TIME` and `patchdeck jobs reboot` in real CLI processes over
 * a real workspace file: a reboot at a time becomes a scheduled job of its own (which the app or
 * `patchdeck serve` runs), recorded in the audit log; refusals name what is wrong. Nothing here
 * reaches a host (the reboot itself, and its re-audit, are tested against the lab).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeAudit,
  createWorkspace,
  insertHost,
  listAuditLog,
  listJobs,
  openWorkspace,
  startAudit,
} from '../db';

const CLI = path.resolve(import.meta.dirname, 'index.ts');
let dir: string;
let ws: string;

function patchdeck(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--workspace', ws, ...args], {
      env: { ...process.env, PATCHDECK_CONFIG_DIR: path.join(dir, 'config'), PATCHDECK_PASSPHRASE: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-reboot-'));
  ws = path.join(dir, 'ws.sqlite');
  const db = createWorkspace(ws);
  const web = insertHost(db, { name: 'web01', address: '127.0.0.1' });
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
    const r = await patchdeck('hosts', 'reboot', 'web01', '--at', at.toISOString());
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
    const unaudited = await patchdeck('hosts', 'reboot', 'never-audited');
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
});
