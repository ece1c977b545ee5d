import type { Handlers } from '../../api';
import { importCollection } from '../../audit';
import type { CoreContext } from '../context';

/** Offline collection: a collected file becomes an audit (src/audit/import.ts). */
export function offlineHandlers(core: CoreContext): Pick<Handlers, 'audits.import'> {
  return {
    'audits.import': (args) =>
      importCollection({ db: core.requireWorkspace().db, events: core.events }, args),
  };
}
