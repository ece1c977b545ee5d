/**
 * Running an approved patch job: each host is one step (pre-checks → install → reboot → verify),
 * `concurrency` hosts at a time. Every transition is committed to SQLite before the next remote
 * action, so a crash leaves each host's last known phase on record.
 *
 * Cancel never kills an install half way: the current command finishes, the rest is skipped.
 */
import { randomBytes } from 'node:crypto';
import type { Host, JobEvent, JobStep, PatchJob, TargetPackage } from '../api/schemas';
import { classifyAuditError, toFindings } from '../audit';
import {
  collectorFor,
  buildSectionScript,
  splitSections,
  type CollectorResult,
  type RemoteExec,
  type RemoteExecOptions,
  type RemoteExecResult,
} from '../collectors';
import type { ScriptSection, SectionOutput } from '../collectors/util';
import {
  appendAuditLog,
  appendJobEvent,
  completeAudit,
  failAudit,
  getHost,
  getJob,
  getStep,
  listAudits,
  listSteps,
  now,
  startAudit,
  updateJob,
  updateStep,
} from '../db';
import { RemoteError } from '../remote/errors';
import { shellQuote } from '../remote/quote';
import type { SshSession } from '../remote/ssh';
import { errorMessage } from '../util/errors';
import { sanitizeText } from '../util/text';
import {
  REBOOT_COMMAND,
  assertSafeTargets,
  dryRunCommand,
  installCommand,
  installEnv,
  packageSpec,
  parseVersionQuery,
  rebootRequiredCommand,
  undoRecipe,
  versionQueryCommand,
  type PatchPackageManager,
} from './commands';
import { changeKeys } from './dry-run';
import { takeSession } from './sessions';
import { traceMark, traced } from './trace';
import {
  approvedDigest,
  dryRunFromOutput,
  dryRunOnSession,
  dryRunProblem,
  planDigest,
  sessionOpener,
  type PatchDeps,
  type SessionOpener,
} from './plan';

export class StepFailure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

/** Waits, or less when `signal` aborts; the abort listener goes away with the timer (no pile-up on long jobs). */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Splits streamed output into lines, each written to job_events and sent as a `job.log` event. */
class LineLog {
  private buffers: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  private stopped: Record<'stdout' | 'stderr', boolean> = { stdout: false, stderr: false };
  readonly all: string[] = [];
  /** `stopAt`: a line starting with it ends the log of that stream (what follows is for Patchdeck, not the admin). */
  constructor(
    private readonly write: (stream: JobEvent['stream'], text: string) => void,
    private readonly stopAt?: string,
    private readonly onStop?: () => void,
  ) {}
  push(stream: 'stdout' | 'stderr', chunk: string): void {
    if (this.stopped[stream]) return;
    const text = this.buffers[stream] + chunk;
    const parts = text.split(/\r?\n/);
    this.buffers[stream] = parts.pop() ?? '';
    if (this.buffers[stream].length > 8192) {
      parts.push(this.buffers[stream]);
      this.buffers[stream] = '';
    }
    for (const line of parts) this.line(stream, line);
    if (this.stopped[stream]) this.buffers[stream] = '';
  }
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.buffers[stream]) this.line(stream, this.buffers[stream]);
      this.buffers[stream] = '';
    }
  }
  private line(stream: 'stdout' | 'stderr', raw: string): void {
    if (this.stopped[stream]) return;
    if (this.stopAt && raw.replace(/\r$/, '').startsWith(this.stopAt)) {
      this.stopped[stream] = true;
      this.buffers[stream] = '';
      if (stream === 'stdout') this.onStop?.();
      return;
    }
    const text = sanitizeText(raw, { maxLength: 2000 });
    if (text.trim() === '') return;
    if (this.all.length < 5000) this.all.push(text);
    this.write(stream, text);
  }
}

interface StepContext {
  deps: PatchDeps;
  job: PatchJob;
  step: JobStep;
  host: Host;
  pm: PatchPackageManager;
  signal: AbortSignal;
  open: SessionOpener;
}

function transition(ctx: StepContext, patch: Parameters<typeof updateStep>[2]): void {
  updateStep(ctx.deps.db, ctx.step.id, patch);
  ctx.deps.events.emit('job.step', getStep(ctx.deps.db, ctx.step.id)!);
}

function log(
  ctx: { deps: PatchDeps; job: PatchJob; step?: JobStep | null },
  stream: JobEvent['stream'],
  text: string,
): void {
  const event = appendJobEvent(ctx.deps.db, {
    jobId: ctx.job.id,
    stepId: ctx.step?.id ?? null,
    stream,
    text,
  });
  ctx.deps.events.emit('job.log', event);
}

const NOT_CANCELLABLE: AbortSignal = new AbortController().signal;

