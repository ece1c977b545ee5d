import type { Database } from 'better-sqlite3';
import type { AppNotification, EventBus, Task } from '../api';
import { readSettings } from '../db';
import { outcomeTone, outcomeWord } from '../tasks';
import type { Platform } from '../platform';
import type { Logger } from '../util';
import type { Workspace } from './context';

/** The work an admin leaves running and wants to hear about; quick calls and dry runs are not. */
const NOTIFIED_KINDS = new Set(['audit', 'patch', 'discovery']);

/**
 * What notifications read of the core, and nothing more: its events, the open workspace if there
 * is one (no workspace is no error here: there is simply nothing to read the settings from), the
 * platform's notify door and a logger for what could not be shown.
 */
export interface NotificationSource {
  readonly events: EventBus;
  readonly workspace: Pick<Workspace, 'db'> | null;
  readonly platform: Pick<Platform, 'notify'>;
  readonly logger: Pick<Logger, 'warn'>;
}

const finished = (task: Task): boolean => task.status !== 'running' && task.status !== 'queued';

/** A finished task's notification: the same outcome and summary the task records, nothing else. */
export function taskNotification(task: Task): AppNotification {
  // By outcome, not status: patched hosts that wait for their reboot are news, not a quiet success.
  const shade = outcomeTone(task);
  const tone = shade === 'neutral' ? 'danger' : shade;
  return {
    title: `${task.title} — ${outcomeWord(task)}`.slice(0, 300),
    body: (task.summary ?? task.error ?? outcomeWord(task)).slice(0, 1000),
    tone,
    taskId: task.id,
  };
}

/** Hosts whose audit in this task (an audit, or a patch job's re-audit) says a reboot is needed. */
export function rebootNotification(db: Database, task: Task): AppNotification | null {
  const names = (
    db
      .prepare(
        `SELECT DISTINCT h.name FROM audits a JOIN hosts h ON h.id = a.host_id
         WHERE a.task_id = ? AND a.status = 'succeeded' AND a.reboot_required = 1
           AND a.id = (SELECT MAX(b.id) FROM audits b WHERE b.host_id = a.host_id AND b.task_id = a.task_id)
         ORDER BY h.name`,
      )
      .all(task.id) as { name: string }[]
  ).map((r) => r.name);
  if (names.length === 0) return null;
  const shown =
    names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  return {
    title: names.length === 1 ? `${names[0]} needs a reboot` : `${names.length} hosts need a reboot`,
    body: `${shown} ${names.length === 1 ? 'needs' : 'need'} a reboot to finish installing updates.`.slice(
      0,
      1000,
    ),
    tone: 'warn',
    taskId: task.id,
  };
}

/**
 * Tells the admin when work finishes or fails, and when hosts need a reboot, if Settings asks for
 * it: through the platform's OS notifications (the desktop app), or, where the platform has none,
 * as a `notification` event that browser mode shows with the Notification API. The CLI prints its
 * own closing line instead.
 */
export function startNotifications(core: NotificationSource): () => void {
  const seen = new Set<number>();
  return core.events.subscribe((event, payload) => {
    if (event !== 'task.changed') return;
    const task = payload as Task;
    if (!finished(task) || !NOTIFIED_KINDS.has(task.kind) || seen.has(task.id)) return;
    const ws = core.workspace;
    if (!ws) return;
    seen.add(task.id);
    if (seen.size > 1000) seen.delete(seen.values().next().value!);
    let wanted = false;
    let reboot: AppNotification | null = null;
    try {
      wanted = readSettings(ws.db).notifyWhenWorkFinishes;
      if (wanted && (task.kind === 'audit' || task.kind === 'patch'))
        reboot = rebootNotification(ws.db, task);
    } catch (error) {
      core.logger.warn('notification skipped', { error: String(error) });
    }
    if (!wanted) return;
    for (const notification of [taskNotification(task), reboot]) {
      if (!notification) continue;
      const platform = core.platform;
      if (!platform.notify) {
        core.events.emit('notification', notification);
        continue;
      }
      platform
        .notify(notification)
        .catch((error: unknown) => core.logger.warn('notification failed', { error: String(error) }));
    }
  });
}
