import type { Handlers } from '../../api';
import {
  advisoryStatusOf,
  exportAdvisoryBundleFor,
  startAdvisoryImport,
  startAdvisoryUpdate,
  type AdvisoryServiceDeps,
} from '../../intel';
import { systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';

type AdvisoryHandlers = Pick<
  Handlers,
  'advisories.status' | 'advisories.import' | 'advisories.update' | 'advisories.exportBundle'
>;

/** Advisory snapshot calls onto the intel capability (src/intel/service.ts). */
export function advisoryHandlers(core: CoreContext, clock: Clock = systemClock): AdvisoryHandlers {
  const deps = (): AdvisoryServiceDeps => {
    const { db, tasks } = core.requireWorkspace();
    return { db, tasks, events: core.events, platform: core.platform, uploads: core.uploads, clock };
  };
  return {
    'advisories.status': () => advisoryStatusOf(deps()),
    'advisories.import': (args) => startAdvisoryImport(deps(), args),
    'advisories.update': (args) => startAdvisoryUpdate(deps(), args),
    'advisories.exportBundle': (args, call) => exportAdvisoryBundleFor(deps(), args, call.carrier),
  };
}
