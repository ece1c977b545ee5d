import type { Handlers } from '../../api';
import { addHost } from '../../hosts';
import { listHostPins, listPendingKeys, trustHostKey, trustReviewedKeys } from '../../trust';
import type { CoreContext } from '../context';

type HostTrustHandlers = Pick<
  Handlers,
  'hosts.add' | 'hosts.trust' | 'hosts.pendingKeys' | 'hosts.trustKeys' | 'hosts.keys'
>;

/** Adding a host and trusting its key, onto the hosts and trust capabilities. */
export function hostTrustHandlers(core: CoreContext): HostTrustHandlers {
  const deps = () => ({ db: core.requireWorkspace().db, events: core.events });
  return {
    'hosts.add': (args) => addHost(deps(), args),
    'hosts.trust': (args) => trustHostKey(deps(), args),
    'hosts.pendingKeys': (args) => listPendingKeys(deps().db, args),
    'hosts.trustKeys': (args) => trustReviewedKeys(deps(), args),
    'hosts.keys': ({ id }) => listHostPins(deps().db, id),
  };
}
