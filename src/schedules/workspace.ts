/**
 * Schedules over a workspace: save, change, remove and run recurring discovery and audits, and
 * the doors the scheduler (service.ts) uses to start their work. The work starts through the
 * contract, as a user's start does, so a scheduled run is checked and reported the same way.
 */
import type { Database } from 'better-sqlite3';
import type { CallArgs, CallResult, Method, ParsedArgs } from '../api';
import type { EventBus } from '../api';
import type { Handlers } from '../api';
import type { Schedule, ScheduleTarget } from '../api';
import { appendAuditLog, getCredentialSummary, getTask, listHosts, listNetworks, readSettings } from '../db';
import {
  deleteSchedule,
  getSchedule,
  getScheduleByName,
  insertSchedule,
  latestScheduleRuns,
  listScheduleRuns,
  listSchedules,
  updateSchedule,
  type ScheduleRecord,
} from '../db';
import { parsePorts } from '../discovery';
import type { TaskRunner } from '../tasks';
import { errorMessage, PatchdeckError } from '../util';
import { systemClock, type Clock } from '../util';
import { describeRecurrence } from './recurrence';
import { firstDueTime, overdueSince, runScheduleNow, scheduleTick, type ScheduleDeps } from './service';

/** What schedules need of the core: the open workspace, the event bus, and the contract's calls. */
export interface ScheduleHost {
  requireWorkspace(): { db: Database; tasks: TaskRunner };
  readonly events: EventBus;
  call<M extends Method>(method: M, args: CallArgs<M>): Promise<Awaited<ReturnType<Handlers[M]>>>;
  /** The clock schedules are timed on (the scheduler's own passes get theirs from its tick). */
  readonly clock?: Clock;
}

const nowOf = (host: ScheduleHost): number => (host.clock ?? systemClock).now();

function describeTarget(db: Database, target: ScheduleTarget): string {
  if (target.kind === 'audit')
    return target.tag ? `audit inventory hosts tagged "${target.tag}"` : 'audit every inventory host';
  if (target.networkId !== undefined) {
    const network = listNetworks(db).find((n) => n.id === target.networkId);
    return network
      ? `discover network ${network.name} (${network.targets.slice(0, 80)})`
      : `discover saved network ${target.networkId} (removed)`;
  }
  return `discover ${target.targets!.slice(0, 80)}`;
}

function toSchedule(db: Database, record: ScheduleRecord, nowMs: number): Schedule {
  return {
    ...record,
    when: describeRecurrence(record.recurrence),
    what: describeTarget(db, record.target),
    overdueSince: overdueSince(record, nowMs),
    ...latestScheduleRuns(db, record.id),
  };
}

/** The inventory hosts an audit schedule covers now (tags compare without regard to case). */
function auditHostIds(db: Database, tag: string | undefined): number[] {
  const wanted = tag?.toLowerCase();
  return listHosts(db, { inventoryOnly: true })
    .filter((h) => wanted === undefined || h.tags.some((t) => t.toLowerCase() === wanted))
    .map((h) => h.id);
}

/** The scheduler's doors over the host's open workspace (read per call: the workspace may change). */
export function scheduleDeps(host: ScheduleHost): ScheduleDeps {
  const ws = () => host.requireWorkspace();
  return {
    get db() {
      return ws().db;
    },
    isRunning: (taskId) =>
      ws()
        .tasks.list({ active: true })
        .some((t) => t.id === taskId),
    changed: (ids) => host.events.emit('entity.changed', { entity: 'schedules', ids }),
    async reportMissed(schedule, message) {
      const { tasks } = ws();
      const { task } = tasks.start(
        {
          kind: schedule.target.kind,
          title: `Scheduled "${schedule.name}": missed`,
          params: { scheduleId: schedule.id },
        },
        () => Promise.reject(new PatchdeckError('conflict', message)),
      );
      await tasks.wait(task.id);
      return task.id;
    },
    async launch(schedule, note) {
      const { db, tasks } = ws();
      const label = `Scheduled "${schedule.name}"`;
      try {
        const taskId = await startWork(host, db, schedule.target);
        // The run's own task, named after the schedule, so lists and notices say which one ran.
        const task = getTask(db, taskId);
        if (task) {
          db.prepare('UPDATE tasks SET title = ? WHERE id = ?').run(
            `${label}${note?.startsWith('Late') ? ' (late)' : ''}: ${task.title}`.slice(0, 200),
            taskId,
          );
          host.events.emit('task.changed', getTask(db, taskId)!);
        }
        return { taskId, started: true };
      } catch (error) {
        // Refused before any work (no host carries the tag, the network was removed, the range
        // grew past a /16): still an ordinary task, failed, with the reason as its error.
        const { task } = tasks.start(
          {
            kind: schedule.target.kind,
            title: `${label}: could not start`,
            params: { scheduleId: schedule.id },
          },
          () => Promise.reject(new PatchdeckError('bad-request', errorMessage(error))),
        );
        await tasks.wait(task.id);
        return { taskId: task.id, started: false };
      }
    },
  };
}

