import type { Handlers } from '../../api';
import { readSettings } from '../../db';
import { exportPortableBundle, importPortableBundle, type PortableServiceDeps } from '../../portable';
import { systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';
import { APP_VERSION } from '../version';

type PortableHandlers = Pick<Handlers, 'bundles.export' | 'bundles.import'>;

/** Portable bundle calls onto src/portable/service.ts. */
export function portableHandlers(core: CoreContext, clock: Clock = systemClock): PortableHandlers {
  const deps = (): PortableServiceDeps => {
    const { db } = core.requireWorkspace();
    return {
      db,
      events: core.events,
      platform: core.platform,
      uploads: core.uploads,
      clock,
      actor: readSettings(db).operatorName,
      patchdeckVersion: APP_VERSION,
    };
  };
  return {
    'bundles.export': (args, call) => exportPortableBundle(deps(), args, call.carrier),
    'bundles.import': (args, call) => importPortableBundle(deps(), args, call.carrier),
  };
}
