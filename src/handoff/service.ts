import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { CallResult, EventBus, Host, JobStep, ParsedArgs, PatchJob } from '../api';
import { credentialForHost } from '../credentials';
import {
  appendAuditLog,
  appendJobLog,
  getHost,
  getJob,
  jobHandoff,
  listHosts,
  listSteps,
  listTrustedKeys,
  markJobHandedOff,
  now,
  readWorkspaceMeta,
  updateJob,
  updateStep,
} from '../db';
import { winrmEndpointOf } from '../hosts';
import { classifyInstallFailure, planDigest, UnsafePackageError, undoRecipe } from '../patch';
import type { TaskRunner } from '../tasks';
import { PatchdeckError, sanitizeText, type Clock } from '../util';
import {
  ansibleCfgText,
  inventoryNames,
  inventoryYaml,
  isUsableAddress,
  knownHostsLine,
  knownHostsText,
  readmeText,
  type InventoryHost,
} from './inventory';
import { playbookFileName, playbookYaml, type PlaybookStep } from './playbook';
import { hostOutcome, jobIdOfPlay, parseAnsibleResults, ResultsError, RESULTS_MAX_BYTES } from './results';

/** What the hand-off calls need of the workspace. */
export interface HandoffServiceDeps {
  db: Database;
  tasks: TaskRunner;
  events: EventBus;
  clock: Clock;
  actor: string;
  /**
   * Starts the re-audit of hosts as a task (the audit capability's `startAudits`), its task id.
   * Passed in so that the hand-off needs no audit internals.
   */
  startReaudit?: (hostIds: number[]) => number;
  /** Patchdeck's version, named in the files' headers. */
  version?: string;
}

/** The audit log's action for a hand-off; its details keep which inventory name is which host. */
const HANDOFF_ACTION = 'job.handoff';
const RESULTS_ACTION = 'job.ansible-results';

interface Selected {
  hosts: InventoryHost[];
  skipped: { name: string; reason: string }[];
  skippedIds: Map<number, string>;
}

/** Which hosts go into the inventory and how; every host left out says why. */
function selectHosts(db: Database, candidates: Host[]): Selected {
  const hosts: InventoryHost[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const skippedIds = new Map<number, string>();
  const skip = (host: Host, reason: string): void => {
    skipped.push({ name: sanitizeText(host.name, { maxLength: 120 }), reason });
    skippedIds.set(host.id, reason);
  };
  for (const host of candidates) {
    if (host.offlineOnly || !host.address) {
      skip(host, 'no address (an offline-only host: confirm its address in Patchdeck first)');
      continue;
    }
    if (!isUsableAddress(host.address)) {
      skip(host, 'its address is not an IP address or DNS name Ansible can use');
      continue;
    }
    const credential = credentialForHost(db, host);
    const windows = host.osFamily === 'windows';
    if (!credential) {
      skip(host, 'no credential covers it, so Patchdeck does not know which user logs in');
      continue;
    }
    if (windows !== (credential.kind === 'windows')) {
      skip(
        host,
        windows
          ? 'a Windows host whose credential is an SSH login'
          : 'its credential is a Windows account, but the host is reached over SSH',
      );
      continue;
    }
    if (windows) {
      const endpoint = winrmEndpointOf(host);
      hosts.push({
        id: host.id,
        name: host.name,
        address: host.address,
        port: endpoint.port,
        user: credential.username,
        tags: host.tags,
        winrm: endpoint,
        keys: [],
      });
      continue;
    }
    const keys = listTrustedKeys(db, host.id, 'ssh').map((k) => ({
      type: k.type,
      fingerprint: k.fingerprint,
      publicKey: k.publicKey,
    }));
    const usable = keys.filter((k) => 'line' in knownHostsLine(host.address!, host.sshPort, k));
    if (usable.length === 0) {
      skip(
        host,
        keys.length
          ? 'its pinned SSH host key has no usable public key on record (trust it again in Patchdeck)'
          : `no pinned SSH host key (trust it in Patchdeck first: patchdeck hosts trust ${host.id})`,
      );
      continue;
    }
    hosts.push({
      id: host.id,
      name: host.name,
      address: host.address,
      port: host.sshPort,
      user: credential.username,
      tags: host.tags,
      winrm: null,
      keys: usable,
    });
  }
  return { hosts, skipped, skippedIds };
}

/**
 * Entries a portable bundle brought in from another workspace (`details.importedFrom`) are that
 * workspace's record: they never approve, hand off or close a job here.
 */
const LOCAL_ENTRY = `json_valid(details) AND json_extract(details, '$.importedFrom') IS NULL`;

interface AuditEntry {
  id: number;
  at: string;
  details: Record<string, unknown>;
}

/** The newest entry of `action` about the job written in this workspace, or null. */
function newestLocalEntry(db: Database, action: string, jobId: number): AuditEntry | null {
  const row = db
    .prepare(
      `SELECT id, at, details FROM audit_log WHERE action = ? AND entity_type = 'patch_job' AND entity_id = ? AND ${LOCAL_ENTRY} ORDER BY id DESC LIMIT 1`,
    )
    .get(action, String(jobId)) as { id: number; at: string; details: string } | undefined;
  if (!row) return null;
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.details);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      details = parsed as Record<string, unknown>;
  } catch {
    // An unreadable entry keeps its place but says nothing.
  }
  return { id: row.id, at: row.at, details };
}

