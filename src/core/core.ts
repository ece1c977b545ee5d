import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { EventBus } from '../api';
import { createRouter, type CallContext, type Handlers, type Router } from '../api';
import type { Task, WorkspaceInfo } from '../api';
import {
  countHosts,
  createWorkspace,
  markInterruptedAudits,
  markInterruptedScans,
  listHosts,
  openWorkspace,
  readSettings,
  readWorkspaceMeta,
  schemaVersion,
  writeSettings,
} from '../db';
import { changeHost, removeHost, requireHost } from '../hosts';
import type { Platform } from '../platform';
import { TaskRunner } from '../tasks';
import { PatchdeckError, systemClock } from '../util';
import { silentLogger, type Logger } from '../util';
import { auditHandlers } from './handlers/audits';
import { startNotifications } from './notifications';
import { credentialHandlers } from './handlers/credentials';
import { discoveryHandlers } from './handlers/discovery';
import { patchHandlers, patchService } from './handlers/patch';
import { markInterruptedJobs } from '../db';
import { startScheduler } from '../patch';
import { hostTrustHandlers } from './handlers/host-trust';
import { offlineHandlers } from './handlers/offline';
import { intelHandlers } from './handlers/intel';
import { advisoryHandlers } from './handlers/advisories';
import { recomputeDueDates } from '../intel';
import { scheduleHandlers } from './handlers/schedules';
import { scheduleTickOf } from '../schedules';
import { APP_VERSION } from './version';
import { backupDatabase } from '../db';
import { handoffHandlers } from './handlers/handoff';
import { portableHandlers } from './handlers/portable';
import { reportHandlers } from './handlers/reports';
import { workspaceHandlers, type WorkspaceSwitcherContext } from './handlers/workspaces';
import {
  recordRecent,
  startNetworkWatch,
  systemGatewayReader,
  type GatewayReader,
  type NetworkWatch,
} from '../workspaces';
import type { CoreContext, Workspace } from './context';
import { reachedOwnHost } from './network-evidence';
import { UploadRegistry } from './uploads';

export type { Workspace } from './context';

export interface CoreOptions {
  platform: Platform;
  carrier: CallContext['carrier'];
  logger?: Logger;
  /** Start scheduled patch jobs when due (default: every carrier but the CLI, whose process is short-lived). */
  runScheduledJobs?: boolean;
  /** Where browser uploads wait for their call (default: a private temp folder, 4 GiB a file). */
  uploads?: UploadRegistry;
  /**
   * The recent workspaces list each opened workspace is recorded in (default: none). The app, the
   * browser mode and the CLI pass `defaultRecentFile()` (recent-workspaces.json in the user data
   * folder); tests pass a file of their own, so that they never touch the user's list.
   */
  recentFile?: string | null;
  /** Reads this machine's default gateway and its MAC (default: the route and neighbour tables). */
  gatewayReader?: GatewayReader;
  /**
   * Learn the gateway MAC in the open workspace when an audit or scan there reaches one of its own
   * hosts, and refresh a known one's last sighting every few minutes (default: no; the app and
   * browser mode do).
   */
  watchNetwork?: boolean;
}

/**
 * The application core: the current workspace, the task runner, the event bus and the router
 * that every carrier (IPC, browser, CLI, tests) calls through.
 */
export class Core implements CoreContext, WorkspaceSwitcherContext {
  readonly events = new EventBus();
  readonly router: Router;
  readonly logger: Logger;
  readonly uploads: UploadRegistry;
  private current: Workspace | null = null;
  private stopScheduler: (() => void) | null = null;
  private networkWatch: NetworkWatch | null = null;
  private stopNetworkEvidence: (() => void) | null = null;
  readonly recentFile: string | null;
  readonly gatewayReader: GatewayReader;