async function startWork(host: ScheduleHost, db: Database, target: ScheduleTarget): Promise<number> {
  if (target.kind === 'audit') {
    const hostIds = auditHostIds(db, target.tag);
    if (hostIds.length === 0)
      throw new PatchdeckError(
        'bad-request',
        target.tag
          ? `No inventory host carries the tag "${target.tag}".`
          : 'There are no hosts in the inventory to audit.',
      );
    const { taskId } = await host.call('audits.start', {
      hostIds,
      credentialId: target.credentialId,
      refresh: target.refresh,
    });
    return taskId;
  }
  let spec = { targets: target.targets ?? '', exclude: target.exclude, ports: target.ports };
  if (target.networkId !== undefined) {
    const network = listNetworks(db).find((n) => n.id === target.networkId);
    if (!network) throw new PatchdeckError('not-found', `The saved network ${target.networkId} was removed.`);
    spec = {
      targets: network.targets,
      exclude: [network.exclude, target.exclude].filter(Boolean).join(',') || undefined,
      ports: target.ports ?? network.ports ?? undefined,
    };
  }
  // Never `force`: a scheduled scan above a /16 is refused, whatever was typed.
  const { taskId } = await host.call('discovery.start', {
    ...spec,
    confirm: target.confirm,
    addToInventory: target.addToInventory,
  });
  return taskId;
}

/** Refuses a target that could never run: checked when saved, and again by the work when it runs. */
async function checkTarget(host: ScheduleHost, db: Database, target: ScheduleTarget): Promise<void> {
  if (target.kind === 'audit') {
    if (target.credentialId !== undefined && !getCredentialSummary(db, target.credentialId))
      throw new PatchdeckError('not-found', `Credential ${target.credentialId} does not exist.`);
    return;
  }
  let targets = target.targets;
  let exclude = target.exclude;
  if (target.networkId !== undefined) {
    const network = listNetworks(db).find((n) => n.id === target.networkId);
    if (!network) throw new PatchdeckError('not-found', `Saved network ${target.networkId} does not exist.`);
    targets = network.targets;
    exclude = [network.exclude, target.exclude].filter(Boolean).join(',') || undefined;
  }
  if (target.ports !== undefined) {
    try {
      parsePorts(target.ports);
    } catch (error) {
      throw new PatchdeckError('bad-request', errorMessage(error));
    }
  }
  const check = await host.call('discovery.check', { targets: targets!, exclude });
  if (check.refused || check.addresses > 65_536)
    throw new PatchdeckError(
      'bad-request',
      `That is ${check.addresses.toLocaleString('en-US')} addresses: a scheduled scan covers at most a /16. Narrow the range.`,
    );
  if (check.errors.length)
    throw new PatchdeckError(
      'bad-request',
      `Cannot scan these targets: ${check.errors.slice(0, 3).join('; ')}`,
    );
  if (check.addresses === 0) throw new PatchdeckError('bad-request', 'The targets leave no address to scan.');
  if (check.needsConfirmation && !target.confirm)
    throw new PatchdeckError(
      'conflict',
      `That is ${check.addresses.toLocaleString('en-US')} addresses (more than a /22). Confirm to scan them all on this schedule.`,
    );
}

const actorOf = (db: Database): string => readSettings(db).operatorName;

function requireSchedule(db: Database, id: number): ScheduleRecord {
  const found = getSchedule(db, id);
  if (!found) throw new PatchdeckError('not-found', `Schedule ${id} does not exist.`);
  return found;
}

function refuseDuplicateName(db: Database, name: string, id?: number): void {
  const other = getScheduleByName(db, name);
  if (other && other.id !== id)
    throw new PatchdeckError('conflict', `A schedule named "${other.name}" already exists.`);
}

const changed = (host: ScheduleHost, id: number): void =>
  host.events.emit('entity.changed', { entity: 'schedules', ids: [id] });

