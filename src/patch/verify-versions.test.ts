/**
 * The apt step's lighter checks, driven through the real Linux flow on a real in-memory
 * workspace, with an apt host in memory that answers the real scripts the phases send: the
 * pre-check repeats the dry run only when the host's package-state fingerprint moved (and then
 * still refuses what was not approved), and the verification compares the installed versions the
 * after-install snapshot read (no re-audit on the step's path; a host left at the old version
 * fails). The lab test (test/integration/patch.test.ts) runs the same flow on real apt hosts.
 */
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../api/event-bus';
import { JobOptions, type JobStep, type PatchJob } from '../api/schemas';
import {
  createMemoryWorkspace,
  getHost,
  getJob,
  getStep,
  insertHost,
  insertJob,
  listAudits,
  listJobLog,
  listSteps,
  updateJob,
  updateStep,
} from '../db';
import type { RunOptions, RunResult, SshSession } from '../remote';
import { ManualClock } from '../util/clock';
import { driveStep } from './driver';
import { commitStep } from './notify';
import { LINUX_STEP_FLOW, newStepState } from './phases';
import type { PatchDeps } from './plan';

const PRINT = 'a'.repeat(64);
const MOVED = 'b'.repeat(64);

/** An apt host: installed versions, what its dry run would list, its fingerprint. */
class AptHost {
  installed: Record<string, string> = { 'acme-tool': '1.0-1' };
  fingerprint = PRINT;
  /** What `apt-get -s install` lists (besides the target). */
  extraInst: string[] = [];
  installTakes = true;
  dryRuns = 0;
  installs = 0;

