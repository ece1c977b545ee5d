import type { Handlers } from '../../api';
import { PatchdeckError } from '../../util';
import type { CoreContext } from '../context';

type WorkspaceHandlers = Pick<Handlers, 'workspaces.recent' | 'workspaces.setSite' | 'workspaces.suggestion'>;

const notYet = (): never => {
  throw new PatchdeckError('unavailable', 'The workspace switcher is not built yet.');
};

/** The workspace switcher's calls onto src/workspaces. */
export function workspaceHandlers(_core: CoreContext): WorkspaceHandlers {
  return {
    'workspaces.recent': notYet,
    'workspaces.setSite': notYet,
    'workspaces.suggestion': notYet,
  };
}
