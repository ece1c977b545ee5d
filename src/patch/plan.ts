/**
 * Planning a patch job: what to install on each host (from its newest audit), a dry run per host
 * showing exactly what would change, and the approval that records who said yes to what.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { EventBus } from '../api';
import {
  JobOptions,
  type Host,
  type PatchJob,
  type PatchSelection,
  type StepPreview,
  type TargetPackage,
} from '../api';
import { classifyAuditError, connectHost } from '../audit';
import { credentialForHost, getCredentialSummary } from '../credentials';
import {
  appendAuditLog,
  getHost,
  getJob,
  insertJob,
  listAudits,
  listAuditLog,
  listFindings,
  listHosts,
  listSteps,
  now,
  updateJob,
  updateStep,
} from '../db';
import type { SecretBox } from '../platform';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';
import {
  assertSafeTargets,
  dryRunCommand,
  isPatchable,
  isSafePackageName,
  parseFingerprint,
  stateFingerprintCommand,
  type PatchPackageManager,
} from './commands';
import { changeKeys, parseDryRun, readsDryRun } from './dry-run';
import { refuseImportedJob } from './imported';
import { stepChanged } from './notify';
import { buildSectionScript, splitSections, type RemoteExec } from '../collectors';
import type { StepSession } from './phases/context';
import { WINDOWS_PACKAGE_MANAGER } from './phases/windows';
import { selectWindowsTargets, windowsPreview } from './phases/windows/targets';
import { parkSession } from './sessions';
import { traced } from './trace';

export interface PatchDeps {
  db: Database;
  secrets: SecretBox;
  /** The operator name from Settings: who approves, who runs. */
  actor: string;
  events: EventBus;
}

export interface PlanRequest {
  hostIds?: number[];
  selection: PatchSelection;
  rebootPolicy: PatchJob['rebootPolicy'];
  onFailure: PatchJob['onFailure'];
  concurrency: number;
  name?: string;
  options?: Partial<JobOptions>;
}

interface HostPlan {
  host: Host;
  packageManager: string | null;
  packages: TargetPackage[];
  skipped: { name: string; reason: string }[];
  problem: { kind: string; message: string } | null;
}

/** Chooses each host's targets from its newest successful audit. Pure over the database. */
export function selectTargets(db: Database, host: Host, selection: PatchSelection): HostPlan {
  const audit = listAudits(db, host.id, 20).find((a) => a.status === 'succeeded');
  if (!audit) {
    return {
      host,
      packageManager: null,
      packages: [],
      skipped: [],
      problem: { kind: 'no-audit', message: `${host.name} has no successful audit yet; audit it first.` },
    };
  }
  const pm = audit.packageManager;
  if (pm === WINDOWS_PACKAGE_MANAGER) {
    // KB steps: name = KB, to = UpdateID (phases/windows/targets.ts); no dry run on Windows.
    const { packages, skipped } = selectWindowsTargets(listFindings(db, audit.id), selection);
    return { host, packageManager: pm, packages, skipped, problem: null };
  }
  if (!isPatchable(pm)) {
    return {
      host,
      packageManager: pm,
      packages: [],
      skipped: [],
      problem: {
        kind: 'unsupported',
        message: `Patchdeck cannot patch ${pm ?? 'this package manager'} yet.`,
      },
    };
  }
  const wanted = selection.mode === 'packages' ? new Set(selection.packages ?? []) : null;
  const packages: TargetPackage[] = [];
  const skipped: HostPlan['skipped'] = [];
  for (const f of listFindings(db, audit.id)) {
    if (f.installedVersion === null) continue; // a new dependency: the dry run shows it, it is never a target itself
    if (selection.mode === 'security' && !f.security) continue;
    if (wanted && !wanted.has(f.package)) continue;
    if (f.held) {
      skipped.push({ name: f.package, reason: 'held (apt-mark hold / versionlock): left as it is' });
      continue;
    }
    if (!isSafePackageName(f.package, pm)) {
      skipped.push({
        name: sanitizeText(f.package, { maxLength: 80 }),
        reason: 'refused: unsafe package name',
      });
      continue;
    }
    packages.push({
      name: f.package,
      arch: f.arch,
      from: f.installedVersion,
      to: f.availableVersion,
      security: f.security,
    });
  }
  if (wanted) {
    for (const name of wanted)
      if (!packages.some((p) => p.name === name) && !skipped.some((s) => s.name === name))
        skipped.push({ name, reason: 'not a pending update on this host' });
  }
  return { host, packageManager: pm, packages, skipped, problem: null };
}