  answer(command: string, options?: RunOptions): RunResult {
    const nonce = /@@PATCHDECK:([0-9a-f]+):begin:/.exec(command)?.[1];
    if (!nonce) throw new Error(`the apt host does not know: ${command.slice(0, 200)}`);
    const names = [
      ...new Set([...command.matchAll(/@@PATCHDECK:[0-9a-f]+:begin:([a-z0-9-]+)'/g)].map((m) => m[1]!)),
    ];
    let head = '';
    if (command.includes('setsid sh -c')) {
      this.installs++;
      if (this.installTakes) this.installed['acme-tool'] = '1.1-1';
      head = `Unpacking acme-tool (1.1-1) over (1.0-1) ...\n@@PATCHDECK:${nonce}:installed:0\n`;
      options?.onStdout?.(head);
    }
    const expected = /\[ "\$pd_fp" = '([0-9a-f]{64})' \]/.exec(command)?.[1];
    const body = (name: string): string => {
      switch (name) {
        case 'disk':
          return '900000\n900000\n900000';
        case 'reboot':
          return 'no';
        case 'before':
        case 'after':
          return Object.entries(this.installed)
            .map(([n, v]) => `${n} ${v} ii`)
            .join('\n');
        case 'fingerprint':
          return this.fingerprint;
        case 'dryrun':
          if (expected && expected === this.fingerprint) return 'pd-package-state-unchanged';
          this.dryRuns++;
          return ['Inst acme-tool [1.0-1] (1.1-1 lab:stable [all])', ...this.extraInst].join('\n');
        default:
          return '';
      }
    };
    let stdout = head;
    let stderr = '';
    for (const name of names) {
      stdout += `\n@@PATCHDECK:${nonce}:begin:${name}\n${body(name)}\n@@PATCHDECK:${nonce}:end:${name}:0\n`;
      stderr += `\n@@PATCHDECK:${nonce}:begin:${name}\n\n@@PATCHDECK:${nonce}:end:${name}:0\n`;
    }
    return { stdout, stderr, code: 0 };
  }
}

let db: Database;
let deps: PatchDeps;
let host: AptHost;
const template = createMemoryWorkspace().serialize();

beforeEach(() => {
  db = new BetterSqlite3(template);
  db.pragma('foreign_keys = ON');
  deps = { db, secrets: {} as PatchDeps['secrets'], actor: 'admin', events: new EventBus() };
  host = new AptHost();
});

function makeStep(): { job: PatchJob; step: JobStep } {
  const hostId = insertHost(db, { name: 'deb01', address: '127.0.0.1' }).id;
  const jobId = insertJob(db, {
    name: 'updates',
    selection: { mode: 'all' },
    rebootPolicy: 'never',
    onFailure: 'continue',
    concurrency: 1,
    options: JobOptions.parse({}),
    steps: [
      {
        hostId,
        packageManager: 'apt',
        packages: [{ name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.1-1', security: true }],
      },
    ],
  });
  const stepId = listSteps(db, jobId)[0]!.id;
  updateStep(db, stepId, {
    phase: 'approved',
    preview: {
      command: 'apt-get -s -q install --only-upgrade acme-tool=1.1-1',
      upgrades: [{ name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.1-1' }],
      newPackages: [],
      removals: [],
      skipped: [],
      ranAt: '2026-03-01T11:00:00.000Z',
      fingerprint: PRINT,
    },
  });
  updateJob(db, jobId, { status: 'running' });
  return { job: getJob(db, jobId)!, step: getStep(db, stepId)! };
}

async function drive() {
  const { job, step } = makeStep();
  const session = {
    isOpen: true,
    hostKey: { type: 'ssh-ed25519', fingerprint: 'SHA256:x', publicKey: null },
    run: (command: string, options?: RunOptions) => Promise.resolve(host.answer(command, options)),
    close: () => undefined,
  } as unknown as SshSession;
  const state = newStepState({
    deps,
    job,
    step,
    host: getHost(db, step.hostId)!,
    pm: 'apt',
    signal: new AbortController().signal,
    open: () => Promise.resolve(session),
    clock: new ManualClock('2026-03-02T02:00:00Z'),
  });
  const status = await driveStep(LINUX_STEP_FLOW, state, {
    commit: (patch) => commitStep(deps, step.id, patch),
    signal: new AbortController().signal,
    now: () => new Date().toISOString(),
  });
  const final = getStep(db, step.id)!;
  return {
    status,
    step: final,
    log: listJobLog(db, job.id).map((e) => e.text),
    audits: listAudits(db, step.hostId).length,
  };
}

describe('the apt step: fingerprinted pre-check, verification by installed versions', () => {
  it('an unchanged fingerprint skips the second dry run; the versions verify the step, no audit on its path', async () => {
    const r = await drive();
    expect(r.status).toBe('succeeded');
    expect(host.dryRuns).toBe(0);
    expect(host.installs).toBe(1);
    expect(r.log.some((l) => /package state unchanged since the approved dry run/.test(l))).toBe(true);
    expect(r.log.at(-1)).toBe(
      'verified by installed versions (dpkg-query): 1 update(s) installed at the approved versions',
    );
    expect(r.step.after).toEqual({ 'acme-tool': '1.1-1' });
    // The refresh audit follows the job (src/patch/refresh.ts), not the step.
    expect(r.audits).toBe(0);
    expect(r.step.verifyAuditId).toBeNull();
  });

  it('a moved fingerprint dry-runs again, and a change that was not approved installs nothing', async () => {
    host.fingerprint = MOVED;
    host.extraInst = ['Inst acme-extra (2.0-1 lab:stable [all])'];
    const r = await drive();
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('not-approved');
    expect(host.dryRuns).toBe(1);
    expect(host.installs).toBe(0);
    expect(r.log.some((l) => /package state moved since the approved dry run; dry run again/.test(l))).toBe(
      true,
    );
  });

  it('a moved fingerprint whose dry run still matches the approval installs', async () => {
    host.fingerprint = MOVED;
    const r = await drive();
    expect(r.status).toBe('succeeded');
    expect(host.dryRuns).toBe(1);
    expect(host.installs).toBe(1);
  });

  it('an install that left the old version fails its verification with both versions named', async () => {
    host.installTakes = false;
    const r = await drive();
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('verify-failed');
    expect(r.step.errorMessage).toBe(
      'Still pending after the install: acme-tool (wanted 1.1-1, installed 1.0-1).',
    );
    expect(r.log.some((l) => /verified/.test(l))).toBe(false);
  });
});