/** Classifies what the install printed when it failed; the sentence names the host's real problem. */
export function classifyInstallFailure(
  pm: PatchPackageManager,
  output: string,
  code: number | null,
  lockWaitSeconds: number,
): StepFailure {
  const holder = /held by process (\d+) \(([^)]*)\)/.exec(output);
  if (
    /Could not get lock|Unable to acquire the dpkg frontend lock|Waiting for cache lock|another app is currently holding the yum lock|System management is locked/i.test(
      output,
    )
  ) {
    return new StepFailure(
      'package-manager-locked',
      `The package manager stayed locked for ${lockWaitSeconds} s${holder ? ` (held by process ${holder[1]} ${sanitizeText(holder[2]!, { maxLength: 40 })})` : ''}; nothing was installed. Try again when it is free.`,
    );
  }
  if (
    /No space left on device|You don't have enough free space|Disk Requirements|needs \d+\S* more space/i.test(
      output,
    )
  ) {
    return new StepFailure('disk-full', 'The host ran out of disk space during the install.');
  }
  const script =
    /(?:installed|new) (\S+) package post-installation script subprocess returned error exit status (\d+)/.exec(
      output,
    ) ?? /error processing package (\S+) \(--configure\)/.exec(output);
  if (script) {
    return new StepFailure(
      'package-script-failed',
      `The package script of ${sanitizeText(script[1]!, { maxLength: 80 })} failed${script[2] ? ` (exit ${script[2]})` : ''}; the package is left half-configured. See the log.`,
    );
  }
  if (/dpkg was interrupted/.test(output))
    return new StepFailure(
      'package-manager-locked',
      "dpkg was interrupted earlier; run 'dpkg --configure -a' on this host first.",
    );
  if (/Held packages were changed/.test(output))
    return new StepFailure(
      'held',
      'A held package would have to change; Patchdeck never changes held packages.',
    );
  const last = output
    .trim()
    .split('\n')
    .filter((l) => /^(E:|Error)/.test(l))
    .slice(-2)
    .join(' ');
  return new StepFailure(
    'install-failed',
    `The ${pm} install exited with ${code ?? 'a signal'}${last ? `: ${sanitizeText(last, { maxLength: 300 })}` : ''}.`,
  );
}

/**
 * The install runs detached from the SSH channel (setsid, output to a log file on the host) and
 * the channel follows the log: if Patchdeck dies, the package manager still finishes instead of
 * being killed by SIGPIPE half way through dpkg. `tail --pid` notices the end within 50 ms.
 *
 * `after`: read-only sections (snapshot, verification audit) that run in the same channel once
 * the install has exited 0, behind a `@@PATCHDECK:<nonce>:installed:<rc>` line on both streams.
 * The script's exit status is always the install's.
 */
export function detachedInstallScript(
  install: string,
  logFile: string,
  after?: { nonce: string; sections: readonly ScriptSection[] },
): string {
  const log = shellQuote(logFile);
  const lines = [
    `mkdir -p ${shellQuote(logFile.slice(0, logFile.lastIndexOf('/')))} && : > ${log} && rm -f ${log}.rc || exit 98`,
    `setsid sh -c ${shellQuote(`${install}; echo $? > "$0.rc"`)} ${log} >>${log} 2>&1 </dev/null &`,
    'pd_pid=$!',
    `if tail --version >/dev/null 2>&1; then tail -s 0.05 --pid=$pd_pid -n +1 -f ${log}; else wait $pd_pid; cat ${log}; fi`,
    'wait $pd_pid 2>/dev/null',
    `pd_rc=$(cat ${log}.rc 2>/dev/null); pd_rc=\${pd_rc:-255}`,
  ];
  if (after && after.sections.length) {
    const marker = installedMarker(after.nonce);
    lines.push(
      `printf '\\n%s%s\\n' '${marker}' "$pd_rc"; printf '\\n%s%s\\n' '${marker}' "$pd_rc" >&2`,
      // A subshell: the sections set their own pd_rc.
      `if [ "$pd_rc" = 0 ]; then (`,
      buildSectionScript(after.sections, after.nonce),
      ')',
      'fi',
    );
  }
  lines.push('exit $pd_rc');
  return lines.join('\n');
}

function installedMarker(nonce: string): string {
  if (!/^[0-9a-f]{8,32}$/.test(nonce)) throw new Error('bad nonce');
  return `@@PATCHDECK:${nonce}:installed:`;
}

function sessionExec(session: SshSession, signal: AbortSignal): RemoteExec {
  return {
    run: (command, options) => session.run(command, { ...options, signal: options?.signal ?? signal }),
  };
}

/**
 * The verification audit's script, taken from the collector before the install so that it can run
 * in the install's own channel right after a successful install (one round-trip less). The
 * collector, its script and its parser are the ones a normal audit uses; only the transport of its
 * first command changes. Any further command the collector asks for runs over the session.
 */
interface PrefetchedAudit {
  section: ScriptSection;
  /** Hands the section's output to the collector; null = it did not run (the result rejects). */
  feed(output: SectionOutput | null): void;
  result: Promise<CollectorResult>;
}

interface AskedCommand {
  command: string;
  options: RemoteExecOptions | undefined;
  resolve: (r: RemoteExecResult) => void;
  reject: (e: Error) => void;
}

function prefetchVerifyAudit(ctx: StepContext, session: SshSession): PrefetchedAudit | null {
  const asked: AskedCommand[] = [];
  const live = sessionExec(session, ctx.signal);
  const exec: RemoteExec = {
    run: (command, options) =>
      asked.length
        ? live.run(command, options)
        : new Promise((resolve, reject) => {
            asked.push({ command, options, resolve, reject });
          }),
  };
  const result = collectorFor(ctx.pm).collect(exec, { refresh: false, timeoutMs: 120_000 });
  result.catch(() => undefined);
  const first = asked[0];
  // Only a collector whose first command needs no sudo (apt's audit script) is folded: the install's
  // channel runs as root, and for apt's read-only queries that gives the same answers.
  if (!first || first.options?.sudo) {
    first?.reject(new Error('not prefetched'));
    return null;
  }
  return {
    section: { name: 'verify', command: `sh -c ${shellQuote(first.command)}` },
    feed: (output) =>
      output
        ? first.resolve({ stdout: output.stdout, stderr: output.stderr, code: output.code })
        : first.reject(new RemoteError('command-failed', 'The verification audit did not run.')),
    result,
  };
}

