/**
 * The Windows patch phases over a real sealed WinRM session: Patchdeck's client (NTLM, MS-WSMV
 * encryption) against the test bed's endpoint (a real gss-ntlmssp acceptor) in backend mode, with
 * a simulated PC behind it (test/winrm/pc-backend.ts) that answers the flow's scripts in the
 * recorded Windows shapes: the task registered, its receipt appearing after some polls, the
 * session dropped mid-install, the PC away for its restart (the endpoint stopped, then started
 * again on the same port) and back, the re-audit showing the KB gone; and a failing update.
 *
 * What is simulated, not Windows: the PC's answers to the PowerShell (there is no PowerShell here;
 * the scripts themselves have never run on Windows). What is real: authentication, sealing, the
 * WS-Man shell lifecycle, the TCP connections dropping and the endpoint going away.
 */
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { EventBus } from '../../src/api/event-bus';
import { JobOptions, type JobStep, type PatchJob } from '../../src/api/schemas';
import {
  createMemoryWorkspace,
  getHost,
  getJob,
  getStep,
  insertHost,
  insertJob,
  listAuditHotfixes,
  listAudits,
  listJobLog,
  listSteps,
  updateJob,
  updateStep,
} from '../../src/db';
import { driveStep } from '../../src/patch/driver';
import { commitStep } from '../../src/patch/notify';
import { newWindowsStepState, WINDOWS_STEP_FLOW } from '../../src/patch/phases/windows';
import type { PatchDeps } from '../../src/patch/plan';
import { FakePc } from '../../src/patch/testing/fake-pc';
import { RemoteError } from '../../src/remote/errors';
import { WinrmSession, type WinrmConnectOptions } from '../../src/remote/winrm';
import { ManualClock, type ClockTimer } from '../../src/util/clock';
import {
  describeWithTestbed,
  startWinrmEndpoint,
  writeNtlmUserFile,
  type EndpointRequest,
  type WinrmEndpoint,
} from '../winrm/endpoint';
import { startPcBackend, type PcBackend } from '../winrm/pc-backend';
import { withSambaLock } from '../winrm/samba-dc';

const PASSWORD = 'Patch-Pa55word!';
const ID = '8f1c2d3e-4b5a-4c6d-8e7f-901234567890';

const describeTestbed = describeWithTestbed();

/**
 * The flow's waits (poll interval, restart delay) cost 20 ms of real time each, so the real
 * endpoint has time to go away and come back while the step's own clock runs ahead.
 */
class BriskClock extends ManualClock {
  override setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = super.setTimeout(fn, ms);
    setTimeout(() => this.advance(ms), 20);
    return timer;
  }
}

let userFile = '';
let pc: FakePc;
let backend: PcBackend;
let endpoint: WinrmEndpoint | null = null;
let restarting: Promise<void> | null = null;
let seen: EndpointRequest[] = [];

function connectOptions(port: number, pin: string[] = []): WinrmConnectOptions {
  return {
    host: '127.0.0.1',
    port,
    https: false,
    label: 'WIN1',
    login: { method: 'ntlm', domain: 'PATCHDECK', username: 'alice', password: PASSWORD },
    pinnedNtlmIdentities: pin,
    connectTimeoutMs: 5_000,
    maxOutputBytes: 8 * 1024 * 1024,
    maxEnvelopeSize: 153_600,
  };
}

async function pinOf(port: number): Promise<string> {
  const error = (await WinrmSession.connect(connectOptions(port)).catch((e: unknown) => e)) as RemoteError;
  expect(error).toBeInstanceOf(RemoteError);
  expect(error.kind).toBe('host-key-unknown');
  return (error.details.presented as { fingerprint: string }).fingerprint;
}

async function start(port?: number): Promise<WinrmEndpoint> {
  return startWinrmEndpoint({
    mode: { backend: backend.url },
    acceptor: { userFile },
    ...(port ? { port } : {}),
  });
}

async function runStep(options: { rebootPolicy?: PatchJob['rebootPolicy']; rebootOnly?: boolean } = {}) {
  const db: Database = new BetterSqlite3(createMemoryWorkspace().serialize());
  db.pragma('foreign_keys = ON');
  const deps: PatchDeps = { db, secrets: {} as PatchDeps['secrets'], actor: 'admin', events: new EventBus() };
  const hostId = insertHost(db, { name: 'win1', address: '127.0.0.1' }).id;
  const jobId = insertJob(db, {
    name: 'updates',
    selection: { mode: 'all' },
    rebootPolicy: options.rebootPolicy ?? 'if-required',
    onFailure: 'continue',
    concurrency: 1,
    options: JobOptions.parse({ windowsRestartDelaySeconds: 60 }),
    steps: [
      {
        hostId,
        packageManager: 'windows-update',
        // A reboot job of its own (hosts.reboot) has no packages and starts at the reboot.
        packages: options.rebootOnly
          ? []
          : [{ name: 'KB5034441', arch: null, from: null, to: `${ID}.201`, security: true }],
      },
    ],
  });
  updateJob(db, jobId, { status: 'running' });
  if (options.rebootOnly) updateStep(db, listSteps(db, jobId)[0]!.id, { phase: 'reboot' });
  const step: JobStep = listSteps(db, jobId)[0]!;
  const job = getJob(db, jobId)!;
  const port = endpoint!.port;
  const pin = await pinOf(port);
  const controller = new AbortController();
  const state = newWindowsStepState({
    deps,
    job,
    step,
    host: getHost(db, hostId)!,
    pm: 'windows-update' as never,
    signal: controller.signal,
    // The step clock runs ahead of real time, so its time-out signals are not handed to the
    // connection (the client's own connect time-out bounds it).
    open: async () => {
      await restarting;
      return WinrmSession.connect(connectOptions(port, [pin]));
    },
    clock: new BriskClock('2026-03-02T02:00:00Z'),
  });
  const status = await driveStep(WINDOWS_STEP_FLOW, state, {
    commit: (patch) => commitStep(deps, step.id, patch),
    signal: controller.signal,
    now: () => new Date().toISOString(),
  });
  const final = getStep(db, step.id)!;
  const log = listJobLog(db, jobId).map((e) => e.text);
  const newest = listAudits(db, hostId, 1)[0] ?? null;
  const hotfixes = newest ? listAuditHotfixes(db, newest.id).map((h) => h.hotfixId) : [];
  db.close();
  return { status, step: final, log, newest, hotfixes };
}

