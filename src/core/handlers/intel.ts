import type { Handlers } from '../../api';
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

// PLACEHOLDER while issue 13 is built: every call answers "not built yet". Replaced by the
// handlers onto src/intel before the issue is resolved.
const notYet = (): never => {
  throw new Error('This part of Patchdeck is not built yet.');
};

export function intelHandlers(_core: CoreContext): IntelHandlers {
  return {
    'findings.evidence': notYet,
    'findings.unfixed': notYet,
    'findings.priorities': notYet,
    'dashboard.exposure': notYet,
    'exceptions.list': notYet,
    'exceptions.add': notYet,
    'exceptions.remove': notYet,
  };
}