/** Creates the draft job and its steps; the dry runs come after (see dryRunJob). */
export function createPlan(db: Database, request: PlanRequest): { jobId: number; hosts: Host[] } {
  const selection = request.selection;
  if (selection.mode === 'packages') {
    if (!selection.packages?.length)
      throw new PatchdeckError('bad-request', 'Name at least one package to patch.');
    for (const name of selection.packages) {
      if (!isSafePackageName(name))
        throw new PatchdeckError(
          'bad-request',
          `Refusing the package name ${JSON.stringify(sanitizeText(name, { maxLength: 80 }))}: not a valid package name.`,
        );
    }
  }
  const hosts = request.hostIds?.length
    ? request.hostIds.map((id) => {
        const host = getHost(db, id);
        if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
        return host;
      })
    : listHosts(db, { inventoryOnly: true });
  if (hosts.length === 0) throw new PatchdeckError('bad-request', 'There are no hosts to patch.');
  const plans = hosts.map((h) => selectTargets(db, h, selection));
  if (selection.mode === 'packages') {
    const anywhere = new Set(plans.flatMap((p) => p.packages.map((t) => t.name)));
    const held = new Set(
      plans.flatMap((p) => p.skipped.filter((s) => s.reason.startsWith('held')).map((s) => s.name)),
    );
    const missing = (selection.packages ?? []).filter((n) => !anywhere.has(n) && !held.has(n));
    if (missing.length)
      throw new PatchdeckError(
        'bad-request',
        `Not a pending update on any selected host: ${missing.join(', ')}. Audit the hosts again if they changed.`,
      );
  }
  const options = JobOptions.parse(request.options ?? {});
  const what =
    selection.mode === 'security'
      ? 'security updates'
      : selection.mode === 'packages'
        ? (selection.packages ?? []).join(', ').slice(0, 80)
        : 'all updates';
  const jobId = insertJob(db, {
    name: request.name ?? `Patch ${hosts.length === 1 ? hosts[0]!.name : `${hosts.length} hosts`}: ${what}`,
    selection,
    rebootPolicy: request.rebootPolicy,
    onFailure: request.onFailure,
    concurrency: request.concurrency,
    options,
    steps: plans.map((p) => ({ hostId: p.host.id, packages: p.packages, packageManager: p.packageManager })),
  });
  // Hosts with nothing to do (or that cannot be patched) are settled right away, with the reason.
  for (const step of listSteps(db, jobId)) {
    const plan = plans.find((p) => p.host.id === step.hostId)!;
    const preview: StepPreview = {
      command: '',
      upgrades: [],
      newPackages: [],
      removals: [],
      skipped: plan.skipped,
      ranAt: now(),
    };
    if (plan.problem) {
      updateStep(db, step.id, {
        status: 'failed',
        phase: 'planned',
        preview,
        errorKind: plan.problem.kind,
        errorMessage: plan.problem.message,
      });
    } else if (plan.packages.length === 0) {
      updateStep(db, step.id, {
        status: 'skipped',
        phase: 'planned',
        preview,
        errorMessage: plan.skipped.length ? 'Nothing to patch (see skipped updates).' : 'Nothing to patch.',
      });
    } else {
      updateStep(db, step.id, { preview: { ...preview, ranAt: '' } });
    }
  }
  return { jobId, hosts };
}

export interface SessionOpener {
  (host: Host, signal?: AbortSignal): Promise<StepSession>;
}

