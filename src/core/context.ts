import type { Database } from 'better-sqlite3';
import type { EventBus } from '../api';
import type { Platform } from '../platform';
import type { TaskRunner } from '../tasks';
import type { UploadRegistry } from './uploads';

/** The open workspace: its file, its database and the task runner that records work in it. */
export interface Workspace {
  path: string;
  db: Database;
  tasks: TaskRunner;
  createdNew: boolean;
}

/**
 * What a handler may use of the core, and nothing more: the open workspace (database and tasks),
 * the event bus and the platform's doors (secrets, dialogs). Handlers take this, not
 * the `Core` class, so that they depend on an interface and never on the module that builds them.
 */
export interface CoreContext {
  readonly events: EventBus;
  readonly platform: Platform;
  /** Files the browser carrier received (browser mode), claimed by id. */
  readonly uploads: UploadRegistry;
  /** The open workspace, or a clear error telling the user to open one. */
  requireWorkspace(): Workspace;
}