describeTestbed('Windows patch phases over a sealed WinRM session (simulated PC)', () => {
  // The standalone acceptor answers differently while another test's Samba DC (winbind) is up:
  // hold the Samba lock so none runs meanwhile.
  withSambaLock();
  beforeAll(() => {
    userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: PASSWORD }]);
  });
  afterEach(async () => {
    await restarting;
    if (endpoint) await endpoint.stop();
    endpoint = null;
    restarting = null;
    seen = [];
    await backend?.close();
  });

  async function setUp(): Promise<void> {
    pc = new FakePc();
    pc.pending = [
      {
        kb: 'KB5034441',
        updateId: ID,
        revision: 201,
        title: '2026-01 Cumulative Update',
        rebootRequired: true,
      },
    ];
    backend = await startPcBackend(pc);
    endpoint = await start();
    // The restart: the endpoint goes away, and comes back on the same port a moment later.
    pc.onRestart = () => {
      const old = endpoint!;
      restarting = (async () => {
        seen.push(...(await old.requests()));
        await old.stop();
        await new Promise((r) => setTimeout(r, 300));
        endpoint = await start(old.port);
      })();
    };
  }

  it('registers the task, survives a dropped session and the restart, and verifies by re-audit', async () => {
    await setUp();
    pc.pollsBeforeReceipt = 3;
    // The second poll's connection is cut (a network-driver update), and the next requests too.
    pc.before.poll = (n) => {
      if (n === 2) {
        pc.away = 2;
        throw new RemoteError('unreachable', 'WIN1: the network driver is being replaced.');
      }
    };
    const r = await runStep();
    // The restart really took the endpoint away and brought it back on the same port.
    expect(restarting).not.toBeNull();
    await restarting;
    seen.push(...(await endpoint!.requests()));
    expect(r.status).toBe('succeeded');
    expect(r.step.after).toEqual({ KB5034441: 'installed' });
    expect(r.step.undoRecipe).toBe('wusa /uninstall /kb:5034441 /quiet /norestart');
    expect(pc.installers).toHaveLength(1);
    expect(pc.installers[0]).toContain(`@{id='${ID}';rev=201}`);
    expect(pc.shutdowns).toHaveLength(1);
    expect(pc.shutdowns[0]).toMatch(/^shutdown\.exe \/r \/t 60 \/c "Patchdeck installed Windows updates/);
    expect(pc.pending).toEqual([]);
    expect(backend.drops()).toBeGreaterThanOrEqual(2);
    expect(r.log.some((l) => l.startsWith('the connection to the PC dropped during the install'))).toBe(true);
    expect(r.log).toContain('the PC is back after its restart');
    expect(r.log.at(-1)).toBe('verified by re-audit: 1 update(s) installed');
    // The verification audit is the PC's newest: it keeps what the audit learns of a PC (its OS
    // and build, its installed hotfixes), or the host's page would lose them after every patch.
    expect(r.newest).toMatchObject({
      osName: 'Windows 11 Pro',
      windows: { build: '22631', ubr: 3007 },
    });
    expect(r.hotfixes).toContain('KB5034441');
    // Every body the client sent, on both endpoint lives, was sealed; none was refused.
    const bodies = seen.filter((q) => q.action !== '' || q.refused);
    expect(bodies.length).toBeGreaterThan(10);
    expect(bodies.filter((q) => !q.encrypted || q.refused)).toEqual([]);
  }, 120_000);

  it("a reboot job of its own restarts the PC with Windows' own restart over WinRM and re-audits it", async () => {
    await setUp();
    const r = await runStep({ rebootOnly: true });
    expect(restarting).not.toBeNull();
    await restarting;
    expect(r.status).toBe('succeeded');
    expect(pc.seen).not.toContain('schedule');
    expect(pc.shutdowns).toEqual([
      'shutdown.exe /r /t 60 /c "Your administrator restarts this PC with Patchdeck. It restarts in 1 minute: please save your work." /d p:2:17',
    ]);
    expect(r.log).toContain('the PC is back after its restart');
    expect(r.log.at(-1)).toBe('re-audited: no reboot pending');
    expect(r.step.verifyAuditId).not.toBeNull();
    expect(r.newest).toMatchObject({ osName: 'Windows 11 Pro' });
  }, 60_000);

  it('ends the step failed, with the HRESULT as a sentence, when the update fails to install', async () => {
    await setUp();
    pc.pending[0]!.resultCode = 4;
    pc.pending[0]!.hresult = '0x80240022';
    const r = await runStep();
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('install-failed');
    expect(r.step.errorMessage).toBe('KB5034441 failed: The operation failed for every update. (0x80240022)');
    expect(pc.shutdowns).toEqual([]);
  }, 60_000);
});