/** Re-audits over the open session and records it as an audit of the host (verification). */
async function verifyByAudit(
  ctx: StepContext,
  session: SshSession,
  prefetched?: PrefetchedAudit,
): Promise<{ auditId: number; result: CollectorResult }> {
  const { db } = ctx.deps;
  const previous = listAudits(db, ctx.host.id, 20).find((a) => a.status === 'succeeded') ?? null;
  const auditId = startAudit(db, { hostId: ctx.host.id, taskId: ctx.job.taskId, source: 'patch-verify' });
  const started = Date.now();
  try {
    const result = await (prefetched
      ? prefetched.result
      : collectorFor(ctx.pm).collect(sessionExec(session, ctx.signal), {
          refresh: false,
          timeoutMs: 120_000,
        }));
    completeAudit(db, auditId, {
      osId: previous?.osId ?? null,
      osName: previous?.osName ?? null,
      osVersion: previous?.osVersion ?? null,
      kernel: previous?.kernel ?? null,
      packageManager: result.packageManager,
      metadataAgeSeconds: result.metadataAgeSeconds,
      rebootRequired: result.rebootRequired,
      warnings: result.warnings,
      durationMs: Date.now() - started,
      findings: toFindings(result),
    });
    return { auditId, result };
  } catch (error) {
    const c = classifyAuditError(error);
    failAudit(db, auditId, {
      kind: c.kind,
      message: c.message,
      stderr: c.stderr,
      durationMs: Date.now() - started,
    });
    throw new StepFailure('verify-failed', `Verification audit failed: ${c.message}`);
  }
}

/** Targets the verification audit still lists as pending (not at the approved version). */
export function stillPending(
  targets: readonly TargetPackage[],
  updates: readonly { name: string; installedVersion: string | null }[],
): TargetPackage[] {
  return targets.filter((t) => updates.some((u) => u.name === t.name && u.installedVersion !== t.to));
}

/**
 * Pre-checks (free disk, pending reboot, installed versions) and the run-time dry run in one
 * round-trip. The dry run is over every target; when some target turns out to be installed already
 * (a resumed job), the dry run is repeated for exactly what is left, so the check always covers the
 * very package set that will be installed.
 */
async function precheck(
  ctx: StepContext,
  session: SshSession,
  targets: TargetPackage[],
): Promise<{ todo: TargetPackage[]; before: Record<string, string>; rebootPending: boolean }> {
  const nonce = randomBytes(8).toString('hex');
  const approved = ctx.step.preview;
  const names = [
    ...new Set([
      ...targets.map((t) => t.name),
      ...(approved
        ? [...approved.newPackages, ...approved.removals, ...approved.upgrades].map((c) => c.name)
        : []),
    ]),
  ];
  const query = versionQueryCommand(ctx.pm, names);
  assertSafeTargets(ctx.pm, targets);
  const dryRun = dryRunCommand(ctx.pm, targets);
  const sections = [
    { name: 'disk', command: "df -Pk / /var /tmp 2>/dev/null | awk 'NR>1 {print $4}'" },
    { name: 'reboot', command: rebootRequiredCommand(ctx.pm) },
    ...(query ? [{ name: 'before', command: query }] : []),
    { name: 'dryrun', command: dryRun.command },
  ];
  const raw = await traced(ctx.host.name, 'run.precheck', () =>
    session.run(buildSectionScript(sections, nonce), {
      // dnf/yum/zypper dry runs need root; the other sections answer the same either way.
      sudo: dryRun.sudo,
      timeoutMs: 120_000,
      signal: ctx.signal,
    }),
  );
  const out = splitSections(raw.stdout, raw.stderr, nonce);
  const freeKb = (out.get('disk')?.stdout ?? '')
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isFinite(n));
  const minFreeMb = freeKb.length ? Math.floor(Math.min(...freeKb) / 1024) : null;
  if (minFreeMb !== null && minFreeMb < ctx.job.options.minFreeMb) {
    throw new StepFailure(
      'disk-full',
      `Only ${minFreeMb} MB free on ${ctx.host.name} (the job needs at least ${ctx.job.options.minFreeMb} MB); nothing was installed.`,
    );
  }
  log(
    ctx,
    'info',
    `pre-check: ${minFreeMb ?? '?'} MB free; reboot pending before install: ${(out.get('reboot')?.stdout ?? '?').trim()}`,
  );
  const before = parseVersionQuery(out.get('before')?.stdout ?? '');
  const rebootPending = (out.get('reboot')?.stdout ?? '').trim() === 'required';
  // The dry run again, right before installing: it must stay inside what was approved.
  const todo = targets.filter((t) => before[t.name] !== t.to);
  if (todo.length === 0) return { todo, before, rebootPending };
  const batched = out.get('dryrun');
  const dry =
    todo.length === targets.length && batched && batched.code !== null
      ? dryRunFromOutput(ctx.pm, todo, batched)
      : await traced(ctx.host.name, 'run.dryrun-again', () =>
          dryRunOnSession(session, ctx.pm, todo, ctx.signal),
        );
  const problem = dryRunProblem(ctx.pm, dry);
  if (problem)
    throw new StepFailure(
      /lock/i.test(problem) ? 'package-manager-locked' : 'dry-run-failed',
      `The dry run before installing failed: ${problem}`,
    );
  if (approved && approved.command) {
    const allowed = changeKeys(approved);
    const extra = [...changeKeys(dry.changes)].filter((k) => !allowed.has(k));
    if (extra.length) {
      throw new StepFailure(
        'not-approved',
        `Installing now would change what was not approved (${extra.slice(0, 10).join(', ')}); nothing was installed. Plan and approve again.`,
      );
    }
  }
  return { todo, before, rebootPending };
}