/** The digest of the job's newest approval in this workspace. */
function approvedDigest(db: Database, jobId: number): string | null {
  const digest = newestLocalEntry(db, 'job.approve', jobId)?.details.digest;
  return typeof digest === 'string' ? digest : null;
}

/** A stored UTC time as `YYYY-MM-DD HH:MM UTC`. */
const minuteOf = (at: string): string => `${at.slice(0, 16).replace('T', ' ')} UTC`;

function requireApprovedJob(db: Database, jobId: number): PatchJob {
  const job = getJob(db, jobId);
  if (!job) throw new PatchdeckError('not-found', `Job ${jobId} does not exist.`);
  if (job.status !== 'approved')
    throw new PatchdeckError(
      'conflict',
      `Job ${jobId} is ${job.status}; only an approved job can be handed to Ansible (approve its dry run first).`,
    );
  return job;
}

/** The steps Ansible runs: queued, with targets and an approved dry run, on apt hosts. */
function stepsToHandOff(db: Database, job: PatchJob): JobStep[] {
  const steps = listSteps(db, job.id).filter((s) => s.status === 'queued' && s.packages.length > 0);
  if (steps.length === 0)
    throw new PatchdeckError('conflict', `Job ${job.id} has no host with approved updates to install.`);
  const other = steps.filter((s) => s.packageManager !== 'apt');
  if (other.length)
    throw new PatchdeckError(
      'bad-request',
      `Job ${job.id} cannot be handed to Ansible: ${other
        .slice(0, 5)
        .map((s) => `${sanitizeText(s.hostName, { maxLength: 60 })} (${s.packageManager ?? 'unknown'})`)
        .join(
          ', ',
        )} ${other.length === 1 ? 'is not an apt host' : 'are not apt hosts'}. The playbook handles apt (Debian, Ubuntu) hosts only; plan a job of apt hosts for Ansible, and let Patchdeck patch the others.`,
    );
  const unplanned = steps.filter((s) => !s.preview?.command);
  if (unplanned.length)
    throw new PatchdeckError(
      'conflict',
      `Job ${job.id} has hosts without an approved dry run (${unplanned
        .slice(0, 5)
        .map((s) => sanitizeText(s.hostName, { maxLength: 60 }))
        .join(', ')}); plan and approve it again.`,
    );
  return steps;
}

function emptyOrNew(dir: string): void {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    return;
  }
  if (!fs.statSync(dir).isDirectory())
    throw new PatchdeckError('conflict', `${dir} is a file; name a folder that is empty or does not exist.`);
  if (fs.readdirSync(dir).length > 0)
    throw new PatchdeckError(
      'conflict',
      `${dir} is not empty; name a folder that is empty or does not exist (nothing was written).`,
    );
}

