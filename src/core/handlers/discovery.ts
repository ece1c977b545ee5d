import type { Handlers } from '../../api';
import { deleteNetwork, listNetworks, listScans, saveNetwork } from '../../db';
import { checkScanTargets, listScanResults, proposeLocalNetworks, startScan } from '../../discovery';
import type { CoreContext } from '../context';

type DiscoveryHandlers = Pick<
  Handlers,
  | 'discovery.check'
  | 'discovery.propose'
  | 'discovery.start'
  | 'scans.list'
  | 'scans.results'
  | 'networks.list'
  | 'networks.save'
  | 'networks.remove'
>;

/** Discovery calls onto the discovery capability (src/discovery/scan.ts). */
export function discoveryHandlers(core: CoreContext): DiscoveryHandlers {
  const ws = () => core.requireWorkspace();
  return {
    'discovery.check': (request) => checkScanTargets(request),
    'discovery.propose': () =>
      proposeLocalNetworks().map((p) => ({
        cidr: p.cidr,
        interfaceName: p.interfaceName,
        address: p.address,
      })),
    'discovery.start': (request) => {
      const { db, tasks } = ws();
      return startScan({ db, tasks, events: core.events }, request);
    },
    'scans.list': () => listScans(ws().db),
    'scans.results': ({ scanId }) => listScanResults(ws().db, scanId),
    'networks.list': () => listNetworks(ws().db),
    'networks.save': (input) => saveNetwork(ws().db, input),
    'networks.remove': ({ id }) => ({ removed: deleteNetwork(ws().db, id) }),
  };
}