  constructor(readonly options: CoreOptions) {
    this.logger = options.logger ?? silentLogger;
    this.uploads = options.uploads ?? new UploadRegistry();
    this.recentFile = options.recentFile ?? null;
    this.gatewayReader = options.gatewayReader ?? systemGatewayReader();
    this.router = createRouter(this.handlers(), {
      onInternalError: (error) => this.logger.error('internal error', { error: String(error) }),
    });
    // The CLI prints its own closing line; every other carrier may notify when work finishes.
    if (options.carrier !== 'cli') startNotifications(this);
  }

  /** The platform's doors (secrets, dialogs), as handlers see them. */
  get platform(): Platform {
    return this.options.platform;
  }

  get workspace(): Workspace | null {
    return this.current;
  }

  /** The open workspace, or a clear error telling the user to open one. */
  requireWorkspace(): Workspace {
    if (!this.current) {
      throw new PatchdeckError('no-workspace', 'No workspace is open. Create or open one first.');
    }
    return this.current;
  }

  async openWorkspace(
    file: string,
    options: { create?: 'never' | 'if-missing' | 'always' } = {},
  ): Promise<WorkspaceInfo> {
    const resolved = path.resolve(file);
    const mode = options.create ?? 'never';
    if (this.current?.path === resolved && mode !== 'always') return this.workspaceInfo();
    if (this.current && this.current.tasks.activeCount > 0) {
      throw new PatchdeckError(
        'conflict',
        'Tasks are still running in the current workspace; cancel them first.',
      );
    }
    const exists = fs.existsSync(resolved);
    let db: Database;
    let createdNew = false;
    if (mode === 'always' || (mode === 'if-missing' && !exists)) {
      db = createWorkspace(resolved);
      createdNew = true;
    } else {
      db = openWorkspace(resolved);
    }
    await this.closeWorkspace();
    // A crash or forced quit leaves honest records: running audits become interrupted too.
    markInterruptedAudits(db);
    markInterruptedScans(db);
    markInterruptedJobs(db);
    this.current = { path: resolved, db, tasks: new TaskRunner(db, this.events), createdNew };
    // Missed maintenance windows are reported on every open; due jobs start only where the process lives on.
    this.stopScheduler = startScheduler(patchService(this), {
      start: this.options.runScheduledJobs ?? this.options.carrier !== 'cli',
      // Recurring discovery and audits run (and report missed runs) only where the process lives on.
      alsoTick: scheduleTickOf(this),
    });
    this.noteOpened(resolved, db);
    this.events.emit('entity.changed', { entity: 'workspace' });
    return this.workspaceInfo();
  }

  /** Records the opened workspace in the recent list and starts watching for its network; neither ever fails an open. */
  private noteOpened(file: string, db: Database): void {
    if (this.recentFile) {
      try {
        const { warning } = recordRecent(this.recentFile, {
          path: file,
          siteName: readWorkspaceMeta(db).siteName,
          lastOpenedAt: new Date().toISOString(),
        });
        if (warning) this.logger.warn(warning);
      } catch (error) {
        this.logger.warn('the recent workspaces list could not be written', { error: String(error) });
      }
    }
    if (!this.options.watchNetwork) return;
    const watch = startNetworkWatch({
      db,
      read: this.gatewayReader,
      clock: systemClock,
      onError: (error) => this.logger.warn('noting the network failed', { error: String(error) }),
    });
    this.networkWatch = watch;
    // Only evidence teaches a network: work in this workspace that reached one of its own hosts.
    const learned = new Set<number>();
    this.stopNetworkEvidence = this.events.subscribe((event, payload) => {
      if (event !== 'task.changed' || this.current?.db !== db) return;
      const task = payload as Task;
      if (learned.has(task.id)) return;
      try {
        if (!reachedOwnHost(db, task)) return;
      } catch (error) {
        return this.logger.warn('noting the network failed', { error: String(error) });
      }
      learned.add(task.id);
      if (learned.size > 1000) learned.delete(learned.values().next().value!);
      watch.learn();
    });
  }