function hostsToExport(db: Database, hostIds: number[] | undefined, jobSteps: JobStep[]): Host[] {
  const chosen = new Map<number, Host>();
  if (hostIds)
    for (const id of hostIds) {
      const host = getHost(db, id);
      if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
      chosen.set(id, host);
    }
  else if (jobSteps.length === 0) for (const h of listHosts(db, { inventoryOnly: true })) chosen.set(h.id, h);
  for (const s of jobSteps) if (!chosen.has(s.hostId)) chosen.set(s.hostId, getHost(db, s.hostId)!);
  return [...chosen.values()];
}

export async function exportAnsible(
  deps: HandoffServiceDeps,
  args: ParsedArgs<'handoff.exportAnsible'>,
): Promise<CallResult<'handoff.exportAnsible'>> {
  const { db } = deps;
  const dir = path.resolve(args.out);
  const job = args.jobId !== undefined ? requireApprovedJob(db, args.jobId) : null;
  const jobSteps = job ? stepsToHandOff(db, job) : [];
  // Exporting a job again is allowed (a lost folder, a changed inventory), but it is said, and
  // results are then read by this export's host mapping.
  const previous = job ? jobHandoff(db, job.id) : null;
  const replaces =
    job && previous
      ? {
          handedOffAt: previous.at,
          dir: ((d) => (typeof d === 'string' ? d : null))(
            newestLocalEntry(db, HANDOFF_ACTION, job.id)?.details.dir,
          ),
          message: `Job ${job.id} was already handed to Ansible on ${minuteOf(previous.at)}; this export replaces that hand-off's playbook (results are read by this export's inventory names).`,
        }
      : null;
  const selected = selectHosts(db, hostsToExport(db, args.hostIds, jobSteps));
  const names = inventoryNames(selected.hosts);
  const stamp = new Date(deps.clock.now()).toISOString();
  const meta = readWorkspaceMeta(db);
  const header = [
    `Written by Patchdeck ${deps.version ?? ''} on ${stamp} from workspace ${meta.siteName || meta.uuid}.`.replace(
      /\s+/g,
      ' ',
    ),
    'No secrets here: give keys and passwords to Ansible with ssh-agent or Ansible Vault (README.txt).',
  ];
  let playbook: string | null = null;
  let playbookText: string | null = null;
  const groups: Record<string, string[]> = {};
  let digest: string | null = null;
  if (job) {
    const missing = jobSteps.filter((s) => selected.skippedIds.has(s.hostId));
    if (missing.length)
      throw new PatchdeckError(
        'conflict',
        `Job ${job.id} cannot be handed to Ansible: ${missing
          .slice(0, 5)
          .map((s) => `${sanitizeText(s.hostName, { maxLength: 60 })}: ${selected.skippedIds.get(s.hostId)}`)
          .join('; ')}.`,
      );
    digest = approvedDigest(db, job.id);
    const current = planDigest(db, job.id);
    if (digest === null)
      throw new PatchdeckError(
        'conflict',
        `Job ${job.id} has no approval recorded in this workspace (an approval imported from another workspace does not count); approve its dry run here first.`,
      );
    if (digest !== current)
      throw new PatchdeckError(
        'conflict',
        `Job ${job.id}'s plan changed since it was approved; plan and approve it again.`,
      );
    const group = `patchdeck_job_${job.id}`;
    groups[group] = jobSteps.map((s) => names.get(s.hostId)!);
    const steps: PlaybookStep[] = jobSteps.map((s) => {
      const changes = [...s.preview!.upgrades, ...s.preview!.newPackages, ...s.preview!.removals];
      return {
        stepId: s.id,
        hostId: s.hostId,
        hostName: s.hostName,
        inventoryName: names.get(s.hostId)!,
        targets: s.packages,
        allowed: [...new Set(changes.map((c) => `${c.name}@${c.to ?? '-'}`))],
        names: [...new Set([...s.packages.map((p) => p.name), ...changes.map((c) => c.name)])],
      };
    });
    try {
      playbookText = playbookYaml({ job, digest, steps, group, header });
    } catch (error) {
      if (error instanceof UnsafePackageError || (error instanceof Error && /^unsafe/.test(error.message)))
        throw new PatchdeckError(
          'bad-request',
          `Job ${job.id} cannot be handed to Ansible: ${sanitizeText(error.message, { maxLength: 200 })}`,
        );
      throw error;
    }
    playbook = playbookFileName(job.id);
  }
  const files: [string, string][] = [
    ['inventory.yml', inventoryYaml({ hosts: selected.hosts, groups, header })],
    ['known_hosts', knownHostsText(selected.hosts, header)],
    ['ansible.cfg', ansibleCfgText(header)],
    ['README.txt', readmeText({ header, playbook, skipped: selected.skipped })],
    ...(playbook && playbookText ? ([[playbook, playbookText]] as [string, string][]) : []),
  ];
  emptyOrNew(dir);
  const written: string[] = [];
  try {
    for (const [name, text] of files) {
      fs.writeFileSync(path.join(dir, name), text, { mode: 0o644, flag: 'wx' });
      written.push(name);
    }
  } catch (error) {
    for (const name of written) fs.rmSync(path.join(dir, name), { force: true });
    throw error;
  }
  if (job) {
    const at = now();
    db.transaction(() => {
      markJobHandedOff(db, job.id, 'ansible', at);
      appendAuditLog(db, {
        actor: deps.actor,
        action: HANDOFF_ACTION,
        entityType: 'patch_job',
        entityId: job.id,
        details: {
          to: 'ansible',
          dir,
          playbook,
          digest,
          // Which inventory name is which host and step: the results import reads it back.
          hosts: Object.fromEntries(jobSteps.map((s) => [names.get(s.hostId)!, s.hostId])),
          ...(replaces
            ? { repeated: true, replaces: { handedOffAt: replaces.handedOffAt, dir: replaces.dir } }
            : {}),
        },
      });
      appendJobLog(db, {
        jobId: job.id,
        stepId: null,
        stream: 'info',
        text: replaces
          ? `handed to Ansible again: ${playbook} in ${dir} (${jobSteps.length} host(s)) replaces the hand-off of ${minuteOf(replaces.handedOffAt)}${replaces.dir ? ` in ${replaces.dir}` : ''}; Patchdeck will not run this job itself`
          : `handed to Ansible: ${playbook} in ${dir} (${jobSteps.length} host(s)); Patchdeck will not run this job itself`,
      });
    })();
    deps.events.emit('job.changed', getJob(db, job.id)!);
    deps.events.emit('entity.changed', { entity: 'jobs', ids: [job.id] });
  } else {
    appendAuditLog(db, {
      actor: deps.actor,
      action: 'handoff.inventory',
      details: { to: 'ansible', dir, hosts: selected.hosts.length, skipped: selected.skipped.length },
    });
  }
  return {
    dir,
    files: files.map(([name]) => name),
    hosts: selected.hosts.length,
    skipped: selected.skipped,
    playbook,
    replaces,
  };
}

