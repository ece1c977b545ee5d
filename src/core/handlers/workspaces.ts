import type { Handlers } from '../../api';
import { readWorkspaceMeta, setSiteName } from '../../db';
import { listRecentWorkspaces, renameRecent, suggestWorkspace, type GatewayReader } from '../../workspaces';
import type { CoreContext } from '../context';

type WorkspaceHandlers = Pick<Handlers, 'workspaces.recent' | 'workspaces.setSite' | 'workspaces.suggestion'>;

/** What the switcher's calls need of the core beyond the open workspace. */
export interface WorkspaceSwitcherContext extends CoreContext {
  /** The recent list's file, or null when this core keeps none (tests). */
  readonly recentFile: string | null;
  readonly gatewayReader: GatewayReader;
  /** The open workspace's file and database, or null (these calls work with none open). */
  openWorkspaceNow(): { path: string; db: import('better-sqlite3').Database } | null;
  warn(message: string, details?: Record<string, unknown>): void;
}

/** The workspace switcher's calls onto src/workspaces. */
export function workspaceHandlers(core: WorkspaceSwitcherContext): WorkspaceHandlers {
  return {
    'workspaces.recent': () => listRecentWorkspaces(core.recentFile, core.openWorkspaceNow()),
    'workspaces.setSite': ({ siteName }) => {
      const ws = core.requireWorkspace();
      const stored = setSiteName(ws.db, siteName);
      if (core.recentFile) {
        try {
          renameRecent(core.recentFile, ws.path, stored);
        } catch (error) {
          core.warn('the recent workspaces list could not be updated', { error: String(error) });
        }
      }
      core.events.emit('entity.changed', { entity: 'workspace' });
      return { siteName: readWorkspaceMeta(ws.db).siteName };
    },
    'workspaces.suggestion': () =>
      suggestWorkspace({
        recentFile: core.recentFile,
        open: core.openWorkspaceNow(),
        readGateway: core.gatewayReader,
      }),
  };
}