const DETACHED: readonly PatchPackageManager[] = ['apt', 'dnf', 'yum', 'zypper'];

interface InstallOutcome {
  /** The snapshot and verification sections that ran behind a successful detached install, if any. */
  after: Map<string, SectionOutput> | null;
}

/**
 * Runs the install (detached where the package manager allows) and streams its output into the
 * job log. `after` sections run in the same channel only once the install exited 0.
 */
async function install(
  ctx: StepContext,
  session: SshSession,
  todo: TargetPackage[],
  after: readonly ScriptSection[] = [],
): Promise<InstallOutcome> {
  const command = installCommand(ctx.pm, todo, { lockWaitSeconds: ctx.job.options.lockWaitSeconds });
  log(ctx, 'info', `$ ${command}`);
  const logFile = `/var/tmp/patchdeck/job-${ctx.job.id}-step-${ctx.step.id}.log`;
  const detached = DETACHED.includes(ctx.pm);
  const nonce = randomBytes(8).toString('hex');
  const follow = detached && after.length > 0;
  const marker = follow ? installedMarker(nonce) : undefined;
  let first = true;
  const lines = new LineLog(
    (stream, text) => {
      if (first) traceMark(ctx.host.name, 'install.first-line');
      first = false;
      log(ctx, stream, text);
    },
    marker,
    () => traceMark(ctx.host.name, 'install.exited'),
  );
  traceMark(ctx.host.name, 'install.begin');
  const result = await session.run(
    detached
      ? detachedInstallScript(command, logFile, follow ? { nonce, sections: after } : undefined)
      : command,
    {
      sudo: true,
      env: installEnv(ctx.pm),
      timeoutMs:
        ctx.job.options.hostTimeoutSeconds * 1000 +
        ctx.job.options.lockWaitSeconds * 1000 +
        (follow ? 180_000 : 0),
      // Cancel must not interrupt a package manager half way: this command always runs to its end.
      signal: NOT_CANCELLABLE,
      onStdout: (c) => lines.push('stdout', c),
      onStderr: (c) => lines.push('stderr', c),
    },
  );
  lines.flush();
  const cut = (text: string): string =>
    marker && text.includes(marker) ? text.slice(0, text.indexOf(marker)) : text;
  if (result.code !== 0) {
    throw classifyInstallFailure(
      ctx.pm,
      `${cut(result.stdout)}\n${cut(result.stderr)}`,
      result.code,
      ctx.job.options.lockWaitSeconds,
    );
  }
  return { after: follow ? splitSections(result.stdout, result.stderr, nonce) : null };
}

/** Read-only sections for the after-install snapshot: versions, reboot flag, old versions still offered, dnf history id. */
function snapshotSections(
  ctx: StepContext,
  names: string[],
  before: Record<string, string>,
): ScriptSection[] {
  const query = versionQueryCommand(ctx.pm, names);
  const availability =
    ctx.pm === 'apt'
      ? Object.entries(before)
          .map(
            ([n, v]) =>
              `apt-cache show ${shellQuote(packageSpec('apt', n, v))} >/dev/null 2>&1 && echo ${shellQuote(`${n}=${v}`)}`,
          )
          .join('; ') || 'true'
      : 'true';
  const history =
    ctx.pm === 'dnf' || ctx.pm === 'yum'
      ? `${ctx.pm} -q history list 2>/dev/null | awk '$1 ~ /^[0-9]+$/ {print $1; exit}'`
      : 'true';
  return [
    ...(query ? [{ name: 'after', command: query }] : []),
    { name: 'reboot', command: rebootRequiredCommand(ctx.pm) },
    { name: 'avail', command: availability },
    { name: 'history', command: history },
  ];
}

interface Snapshot {
  after: Record<string, string>;
  rebootRequired: boolean;
  available: Set<string>;
  historyId: string | null;
}