/** Every schedule, each with what it does and when in words, and its latest runs. */
/** Every schedule as the window shows it, timed on the host's clock like saving and running them. */
export function listScheduleViews(host: ScheduleHost): Schedule[] {
  const db = host.requireWorkspace().db;
  const nowMs = nowOf(host);
  return listSchedules(db).map((s) => toSchedule(db, s, nowMs));
}

/** Saves a new schedule after checking that its target could run; records who saved it. */
export async function createSchedule(
  host: ScheduleHost,
  parsed: ParsedArgs<'schedules.create'>,
): Promise<Schedule> {
  const db = () => host.requireWorkspace().db;
  refuseDuplicateName(db(), parsed.name);
  await checkTarget(host, db(), parsed.target);
  const nowMs = nowOf(host);
  const record = insertSchedule(db(), {
    name: parsed.name,
    target: parsed.target,
    recurrence: parsed.recurrence,
    ifMissed: parsed.ifMissed,
    enabled: parsed.enabled,
    nextRunAt: parsed.enabled ? new Date(firstDueTime(parsed, nowMs)).toISOString() : null,
  });
  appendAuditLog(db(), {
    actor: actorOf(db()),
    action: 'schedule.create',
    entityType: 'schedule',
    entityId: record.id,
    details: { name: record.name, target: record.target, recurrence: record.recurrence },
  });
  changed(host, record.id);
  return toSchedule(db(), record, nowMs);
}

/**
 * Changes a schedule (a new target is checked again). A new time, or switching it on or off,
 * counts the next run from now; records who changed what.
 */
export async function changeSchedule(
  host: ScheduleHost,
  { id, patch }: ParsedArgs<'schedules.update'>,
): Promise<Schedule> {
  const db = () => host.requireWorkspace().db;
  const current = requireSchedule(db(), id);
  if (patch.name !== undefined) refuseDuplicateName(db(), patch.name, id);
  if (patch.target) await checkTarget(host, db(), patch.target);
  const nowMs = nowOf(host);
  const next = { ...current, ...patch };
  // A new time, or switched back on: counted from now. Time while switched off is not "missed".
  const retime =
    patch.recurrence !== undefined || (patch.enabled === true && !current.enabled) || patch.enabled === false;
  const record = updateSchedule(db(), id, {
    ...patch,
    ...(retime ? { nextRunAt: next.enabled ? new Date(firstDueTime(next, nowMs)).toISOString() : null } : {}),
  })!;
  appendAuditLog(db(), {
    actor: actorOf(db()),
    action: 'schedule.update',
    entityType: 'schedule',
    entityId: id,
    details: patch,
  });
  changed(host, id);
  return toSchedule(db(), record, nowMs);
}

/** Removes a schedule (its runs' tasks stay) and records who removed it. */
export function removeSchedule(host: ScheduleHost, id: number): { removed: boolean } {
  const { db } = host.requireWorkspace();
  const existing = getSchedule(db, id);
  const removed = deleteSchedule(db, id);
  if (removed) {
    appendAuditLog(db, {
      actor: actorOf(db),
      action: 'schedule.remove',
      entityType: 'schedule',
      entityId: id,
      details: { name: existing?.name },
    });
    changed(host, id);
  }
  return { removed };
}

/** Runs a schedule's work now, whatever its time, and records who asked. */
export async function runScheduleByHand(
  host: ScheduleHost,
  id: number,
): Promise<CallResult<'schedules.runNow'>> {
  const db = () => host.requireWorkspace().db;
  const run = await runScheduleNow(scheduleDeps(host), requireSchedule(db(), id), nowOf(host));
  appendAuditLog(db(), {
    actor: actorOf(db()),
    action: 'schedule.run',
    entityType: 'schedule',
    entityId: id,
    details: { taskId: run.taskId },
  });
  return run;
}

/** A schedule's runs, newest first (50 unless told). */
export function listRunsOf(
  db: Database,
  { id, limit }: ParsedArgs<'schedules.runs'>,
): CallResult<'schedules.runs'> {
  requireSchedule(db, id);
  return listScheduleRuns(db, id, limit ?? 50);
}

/** One pass of recurring work, for the scheduler that also starts patch windows. */
export function scheduleTickOf(host: ScheduleHost): (nowMs: number) => void {
  const deps = scheduleDeps(host);
  return (nowMs) => {
    void scheduleTick(deps, nowMs).launched.catch(() => undefined);
  };
}
