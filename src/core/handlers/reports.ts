import type { Handlers } from '../../api';
import { readSettings } from '../../db';
import { exportReport, previewReport, type ReportServiceDeps } from '../../reports';
import { systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';
import { APP_VERSION } from '../version';

type ReportHandlers = Pick<Handlers, 'reports.preview' | 'reports.export'>;

/** Report calls onto the reports capability (src/reports/service.ts). */
export function reportHandlers(core: CoreContext, clock: Clock = systemClock): ReportHandlers {
  const deps = (): ReportServiceDeps => {
    const { db, path } = core.requireWorkspace();
    return {
      db,
      platform: core.platform,
      clock,
      workspacePath: path,
      actor: readSettings(db).operatorName,
      patchdeckVersion: APP_VERSION,
    };
  };
  return {
    'reports.preview': (args) => previewReport(deps(), args),
    'reports.export': (args, call) => exportReport(deps(), args, call.carrier),
  };
}