/** The newest hand-off of the job made in this workspace: inventory name → host id. */
function handoffHosts(db: Database, jobId: number): Map<string, number> {
  const out = new Map<string, number>();
  const hosts = newestLocalEntry(db, HANDOFF_ACTION, jobId)?.details.hosts;
  if (!hosts || typeof hosts !== 'object' || Array.isArray(hosts)) return out;
  for (const [name, id] of Object.entries(hosts)) if (typeof id === 'number') out.set(name, id);
  return out;
}

function readResultsFile(file: string): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new PatchdeckError('not-found', `${file} does not exist.`);
  }
  if (!stat.isFile()) throw new PatchdeckError('bad-request', `${file} is not a file.`);
  if (stat.size > RESULTS_MAX_BYTES)
    throw new PatchdeckError(
      'bad-request',
      `${file} is larger than ${RESULTS_MAX_BYTES / 1024 / 1024} MiB; refused, nothing was written.`,
    );
  return fs.readFileSync(file);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const isoOrNull = (text: string | null): string | null =>
  text && ISO.test(text) && Number.isFinite(Date.parse(text))
    ? new Date(Date.parse(text)).toISOString()
    : null;

export async function importAnsibleResults(
  deps: HandoffServiceDeps,
  args: ParsedArgs<'handoff.importAnsibleResults'>,
): Promise<CallResult<'handoff.importAnsibleResults'>> {
  const { db } = deps;
  const file = path.resolve(args.path);
  const label = sanitizeText(path.basename(file), { maxLength: 120 });
  const bytes = readResultsFile(file);
  let results;
  try {
    results = parseAnsibleResults(bytes, label);
  } catch (error) {
    if (error instanceof ResultsError)
      throw new PatchdeckError('bad-request', `${error.message} Nothing was written.`);
    throw error;
  }
  const named = results.plays
    .map((p, i) => ({ i, id: jobIdOfPlay(p.play.name) }))
    .filter((p) => p.id !== null);
  const jobId = args.jobId ?? named[0]?.id ?? null;
  if (jobId === null)
    throw new PatchdeckError(
      'bad-request',
      `${label} names no Patchdeck job (no play "Patchdeck job #N"); give the job with --job N. Nothing was written.`,
    );
  const play = results.plays[named.find((p) => p.id === jobId)?.i ?? (args.jobId ? 0 : -1)];
  if (!play)
    throw new PatchdeckError('bad-request', `${label} holds no play of job ${jobId}. Nothing was written.`);
  const job = getJob(db, jobId);
  if (!job) throw new PatchdeckError('not-found', `Job ${jobId} does not exist.`);
  const handoff = jobHandoff(db, jobId);
  if (!handoff || handoff.to !== 'ansible')
    throw new PatchdeckError(
      'conflict',
      `Job ${jobId} was never handed to Ansible (export it with \`patchdeck export ansible --job ${jobId}\`); nothing was written.`,
    );
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // Results close the job: once imported, another file replaces them only when asked to.
  const earlier = newestLocalEntry(db, RESULTS_ACTION, jobId);
  const again = db
    .prepare(
      `SELECT at FROM audit_log WHERE action = ? AND entity_type = 'patch_job' AND entity_id = ? AND json_extract(details, '$.sha256') = ? AND ${LOCAL_ENTRY} ORDER BY id DESC LIMIT 1`,
    )
    .get(RESULTS_ACTION, String(jobId), sha256) as { at: string } | undefined;
  if (again && (!args.replace || earlier?.details.sha256 === sha256))
    throw new PatchdeckError(
      'conflict',
      `${label} was already imported into job ${jobId} on ${minuteOf(again.at)}; nothing changed.`,
    );
  const earlierFile =
    typeof earlier?.details.file === 'string' ? sanitizeText(earlier.details.file, { maxLength: 120 }) : null;
  if (earlier && !args.replace)
    throw new PatchdeckError(
      'conflict',
      `Job ${jobId}'s Ansible results were already imported on ${minuteOf(earlier.at)}${earlierFile ? ` from ${earlierFile}` : ''}, which settled the job as ${job.status}; ${label} was not imported and nothing changed. To replace those results with ${label}, import it again with --replace (\`patchdeck import ansible-results ${label} --job ${jobId} --replace\`); the replacement is written to the audit log.`,
    );
  const mapping = handoffHosts(db, jobId);
  const byHost = new Map([...mapping.entries()].map(([name, id]) => [id, name]));
  const steps = listSteps(db, jobId).filter((s) => byHost.has(s.hostId));
  if (steps.length === 0)
    throw new PatchdeckError('conflict', `Job ${jobId} has no host handed to Ansible; nothing was written.`);
  const classify = (output: string, code: number | null) => {
    const f = classifyInstallFailure('apt', output, code, job.options.lockWaitSeconds);
    return { kind: f.kind, message: f.message };
  };
  const outcomes = steps.map((step) => ({
    step,
    outcome: hostOutcome(play, byHost.get(step.hostId)!, step.packages, classify),
  }));
  const stamp = now();
  db.transaction(() => {
    for (const { step, outcome } of outcomes) {
      const before = outcome.before ?? {};
      const after = outcome.after;
      const changed =
        after === null
          ? null
          : Object.keys({ ...before, ...after }).filter((n) => (before[n] ?? null) !== (after[n] ?? null));
      updateStep(db, step.id, {
        status: outcome.status,
        phase: 'done',
        errorKind: outcome.errorKind,
        errorMessage: outcome.message,
        ...(outcome.before ? { before: Object.fromEntries(Object.entries(before)) } : {}),
        // Replaced results say nothing of what an earlier file claimed was installed.
        ...(earlier && !(after && changed) ? { after: null, undoRecipe: null } : {}),
        ...(after && changed
          ? {
              after: Object.fromEntries(
                Object.keys({ ...before, ...after }).map((n) => [n, after[n] ?? null]),
              ),
              undoRecipe: undoRecipe({
                pm: 'apt',
                before: Object.fromEntries(changed.map((n) => [n, before[n] ?? null])),
                after: Object.fromEntries(changed.map((n) => [n, after[n] ?? null])),
              }),
            }
          : {}),
        startedAt: isoOrNull(outcome.startedAt) ?? step.startedAt ?? stamp,
        finishedAt: isoOrNull(outcome.finishedAt) ?? stamp,
      });
      const name = sanitizeText(step.hostName, { maxLength: 120 });
      for (const line of outcome.log.slice(0, 50))
        appendJobLog(db, { jobId, stepId: step.id, stream: 'info', text: `${name}: ${line}` });
      appendJobLog(db, {
        jobId,
        stepId: step.id,
        stream: outcome.status === 'failed' ? 'error' : 'info',
        text:
          outcome.status === 'failed'
            ? `${name}: failed under Ansible (${outcome.errorKind}): ${outcome.message}`
            : `${name}: verified from the Ansible results: ${step.packages.length} update(s) at the approved versions${outcome.status === 'reboot-pending' ? '; reboot pending' : ''}`,
      });
    }
    const failed = outcomes.filter((o) => o.outcome.status === 'failed').length;
    const message = `Run by Ansible, results ${earlier ? 'replaced' : 'imported'} from ${label}: ${outcomes.length - failed} of ${outcomes.length} host(s) verified${failed ? `, ${failed} failed` : ''}.`;
    const starts = outcomes.map((o) => isoOrNull(o.outcome.startedAt)).filter((s): s is string => s !== null);
    updateJob(db, jobId, {
      status: failed ? 'failed' : 'succeeded',
      message,
      startedAt: job.startedAt ?? starts.sort()[0] ?? stamp,
      finishedAt: stamp,
    });
    if (earlier)
      appendJobLog(db, {
        jobId,
        stepId: null,
        stream: 'info',
        text: `${label} replaces the Ansible results imported on ${minuteOf(earlier.at)}${earlierFile ? ` from ${earlierFile}` : ''} (the job was ${job.status})`,
      });
    appendJobLog(db, { jobId, stepId: null, stream: failed ? 'error' : 'info', text: message });
    appendAuditLog(db, {
      actor: deps.actor,
      action: RESULTS_ACTION,
      entityType: 'patch_job',
      entityId: jobId,
      details: {
        file: label,
        sha256,
        steps: Object.fromEntries(outcomes.map((o) => [String(o.step.id), o.outcome.status])),
        ...(earlier
          ? {
              replaced: {
                entryId: earlier.id,
                at: earlier.at,
                file: earlierFile,
                sha256: earlier.details.sha256 ?? null,
                status: job.status,
              },
            }
          : {}),
      },
    });
  })();
  deps.events.emit('job.changed', getJob(db, jobId)!);
  deps.events.emit('entity.changed', { entity: 'jobs', ids: [jobId] });
  let auditTaskId: number | null = null;
  if (args.reaudit !== false && deps.startReaudit) {
    const reachable = outcomes.filter((o) => o.outcome.errorKind !== 'not-run').map((o) => o.step.hostId);
    if (reachable.length) auditTaskId = deps.startReaudit(reachable);
  }
  return {
    jobId,
    steps: outcomes.map((o) => ({
      host: o.step.hostName,
      status: o.outcome.status,
      message: o.outcome.message,
    })),
    auditTaskId,
    replaced: earlier ? { at: earlier.at, file: earlierFile } : null,
  };
}
