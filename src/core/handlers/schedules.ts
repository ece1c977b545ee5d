import type { Database } from 'better-sqlite3';
import type { CallArgs, ParsedArgs } from '../../api/contract';
import type { Schedule, ScheduleTarget } from '../../api/schedule-schemas';
import {
  appendAuditLog,
  getCredentialSummary,
  getTask,
  listHosts,
  listNetworks,
  readSettings,
} from '../../db';
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
} from '../../db/schedules';
import { parsePorts } from '../../discovery';
import {
  describeRecurrence,
  firstDueTime,
  overdueSince,
  runScheduleNow,
  scheduleTick,
  type ScheduleDeps,
} from '../../schedules';
import { errorMessage, PatchdeckError } from '../../util/errors';
import type { Core } from '../core';

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

/** The scheduler's doors over the core's open workspace (read per call: the workspace may change). */
export function scheduleDeps(core: Core): ScheduleDeps {
  const ws = () => core.requireWorkspace();
  return {
    get db() {
      return ws().db;
    },
    isRunning: (taskId) =>
      ws()
        .tasks.list({ active: true })
        .some((t) => t.id === taskId),
    changed: (ids) => core.events.emit('entity.changed', { entity: 'schedules', ids }),
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
        const taskId = await startWork(core, db, schedule.target);
        // The run's own task, named after the schedule, so lists and notices say which one ran.
        const task = getTask(db, taskId);
        if (task) {
          db.prepare('UPDATE tasks SET title = ? WHERE id = ?').run(
            `${label}${note?.startsWith('Late') ? ' (late)' : ''}: ${task.title}`.slice(0, 200),
            taskId,
          );
          core.events.emit('task.changed', getTask(db, taskId)!);
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

async function startWork(core: Core, db: Database, target: ScheduleTarget): Promise<number> {
  if (target.kind === 'audit') {
    const hostIds = auditHostIds(db, target.tag);
    if (hostIds.length === 0)
      throw new PatchdeckError(
        'bad-request',
        target.tag
          ? `No inventory host carries the tag "${target.tag}".`
          : 'There are no hosts in the inventory to audit.',
      );
    const { taskId } = await core.call('audits.start', {
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
  const { taskId } = await core.call('discovery.start', {
    ...spec,
    confirm: target.confirm,
    addToInventory: target.addToInventory,
  });
  return taskId;
}

/** Refuses a target that could never run: checked when saved, and again by the work when it runs. */
async function checkTarget(core: Core, db: Database, target: ScheduleTarget): Promise<void> {
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
  const check = await core.call('discovery.check', { targets: targets!, exclude });
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

export function scheduleHandlers(core: Core) {
  const db = () => core.requireWorkspace().db;
  const actor = () => readSettings(db()).operatorName;
  const deps = scheduleDeps(core);
  const requireSchedule = (id: number): ScheduleRecord => {
    const found = getSchedule(db(), id);
    if (!found) throw new PatchdeckError('not-found', `Schedule ${id} does not exist.`);
    return found;
  };
  const refuseDuplicateName = (name: string, id?: number): void => {
    const other = getScheduleByName(db(), name);
    if (other && other.id !== id)
      throw new PatchdeckError('conflict', `A schedule named "${other.name}" already exists.`);
  };
  const changed = (id: number): void =>
    core.events.emit('entity.changed', { entity: 'schedules', ids: [id] });
  return {
    'schedules.list': () => listSchedules(db()).map((s) => toSchedule(db(), s, Date.now())),
    'schedules.create': async (parsed: ParsedArgs<'schedules.create'>) => {
      refuseDuplicateName(parsed.name);
      await checkTarget(core, db(), parsed.target);
      const nowMs = Date.now();
      const record = insertSchedule(db(), {
        name: parsed.name,
        target: parsed.target,
        recurrence: parsed.recurrence,
        ifMissed: parsed.ifMissed,
        enabled: parsed.enabled,
        nextRunAt: parsed.enabled ? new Date(firstDueTime(parsed, nowMs)).toISOString() : null,
      });
      appendAuditLog(db(), {
        actor: actor(),
        action: 'schedule.create',
        entityType: 'schedule',
        entityId: record.id,
        details: { name: record.name, target: record.target, recurrence: record.recurrence },
      });
      changed(record.id);
      return toSchedule(db(), record, nowMs);
    },
    'schedules.update': async ({ id, patch }: ParsedArgs<'schedules.update'>) => {
      const current = requireSchedule(id);
      if (patch.name !== undefined) refuseDuplicateName(patch.name, id);
      if (patch.target) await checkTarget(core, db(), patch.target);
      const nowMs = Date.now();
      const next = { ...current, ...patch };
      // A new time, or switched back on: counted from now. Time while switched off is not "missed".
      const retime =
        patch.recurrence !== undefined ||
        (patch.enabled === true && !current.enabled) ||
        patch.enabled === false;
      const record = updateSchedule(db(), id, {
        ...patch,
        ...(retime
          ? { nextRunAt: next.enabled ? new Date(firstDueTime(next, nowMs)).toISOString() : null }
          : {}),
      })!;
      appendAuditLog(db(), {
        actor: actor(),
        action: 'schedule.update',
        entityType: 'schedule',
        entityId: id,
        details: patch,
      });
      changed(id);
      return toSchedule(db(), record, nowMs);
    },
    'schedules.remove': ({ id }: { id: number }) => {
      const existing = getSchedule(db(), id);
      const removed = deleteSchedule(db(), id);
      if (removed) {
        appendAuditLog(db(), {
          actor: actor(),
          action: 'schedule.remove',
          entityType: 'schedule',
          entityId: id,
          details: { name: existing?.name },
        });
        changed(id);
      }
      return { removed };
    },
    'schedules.runNow': async ({ id }: { id: number }) => {
      const run = await runScheduleNow(deps, requireSchedule(id), Date.now());
      appendAuditLog(db(), {
        actor: actor(),
        action: 'schedule.run',
        entityType: 'schedule',
        entityId: id,
        details: { taskId: run.taskId },
      });
      return run;
    },
    'schedules.runs': ({ id, limit }: CallArgs<'schedules.runs'>) => {
      requireSchedule(id);
      return listScheduleRuns(db(), id, limit ?? 50);
    },
  };
}

/** One pass of recurring work, for the scheduler that also starts patch windows. */
export function scheduleTickOf(core: Core): (nowMs: number) => void {
  const deps = scheduleDeps(core);
  return (nowMs) => {
    void scheduleTick(deps, nowMs).launched.catch(() => undefined);
  };
}