export function sessionOpener(deps: PatchDeps, options: JobOptions, timeoutMs = 20_000): SessionOpener {
  const credential = options.credentialId ? getCredentialSummary(deps.db, options.credentialId) : null;
  return (host, signal) =>
    connectHost({ db: deps.db, secrets: deps.secrets, actor: deps.actor }, host, {
      credential,
      timeoutMs,
      signal,
    });
}

export type DryRunOutcome = {
  changes: ReturnType<typeof parseDryRun>;
  command: string;
  code: number | null;
  stderr: string;
};

/** Turns a dry run's output (from its own command or a section of a batched script) into the preview. */
export function dryRunFromOutput(
  pm: PatchPackageManager,
  targets: TargetPackage[],
  output: { stdout: string; stderr: string; code: number | null },
): DryRunOutcome {
  const { command } = dryRunCommand(pm, targets);
  const installed = Object.fromEntries(targets.filter((t) => t.from).map((t) => [t.name, t.from!]));
  const changes = parseDryRun(pm, output.stdout, output.stderr, installed);
  return { changes, command, code: output.code, stderr: output.stderr };
}

/** Runs the dry run on one host over an open session and returns the preview (or throws a classified error). */
export async function dryRunOnSession(
  session: RemoteExec,
  pm: PatchPackageManager,
  targets: TargetPackage[],
  signal?: AbortSignal,
): Promise<DryRunOutcome> {
  assertSafeTargets(pm, targets);
  const { command, sudo } = dryRunCommand(pm, targets);
  const result = await session.run(command, { sudo, timeoutMs: 120_000, signal });
  return dryRunFromOutput(pm, targets, result);
}

/**
 * The plan's dry run with the host's package-state fingerprint taken right before and right after
 * it, in one round-trip. The fingerprint is kept only when both agree: then the preview is the
 * answer for exactly that state, and a pre-check that finds the same print need not ask again.
 */
export async function dryRunWithFingerprint(
  session: RemoteExec,
  pm: PatchPackageManager,
  targets: TargetPackage[],
  signal?: AbortSignal,
): Promise<DryRunOutcome & { fingerprint: string | null }> {
  const print = stateFingerprintCommand(pm);
  if (!print) return { ...(await dryRunOnSession(session, pm, targets, signal)), fingerprint: null };
  assertSafeTargets(pm, targets);
  const { command, sudo } = dryRunCommand(pm, targets);
  const nonce = randomBytes(8).toString('hex');
  const raw = await session.run(
    buildSectionScript(
      [
        { name: 'fp-before', command: print },
        { name: 'dryrun', command },
        { name: 'fp-after', command: print },
      ],
      nonce,
    ),
    { sudo, timeoutMs: 120_000, signal },
  );
  const out = splitSections(raw.stdout, raw.stderr, nonce);
  const dry = out.get('dryrun');
  // A script cut short (no dry-run section at all) is a failed dry run, as a failed command is.
  const run = dryRunFromOutput(
    pm,
    targets,
    dry ?? { stdout: '', stderr: raw.stderr, code: raw.code ?? null },
  );
  const before = parseFingerprint(out.get('fp-before')?.stdout ?? '');
  const after = parseFingerprint(out.get('fp-after')?.stdout ?? '');
  return { ...run, fingerprint: before && before === after ? before : null };
}

/** A dry run's failure in words (apt/dnf errors first). */
export function dryRunProblem(pm: PatchPackageManager, run: DryRunOutcome): string | null {
  const aborted =
    (pm === 'dnf' || pm === 'yum') &&
    run.code === 1 &&
    /Operation aborted|Exiting on user command/.test(run.stderr + run.changes.errors.join('\n'));
  if (run.changes.errors.length) return run.changes.errors.slice(0, 5).join('; ');
  if (run.code !== 0 && !aborted && !((pm === 'dnf' || pm === 'yum') && run.code === 1)) {
    return `the dry run exited with ${run.code ?? 'a signal'}: ${sanitizeText(run.stderr.trim().split('\n').slice(-3).join(' '), { maxLength: 300 })}`;
  }
  return null;
}