  /** The open workspace's file and database, or null (the switcher's calls work with none open). */
  openWorkspaceNow(): { path: string; db: Database } | null {
    return this.current ? { path: this.current.path, db: this.current.db } : null;
  }

  warn(message: string, details?: Record<string, unknown>): void {
    this.logger.warn(message, details);
  }

  /** Resolves when the network note in flight (if any) is written; tests wait on it. */
  async networkNoted(): Promise<void> {
    await this.networkWatch?.settled();
  }

  async closeWorkspace(): Promise<void> {
    if (!this.current) return;
    const closing = this.current;
    this.current = null;
    this.stopScheduler?.();
    this.stopScheduler = null;
    this.stopNetworkEvidence?.();
    this.stopNetworkEvidence = null;
    this.networkWatch?.stop();
    this.networkWatch = null;
    await closing.tasks.shutdown();
    closing.db.close();
  }

  workspaceInfo(): WorkspaceInfo {
    const ws = this.requireWorkspace();
    return {
      path: ws.path,
      schemaVersion: schemaVersion(ws.db),
      hostCount: countHosts(ws.db),
      createdNew: ws.createdNew,
    };
  }

  /** Shorthand used by the CLI and tests: call through the router and unwrap the envelope. */
  async call<M extends keyof Handlers>(
    method: M,
    args: unknown = {},
  ): Promise<Awaited<ReturnType<Handlers[M]>>> {
    const envelope = await this.router.call(method, args, { carrier: this.options.carrier });
    if (!envelope.ok)
      throw new PatchdeckError(envelope.error.code as never, envelope.error.message, envelope.error.details);
    return envelope.value as Awaited<ReturnType<Handlers[M]>>;
  }

  private handlers(): Handlers {
    const db = (): Database => this.requireWorkspace().db;
    return {
      'app.info': () => ({
        name: 'Patchdeck',
        version: APP_VERSION,
        carrier: this.options.carrier,
        platform: `${process.platform}-${process.arch}`,
        secretsBackend: this.options.platform.secrets.backend,
        workspace: this.current ? this.workspaceInfo() : null,
      }),
      'workspace.create': ({ path: file }) => this.openWorkspace(file, { create: 'always' }),
      'workspace.open': ({ path: file }) => this.openWorkspace(file),
      'workspace.current': () => (this.current ? this.workspaceInfo() : null),
      'workspace.backup': () => {
        const ws = this.requireWorkspace();
        return backupDatabase(ws.db, ws.path);
      },

      'hosts.list': ({ inventoryOnly }) => listHosts(db(), { inventoryOnly }),
      'hosts.get': ({ id }) => requireHost(db(), id),
      'hosts.update': (args) => changeHost({ db: db(), events: this.events }, args),
      'hosts.remove': (args) => removeHost({ db: db(), events: this.events }, args),

      'settings.get': () => readSettings(db()),
      'settings.set': ({ patch }) => {
        const next = writeSettings(db(), patch);
        // New SLA days: every current finding's due date again (src/intel/enrich.ts).
        if (patch.slaDays) recomputeDueDates(db(), { clock: systemClock, settings: next });
        this.events.emit('entity.changed', { entity: 'settings' });
        return next;
      },

      'tasks.list': ({ active }) => this.requireWorkspace().tasks.list({ active }),
      'tasks.cancel': ({ id }) => ({ cancelled: this.requireWorkspace().tasks.cancel(id) }),
      ...hostTrustHandlers(this),
      ...credentialHandlers(this),
      ...auditHandlers(this),
      ...discoveryHandlers(this),
      ...patchHandlers(this),
      ...offlineHandlers(this),
      ...intelHandlers(this),
      ...advisoryHandlers(this),
      ...scheduleHandlers(this),
      ...reportHandlers(this),
      ...portableHandlers(this),
      ...workspaceHandlers(this),
      ...handoffHandlers(this),
    };
  }
}
