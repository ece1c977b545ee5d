import type { Handlers } from '../../api';
import { readSettings } from '../../db';
import {
  addFindingException,
  exposure,
  findingEvidence,
  listFindingExceptions,
  patchPriorities,
  removeFindingException,
  unfixedCves,
} from '../../intel';
import { systemClock } from '../../util';
import type { CoreContext } from '../context';

type IntelHandlers = Pick<
  Handlers,
  | 'findings.evidence'
  | 'findings.unfixed'
  | 'findings.priorities'
  | 'dashboard.exposure'
  | 'exceptions.list'
  | 'exceptions.add'
  | 'exceptions.remove'
>;

/** Evidence, unfixed CVEs, priorities, the dashboard and exceptions: thin doors onto src/intel. */
export function intelHandlers(core: CoreContext): IntelHandlers {
  const db = () => core.requireWorkspace().db;
  const clock = systemClock;
  const changed = (): void => core.events.emit('entity.changed', { entity: 'audits' });
  return {
    'findings.evidence': ({ findingId }) =>
      findingEvidence(db(), findingId, { clock, settings: readSettings(db()) }),
    'findings.unfixed': ({ hostId, limit }) =>
      unfixedCves(db(), { limit, ...(hostId !== undefined ? { hostId } : {}) }),
    'findings.priorities': ({ limit }) => patchPriorities(db(), clock, limit),
    'dashboard.exposure': () => exposure(db(), { clock, settings: readSettings(db()) }),
    'exceptions.list': ({ includeInactive, hostId }) =>
      listFindingExceptions(db(), clock, {
        ...(includeInactive !== undefined ? { includeInactive } : {}),
        ...(hostId !== undefined ? { hostId } : {}),
      }),
    'exceptions.add': (input) => {
      const record = addFindingException(db(), input, { clock, actor: readSettings(db()).operatorName });
      changed();
      return record;
    },
    'exceptions.remove': ({ id, reason }) => {
      const removed = removeFindingException(db(), id, {
        clock,
        actor: readSettings(db()).operatorName,
        ...(reason ? { reason } : {}),
      });
      changed();
      return { removed };
    },
  };
}