function parseSnapshot(out: Map<string, SectionOutput>): Snapshot {
  const after = parseVersionQuery(out.get('after')?.stdout ?? '');
  const available = new Set(
    (out.get('avail')?.stdout ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const historyId = (out.get('history')?.stdout ?? '').trim().match(/^\d+$/)?.[0] ?? null;
  return {
    after,
    rebootRequired: (out.get('reboot')?.stdout ?? '').trim() === 'required',
    available,
    historyId,
  };
}

async function snapshotAfter(
  ctx: StepContext,
  session: SshSession,
  names: string[],
  before: Record<string, string>,
): Promise<Snapshot> {
  const nonce = randomBytes(8).toString('hex');
  const sections = snapshotSections(ctx, names, before);
  const raw = await session.run(buildSectionScript(sections, nonce), {
    sudo: ctx.pm === 'dnf' || ctx.pm === 'yum',
    timeoutMs: 60_000,
  });
  return parseSnapshot(splitSections(raw.stdout, raw.stderr, nonce));
}

/** Issues the reboot and waits for the host to come back (a marker in /run tells a real restart apart). */
async function rebootAndWait(ctx: StepContext, session: SshSession): Promise<SshSession> {
  const marker = `/run/patchdeck-boot-${randomBytes(6).toString('hex')}`;
  await session.run(`: > ${shellQuote(marker)}`, { sudo: true, timeoutMs: 30_000 });
  log(ctx, 'info', 'rebooting the host');
  const issued = await session.run(REBOOT_COMMAND, { sudo: true, timeoutMs: 30_000 });
  if (issued.code !== 0)
    throw new StepFailure(
      'reboot-failed',
      `The host could not be rebooted: ${sanitizeText(issued.stderr.trim(), { maxLength: 200 }) || `exit ${issued.code}`}.`,
    );
  session.close();
  const deadline = Date.now() + ctx.job.options.rebootTimeoutSeconds * 1000;
  await sleep(1500, ctx.signal);
  while (Date.now() < deadline) {
    if (ctx.signal.aborted)
      throw new StepFailure(
        'cancelled',
        'Cancelled while waiting for the host to come back from its reboot; not verified.',
      );
    let next: SshSession | null = null;
    try {
      next = await ctx.open(ctx.host, AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]));
      const probe = await next.run(`test -e ${shellQuote(marker)} && echo same || echo rebooted`, {
        timeoutMs: 10_000,
      });
      if (probe.stdout.trim() === 'rebooted') {
        log(ctx, 'info', 'the host is back after its reboot');
        return next;
      }
      next.close();
    } catch (error) {
      next?.close();
      if (error instanceof RemoteError && (error.kind === 'host-key-changed' || error.kind === 'auth-failed'))
        throw new StepFailure(error.kind, error.message);
    }
    await sleep(1000, ctx.signal);
  }
  throw new StepFailure(
    'reboot-timeout',
    `The host did not come back within ${ctx.job.options.rebootTimeoutSeconds} s of its reboot.`,
  );
}

/** Records before/after versions of every package the install touched, and the undo recipe. */
function recordChange(ctx: StepContext, before: Record<string, string>, snap: Snapshot): void {
  const names = Object.keys({ ...before, ...snap.after });
  const changedBefore = Object.fromEntries(names.map((n) => [n, before[n] ?? null]));
  const changedAfter = Object.fromEntries(names.map((n) => [n, snap.after[n] ?? null]));
  const recipe = undoRecipe({
    pm: ctx.pm,
    before: changedBefore,
    after: changedAfter,
    available: ctx.pm === 'apt' ? snap.available : undefined,
    historyId: snap.historyId,
  });
  transition(ctx, { before: changedBefore, after: changedAfter, undoRecipe: recipe });
}

/** The step entered its install phase in an earlier run (its `before` versions are recorded) but never recorded an outcome. */
export function interruptedInstall(step: Pick<JobStep, 'before' | 'after'>): boolean {
  return step.before !== null && Object.keys(step.before).length > 0 && step.after === null;
}

