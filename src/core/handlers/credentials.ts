import type { Handlers } from '../../api';
import { testCredential } from '../../audit';
import {
  addRecordedCredential,
  ChosenKeyFiles,
  listCredentials,
  removeRecordedCredential,
} from '../../credentials';
import type { CoreContext } from '../context';

type CredentialHandlers = Pick<
  Handlers,
  | 'credentials.list'
  | 'credentials.chooseKeyFile'
  | 'credentials.add'
  | 'credentials.remove'
  | 'credentials.test'
>;

/** Credential calls onto the credentials capability (and the audit's login test). */
export function credentialHandlers(core: CoreContext): CredentialHandlers {
  const db = () => core.requireWorkspace().db;
  /** Key files chosen in the desktop dialog, by one-use id, until credentials.add takes them. */
  const chosenKeys = new ChosenKeyFiles();
  return {
    'credentials.list': () => listCredentials(db()),
    'credentials.chooseKeyFile': () => chosenKeys.choose(core.platform),
    'credentials.add': (args) =>
      addRecordedCredential(
        { db: db(), secrets: core.platform.secrets, events: core.events },
        args,
        chosenKeys,
      ),
    'credentials.remove': ({ id }) => ({
      removed: removeRecordedCredential({ db: db(), events: core.events }, id),
    }),
    'credentials.test': (args) => testCredential({ db: db(), secrets: core.platform.secrets }, args),
  };
}