/** How many changes a preview lists (upgrades, new packages, removals). */
export function listedChanges(preview: Pick<StepPreview, 'upgrades' | 'newPackages' | 'removals'>): number {
  return preview.upgrades.length + preview.newPackages.length + preview.removals.length;
}

/**
 * A host with targets whose dry run lists no change: nothing on it can be approved, because the
 * operator would be approving a preview that does not say what will change.
 */
export function emptyPreviewMessage(hostName: string, pm: PatchPackageManager, targets: number): string {
  if (!readsDryRun(pm))
    return `${hostName}: Patchdeck cannot read ${pm}'s dry run yet, so it cannot show what would change here; nothing on this host can be approved.`;
  return `${hostName}: the dry run lists no change for the ${targets === 1 ? 'update' : `${targets} updates`} planned here, so there is nothing to approve on this host. Audit it again: it may already be up to date.`;
}

/** Dry-runs every planned step, `concurrency` hosts at a time, and stores each preview. */
export async function dryRunJob(
  deps: PatchDeps,
  jobId: number,
  signal: AbortSignal,
  onHostDone?: (done: number, total: number) => void,
): Promise<void> {
  const job = getJob(deps.db, jobId)!;
  const steps = listSteps(deps.db, jobId).filter((s) => s.status === 'queued' && s.phase === 'planning');
  const open = sessionOpener(deps, job.options);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < steps.length) {
      const step = steps[next++]!;
      const host = getHost(deps.db, step.hostId)!;
      const pm = step.packageManager as PatchPackageManager;
      let session: StepSession | null = null;
      if (step.packageManager === WINDOWS_PACKAGE_MANAGER) {
        // Windows is patched over WinRM only (the task's script does not fit one OpenSSH command
        // line): a PC whose credential logs in over SSH is settled now, before any restart.
        const credential = job.options.credentialId
          ? getCredentialSummary(deps.db, job.options.credentialId)
          : credentialForHost(deps.db, host);
        if (credential && credential.kind !== 'windows') {
          updateStep(deps.db, step.id, {
            status: 'failed',
            phase: 'planned',
            preview: windowsPreview(step.packages, step.preview?.skipped ?? [], now()),
            errorKind: 'unsupported',
            errorMessage: `${host.name}: Windows updates are installed over WinRM, with a Windows credential; the ${credential.name} credential logs in over SSH, and Patchdeck cannot patch Windows over OpenSSH yet.`,
          });
          stepChanged(deps, step.id);
          onHostDone?.(++done, steps.length);
          continue;
        }
        // The approval lists the KBs themselves; the run's pre-check asks the PC.
        updateStep(deps.db, step.id, {
          phase: 'planned',
          preview: windowsPreview(step.packages, step.preview?.skipped ?? [], now()),
        });
        stepChanged(deps, step.id);
        onHostDone?.(++done, steps.length);
        continue;
      }
      try {
        if (signal.aborted) throw new PatchdeckError('cancelled', 'Cancelled.');
        session = await traced(host.name, 'plan.connect', () => open(host, signal));
        const s0 = session;
        const run = await traced(host.name, 'plan.dryrun', () =>
          dryRunWithFingerprint(s0, pm, step.packages, signal),
        );
        const problem = dryRunProblem(pm, run);
        const preview: StepPreview = {
          command: run.command,
          upgrades: run.changes.upgrades,
          newPackages: run.changes.newPackages,
          removals: run.changes.removals,
          skipped: step.preview?.skipped ?? [],
          ranAt: now(),
          ...(run.fingerprint ? { fingerprint: run.fingerprint } : {}),
        };
        if (problem)
          updateStep(deps.db, step.id, {
            status: 'failed',
            phase: 'planned',
            preview,
            errorKind: 'dry-run-failed',
            errorMessage: `${host.name}: ${problem}`,
          });
        else if (listedChanges(preview) === 0)
          updateStep(deps.db, step.id, {
            status: 'failed',
            phase: 'planned',
            preview,
            errorKind: 'dry-run-empty',
            errorMessage: emptyPreviewMessage(host.name, pm, step.packages.length),
          });
        else {
          updateStep(deps.db, step.id, { phase: 'planned', preview });
          // The run that usually follows in this process reuses the connection (see sessions.ts).
          parkSession(deps.db, host, job.options.credentialId ?? null, session);
          session = null;
        }
      } catch (error) {
        const c = signal.aborted ? { kind: 'cancelled', message: 'Cancelled.' } : classifyAuditError(error);
        updateStep(deps.db, step.id, {
          status: signal.aborted ? 'cancelled' : 'failed',
          phase: 'planned',
          errorKind: c.kind,
          errorMessage: c.message,
        });
      } finally {
        void session?.close();
      }
      stepChanged(deps, step.id);
      onHostDone?.(++done, steps.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, steps.length)) }, worker));
}