function recordedVersions(versions: Record<string, string | null> | null): Record<string, string> {
  return Object.fromEntries(
    Object.entries(versions ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** Every package the approved dry run said would change (new dependencies and removals included). */
function previewedNames(step: JobStep): string[] {
  const p = step.preview;
  return p ? [...p.upgrades, ...p.newPackages, ...p.removals].map((c) => c.name) : [];
}

async function runStep(ctx: StepContext): Promise<JobStep['status']> {
  const { step } = ctx;
  // Queued again in its reboot phase (Reboot now, or a re-run of a reboot that failed): the
  // updates are installed, so only the reboot and the verification are left to do.
  const rebootOnly = step.phase === 'reboot';
  let phase = rebootOnly ? 'reboot' : 'precheck';
  let session: SshSession | null = null;
  // Set from installPhases' hooks, which TypeScript's narrowing does not follow.
  let prefetched = null as PrefetchedAudit | null;
  /** This step's updates are on the host: whatever the reboot does next, a re-audit follows. */
  let installed = rebootOnly;
  let rebootedAfterInstall = false;
  transition(ctx, {
    status: 'running',
    phase,
    startedAt: now(),
    finishedAt: null,
    errorKind: null,
    errorMessage: null,
  });
  log(
    ctx,
    'info',
    rebootOnly
      ? step.packages.length
        ? `${ctx.host.name}: the updates are installed; rebooting the host, then verifying`
        : // A reboot job of its own (hosts.reboot): nothing was installed by it.
          `${ctx.host.name}: rebooting the host, then re-auditing it`
      : `${ctx.host.name}: ${step.packages.map((p) => `${p.name} ${p.from ?? '∅'} → ${p.to}`).join(', ')}`,
  );
  try {
    // The plan's connection when this process planned the host moments ago (sessions.ts), else a new one.
    const reused = rebootOnly
      ? null
      : takeSession(ctx.deps.db, ctx.host, ctx.job.options.credentialId ?? null);
    session = reused ?? (await traced(ctx.host.name, 'run.connect', () => ctx.open(ctx.host, ctx.signal)));
    if (rebootOnly) {
      session = await rebootAndWait(ctx, session);
      rebootedAfterInstall = true;
    } else {
      session = await installPhases(ctx, session, reused !== null, {
        setPhase: (p) => (phase = p),
        setPrefetched: (p) => {
          prefetched = p;
          return null;
        },
        setSession: (next) => (session = next),
        installed: () => (installed = true),
        rebooted: () => (rebootedAfterInstall = true),
      });
    }
    phase = 'verify';
    transition(ctx, { phase });
    let s1 = session;
    let { auditId, result } = await traced(ctx.host.name, 'run.verify', () =>
      verifyByAudit(ctx, s1, prefetched ?? undefined),
    );
    prefetched = null;
    transition(ctx, { verifyAuditId: auditId });
    const policy = ctx.job.rebootPolicy;
    if (result.rebootRequired && installed && !rebootedAfterInstall && policy !== 'never') {
      // The after-install check could not tell (no needs-restarting, say); the re-audit can.
      log(ctx, 'info', `the re-audit says the host needs a reboot; reboot policy "${policy}" allows it`);
      phase = 'reboot';
      transition(ctx, { phase });
      session = await rebootAndWait(ctx, session);
      rebootedAfterInstall = true;
      phase = 'verify';
      transition(ctx, { phase });
      s1 = session;
      ({ auditId, result } = await traced(ctx.host.name, 'run.verify', () => verifyByAudit(ctx, s1)));
      transition(ctx, { verifyAuditId: auditId });
    }
    const pending = stillPending(step.packages, result.updates);
    if (pending.length)
      throw new StepFailure(
        'verify-failed',
        `Still pending after the install: ${pending.map((p) => `${p.name} (wanted ${p.to})`).join(', ')}.`,
      );
    if (result.rebootRequired) {
      const why = rebootedAfterInstall
        ? 'it still asks for one after its reboot'
        : !installed
          ? 'a reboot was already pending'
          : policy === 'never'
            ? 'reboot policy is "never"'
            : 'it was not rebooted';
      log(
        ctx,
        'info',
        `${step.packages.length ? `verified by re-audit: ${step.packages.length} update(s) installed` : 're-audited'}; reboot pending (${why})`,
      );
      transition(ctx, { status: 'reboot-pending', phase: 'done', finishedAt: now() });
      traceMark(ctx.host.name, 'run.done');
      return 'reboot-pending';
    }
    log(
      ctx,
      'info',
      step.packages.length
        ? `verified by re-audit: ${step.packages.length} update(s) installed`
        : 're-audited: no reboot pending',
    );
    transition(ctx, { status: 'succeeded', phase: 'done', finishedAt: now() });
    traceMark(ctx.host.name, 'run.done');
    return 'succeeded';
  } catch (error) {
    return failStep(ctx, error, phase, installed);
  } finally {
    prefetched?.feed(null);
    session?.close();
  }
}

interface PhaseHooks {
  setPhase(phase: string): void;
  setPrefetched(p: PrefetchedAudit | null): null;
  setSession(s: SshSession): SshSession;
  installed(): void;
  rebooted(): void;
}

/** Pre-checks, the install and the reboot the policy asks for; returns the session to verify over. */
async function installPhases(
  ctx: StepContext,
  start: SshSession,
  reused: boolean,
  hooks: PhaseHooks,
): Promise<SshSession> {
  const { step } = ctx;
  let session = start;
  const setPhase = (phase: string): void => {
    hooks.setPhase(phase);
    transition(ctx, { phase });
  };
  let checked: Awaited<ReturnType<typeof precheck>>;
  try {
    checked = await precheck(ctx, session, step.packages);
  } catch (error) {
    // A parked connection that died quietly: the pre-check is read-only, so connect and ask again.
    if (!reused || !(error instanceof RemoteError) || error.kind !== 'unreachable') throw error;
    session.close();
    session = hooks.setSession(
      await traced(ctx.host.name, 'run.reconnect', () => ctx.open(ctx.host, ctx.signal)),
    );
    checked = await precheck(ctx, session, step.packages);
  }
  // A reboot already pending (an earlier kernel or library update): when the job's reboot policy
  // allows rebooting, the host reboots first so the install lands on the system that will run,
  // then the pre-checks run again. Once only: a host that still wants a reboot is logged.
  if (ctx.signal.aborted) throw new StepFailure('cancelled', 'Cancelled before anything was installed.');
  if (checked.rebootPending && checked.todo.length > 0 && ctx.job.rebootPolicy !== 'never') {
    log(
      ctx,
      'info',
      `a reboot was already pending before the install; reboot policy "${ctx.job.rebootPolicy}" allows it, so the host reboots first`,
    );
    setPhase('pre-reboot');
    session = hooks.setSession(await rebootAndWait(ctx, session));
    setPhase('precheck');
    checked = await precheck(ctx, session, step.packages);
    if (checked.rebootPending) log(ctx, 'info', 'the host still reports a pending reboot after rebooting');
  } else if (checked.rebootPending && checked.todo.length > 0) {
    log(
      ctx,
      'info',
      'a reboot was already pending before the install; reboot policy is "never", so the install goes ahead without it',
    );
  }
  const { todo } = checked;
  // After an interrupted install, the versions on record from before it are the ones to undo to.
  const before = interruptedInstall(step)
    ? { ...checked.before, ...recordedVersions(step.before) }
    : checked.before;
  const s0 = session;
  if (ctx.signal.aborted) throw new StepFailure('cancelled', 'Cancelled before anything was installed.');
  let rebootRequired = false;
  if (todo.length > 0) {
    const names = [...new Set([...Object.keys(before), ...todo.map((t) => t.name), ...previewedNames(step)])];
    // Snapshot (and for apt the verification audit) ride in the install's own channel when it is detached;
    // a verification that a reboot makes stale is dropped and done again after the reboot.
    const followUp = DETACHED.includes(ctx.pm) ? snapshotSections(ctx, names, before) : [];
    let prefetched =
      followUp.length && ctx.pm === 'apt' && ctx.job.rebootPolicy !== 'always'
        ? prefetchVerifyAudit(ctx, s0)
        : null;
    hooks.setPrefetched(prefetched);
    hooks.setPhase('install');
    transition(ctx, { phase: 'install', before });
    const installed = await traced(ctx.host.name, 'run.install', () =>
      install(ctx, s0, todo, [...followUp, ...(prefetched ? [prefetched.section] : [])]),
    );
    // Sections that did not come back complete are asked for again over the session.
    const snap =
      installed.after && installed.after.get('history')?.code != null
        ? parseSnapshot(installed.after)
        : await traced(ctx.host.name, 'run.snapshot', () => snapshotAfter(ctx, s0, names, before));
    const verifyOut = installed.after?.get('verify');
    if (prefetched && (!verifyOut || verifyOut.code === null)) {
      prefetched.feed(null);
      prefetched = hooks.setPrefetched(null);
    }
    prefetched?.feed(verifyOut ?? null);
    rebootRequired = snap.rebootRequired;
    recordChange(ctx, before, snap);
    hooks.installed();
  } else if (interruptedInstall(step)) {
    // An earlier run of this job entered its install and was cut off (Patchdeck killed, the host
    // dropped off); the install, detached on the host, finished without it. The versions from
    // before that install are on record: take the after-snapshot now, so the step keeps its
    // before/after versions and undo recipe, and the reboot policy sees a reboot it asks for.
    const recorded = recordedVersions(step.before);
    const names = [
      ...new Set([...Object.keys(recorded), ...step.packages.map((t) => t.name), ...previewedNames(step)]),
    ];
    log(ctx, 'info', 'the interrupted install had finished on the host; recording what it changed');
    const snap = await traced(ctx.host.name, 'run.snapshot', () => snapshotAfter(ctx, s0, names, recorded));
    rebootRequired = snap.rebootRequired;
    recordChange(ctx, recorded, snap);
    hooks.installed();
  } else {
    log(ctx, 'info', 'every target is already at its approved version; nothing to install');
  }
  if (ctx.signal.aborted)
    throw new StepFailure(
      'cancelled',
      'Cancelled after the install finished; reboot and verification skipped.',
    );
  const policy = ctx.job.rebootPolicy;
  if (policy === 'always' || (policy === 'if-required' && rebootRequired)) {
    hooks.setPrefetched(null);
    setPhase('reboot');
    session = hooks.setSession(await rebootAndWait(ctx, session));
    hooks.rebooted();
  } else if (rebootRequired) {
    log(
      ctx,
      'info',
      'the host needs a reboot to finish the update; reboot policy is "never", so it was not rebooted',
    );
  }
  return session;
}

/** Records the step's failure (or cancellation); after an install, a re-audit follows whatever the reboot did. */
async function failStep(
  ctx: StepContext,
  error: unknown,
  phase: string,
  installed: boolean,
): Promise<JobStep['status']> {
  const cancelled = ctx.signal.aborted && (!(error instanceof StepFailure) || error.kind === 'cancelled');
  const failure =
    error instanceof StepFailure
      ? error
      : error instanceof RemoteError &&
          error.kind === 'unreachable' &&
          phase !== 'precheck' &&
          phase !== 'pre-reboot'
        ? new StepFailure(
            'unreachable',
            ctx.step.packages.length === 0
              ? // A reboot job of its own installs nothing.
                `${ctx.host.name} dropped off during ${phase}; nothing was installed — re-run it once the host answers.`
              : `${ctx.host.name} dropped off during ${phase}; the install may be partly done — resume re-audits it and finishes what is missing.`,
          )
        : error instanceof RemoteError &&
            error.kind === 'output-too-large' &&
            phase !== 'precheck' &&
            phase !== 'pre-reboot'
          ? new StepFailure(
              'output-too-large',
              `${error.message} This happened during ${phase}: the install may be partly done — resume re-audits the host and finishes what is missing.`,
            )
          : (() => {
              const c = classifyAuditError(error);
              return new StepFailure(c.kind, c.message || errorMessage(error));
            })();
  log(ctx, cancelled ? 'info' : 'error', `${ctx.host.name}: ${failure.message}`);
  const verifyAuditId = !cancelled && installed && phase === 'reboot' ? await reauditAfterReboot(ctx) : null;
  transition(ctx, {
    status: cancelled ? 'cancelled' : 'failed',
    errorKind: cancelled ? 'cancelled' : failure.kind,
    errorMessage: failure.message,
    finishedAt: now(),
    ...(verifyAuditId !== null ? { verifyAuditId } : {}),
  });
  return cancelled ? 'cancelled' : 'failed';
}

/**
 * The updates are installed but the reboot failed: a re-audit over a new connection records what
 * the host runs now (the dashboard's counts come from it), or records that it could not be reached.
 */
async function reauditAfterReboot(ctx: StepContext): Promise<number | null> {
  let session: SshSession | null = null;
  try {
    session = await ctx.open(ctx.host, AbortSignal.any([ctx.signal, AbortSignal.timeout(20_000)]));
    const { auditId, result } = await verifyByAudit(ctx, session);
    log(
      ctx,
      'info',
      `re-audited after the failed reboot: ${stillPending(ctx.step.packages, result.updates).length} of ${ctx.step.packages.length} update(s) still pending${result.rebootRequired ? '; the host still needs a reboot' : ''}`,
    );
    return auditId;
  } catch (error) {
    log(
      ctx,
      'error',
      `the re-audit after the failed reboot failed too: ${sanitizeText(errorMessage(error), { maxLength: 300 })}`,
    );
    return null;
  } finally {
    session?.close();
  }
}

/** Runs every queued step of an approved (or resumed) job. Returns the job's final state. */
export async function runJob(
  deps: PatchDeps,
  jobId: number,
  options: {
    signal: AbortSignal;
    taskId: number | null;
    /** A resume or re-run of an approved job (its steps narrowed to approved targets still missing). */
    resumed?: boolean;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<PatchJob> {
  const { db } = deps;
  const job = getJob(db, jobId);
  if (!job) throw new Error(`job ${jobId} vanished`);
  const emitJob = (): PatchJob => {
    const current = getJob(db, jobId)!;
    deps.events.emit('job.changed', current);
    deps.events.emit('entity.changed', { entity: 'jobs', ids: [jobId] });
    return current;
  };
  const recorded = approvedDigest(db, jobId);
  const steps = listSteps(db, jobId).filter((s) => s.status === 'queued');
  const resumed =
    options.resumed === true ||
    job.status === 'interrupted' ||
    job.status === 'failed' ||
    job.status === 'cancelled';
  // The plan must be the one approved: no host, package or previewed change may have been added since.
  if (!resumed && recorded !== planDigest(db, jobId)) {
    updateJob(db, jobId, {
      status: 'failed',
      message: 'Refused: the plan differs from what was approved. Plan and approve again.',
      finishedAt: now(),
    });
    log({ deps, job }, 'error', 'Refused: the plan differs from what was approved; nothing was run.');
    return emitJob();
  }
  updateJob(db, jobId, {
    status: 'running',
    taskId: options.taskId,
    startedAt: job.startedAt ?? now(),
    finishedAt: null,
    message: null,
  });
  appendAuditLog(db, {
    actor: deps.actor,
    action: resumed ? 'job.resume' : 'job.start',
    entityType: 'patch_job',
    entityId: jobId,
    details: { hosts: steps.length },
  });
  log(
    { deps, job },
    'info',
    `${resumed ? 'Resuming' : 'Starting'} ${job.name}: ${steps.length} host(s), reboot ${job.rebootPolicy}, on failure ${job.onFailure}`,
  );
  const running = emitJob();
  const open = sessionOpener(deps, job.options);
  let next = 0;
  let done = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (next < steps.length) {
      const step = steps[next++]!;
      const host = getHost(db, step.hostId)!;
      const skip = (status: JobStep['status'], kind: string, message: string): void => {
        updateStep(db, step.id, { status, errorKind: kind, errorMessage: message, finishedAt: now() });
        deps.events.emit('job.step', getStep(db, step.id)!);
      };
      if (options.signal.aborted) skip('cancelled', 'cancelled', 'Cancelled before this host started.');
      else if (stop) skip('skipped', 'stopped', 'Skipped: another host failed and the job stops on failure.');
      else if (running.windowEnd && Date.now() >= Date.parse(running.windowEnd))
        skip(
          'skipped',
          'window-closed',
          `Skipped: the maintenance window ended at ${running.windowEnd} before this host started.`,
        );
      else {
        const status = await runStep({
          deps,
          job: running,
          step,
          host,
          pm: step.packageManager as PatchPackageManager,
          signal: options.signal,
          open,
        });
        if (status === 'failed' && job.onFailure === 'stop') stop = true;
      }
      options.onProgress?.(++done, steps.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, steps.length)) }, worker));
  const final = listSteps(db, jobId);
  const failed = final.filter((s) => s.status === 'failed' || s.status === 'interrupted').length;
  const status: PatchJob['status'] = options.signal.aborted
    ? 'cancelled'
    : failed > 0
      ? 'failed'
      : 'succeeded';
  const waiting = final.filter((s) => s.status === 'reboot-pending').length;
  const rebootNote = waiting > 0 ? ` ${waiting} host(s) wait for a reboot to finish their updates.` : '';
  const message =
    status === 'cancelled'
      ? 'Cancelled by the operator; running commands were allowed to finish.'
      : failed > 0
        ? `${failed} host(s) failed; see each host's error and log.${rebootNote}`
        : rebootNote.trim() || null;
  updateJob(db, jobId, { status, message, finishedAt: now() });
  log(
    { deps, job },
    status === 'succeeded' ? 'info' : 'error',
    `Job ${status}${message ? `: ${message}` : ''}`,
  );
  return emitJob();
}
