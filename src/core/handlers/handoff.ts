import type { Handlers } from '../../api';
import { readSettings } from '../../db';
import { exportAnsible, importAnsibleResults, type HandoffServiceDeps } from '../../handoff';
import { systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';

type HandoffHandlers = Pick<Handlers, 'handoff.exportAnsible' | 'handoff.importAnsibleResults'>;

/** The Ansible hand-off's calls onto src/handoff/service.ts. */
export function handoffHandlers(core: CoreContext, clock: Clock = systemClock): HandoffHandlers {
  const deps = (): HandoffServiceDeps => {
    const { db, tasks } = core.requireWorkspace();
    return { db, tasks, events: core.events, clock, actor: readSettings(db).operatorName };
  };
  return {
    'handoff.exportAnsible': (args) => exportAnsible(deps(), args),
    'handoff.importAnsibleResults': (args) => importAnsibleResults(deps(), args),
  };
}