/** The exact plan the operator approved: hosts, targets and every previewed change. */
export function planDigest(db: Database, jobId: number): string {
  const steps = listSteps(db, jobId)
    .filter((s) => s.status === 'queued')
    .map((s) => ({
      hostId: s.hostId,
      packages: s.packages.map((p) => `${p.name}@${p.to}`).sort(),
      changes: s.preview ? [...changeKeys(s.preview)].sort() : [],
    }));
  return createHash('sha256').update(JSON.stringify(steps)).digest('hex');
}

export function approveJob(deps: PatchDeps, jobId: number): PatchJob {
  const job = getJob(deps.db, jobId);
  if (!job) throw new PatchdeckError('not-found', `Job ${jobId} does not exist.`);
  refuseImportedJob(deps.db, jobId);
  if (job.status !== 'draft')
    throw new PatchdeckError('conflict', `Job ${jobId} is ${job.status}; only a draft can be approved.`);
  const steps = listSteps(deps.db, jobId);
  if (steps.some((s) => s.phase === 'planning'))
    throw new PatchdeckError('conflict', `Job ${jobId}: the dry runs have not finished yet.`);
  const runnable = steps.filter((s) => s.status === 'queued');
  if (runnable.length === 0)
    throw new PatchdeckError(
      'conflict',
      `Job ${jobId} has nothing to install on any host (see each host's reason).`,
    );
  const unlisted = runnable.filter((s) => !s.preview || listedChanges(s.preview) === 0);
  if (unlisted.length)
    throw new PatchdeckError(
      'conflict',
      `Job ${jobId} cannot be approved: the dry run on ${unlisted.map((s) => s.hostName).join(', ')} lists no change, and an approval must say what will change.`,
    );
  const digest = planDigest(deps.db, jobId);
  const at = now();
  deps.db.transaction(() => {
    updateJob(deps.db, jobId, { status: 'approved', approvedBy: deps.actor, approvedAt: at });
    appendAuditLog(deps.db, {
      actor: deps.actor,
      action: 'job.approve',
      entityType: 'patch_job',
      entityId: jobId,
      details: {
        digest,
        rebootPolicy: job.rebootPolicy,
        hosts: runnable.map((s) => ({
          host: s.hostName,
          install: s.packages.map((p) => `${p.name}=${p.to}`),
          newPackages: (s.preview?.newPackages ?? []).map((p) => `${p.name}=${p.to}`),
          removals: (s.preview?.removals ?? []).map((p) => p.name),
        })),
      },
    });
  })();
  const approved = getJob(deps.db, jobId)!;
  deps.events.emit('job.changed', approved);
  return approved;
}

/** The digest recorded when the job was approved (the audit log is append-only). */
export function approvedDigest(db: Database, jobId: number): string | null {
  const entry = listAuditLog(db, { entityType: 'patch_job', limit: 10_000 }).find(
    (e) => e.action === 'job.approve' && e.entityId === String(jobId),
  );
  return typeof entry?.details.digest === 'string' ? entry.details.digest : null;
}
