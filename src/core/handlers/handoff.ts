import type { Handlers } from '../../api';
import { startAudits } from '../../audit';
import { readSettings } from '../../db';
import { exportAnsible, importAnsibleResults, type HandoffServiceDeps } from '../../handoff';
import { systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';
import { APP_VERSION } from '../version';

type HandoffHandlers = Pick<Handlers, 'handoff.exportAnsible' | 'handoff.importAnsibleResults'>;

/** The Ansible hand-off's calls onto src/handoff/service.ts; the re-audit is the audit capability's task. */
export function handoffHandlers(core: CoreContext, clock: Clock = systemClock): HandoffHandlers {
  const deps = (): HandoffServiceDeps => {
    const { db, tasks } = core.requireWorkspace();
    return {
      db,
      tasks,
      events: core.events,
      clock,
      actor: readSettings(db).operatorName,
      version: APP_VERSION,
      startReaudit: (hostIds) =>
        startAudits({ db, tasks, events: core.events, secrets: core.platform.secrets }, { hostIds }).taskId,
    };
  };
  return {
    'handoff.exportAnsible': (args) => exportAnsible(deps(), args),
    'handoff.importAnsibleResults': (args) => importAnsibleResults(deps(), args),
  };
}
