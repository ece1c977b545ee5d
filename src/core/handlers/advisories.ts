import type { Handlers } from '../../api';
import type { CoreContext } from '../context';

type AdvisoryHandlers = Pick<
  Handlers,
  'advisories.status' | 'advisories.import' | 'advisories.update' | 'advisories.exportBundle'
>;

// PLACEHOLDER while issue 13 is built: replaced by the handlers onto src/intel's snapshot.
const notYet = (): never => {
  throw new Error('This part of Patchdeck is not built yet.');
};

export function advisoryHandlers(_core: CoreContext): AdvisoryHandlers {
  return {
    'advisories.status': notYet,
    'advisories.import': notYet,
    'advisories.update': notYet,
    'advisories.exportBundle': notYet,
  };
}
