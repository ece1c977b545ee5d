import type { Handlers } from '../../api';
import { exportReport, previewReport, type ReportServiceDeps } from '../../reports';
import { systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';

type ReportHandlers = Pick<Handlers, 'reports.preview' | 'reports.export'>;

/** Report calls onto the reports capability (src/reports/service.ts). */
export function reportHandlers(core: CoreContext, clock: Clock = systemClock): ReportHandlers {
  const deps = (): ReportServiceDeps => {
    const { db, path } = core.requireWorkspace();
    return { db, platform: core.platform, clock, workspacePath: path };
  };
  return {
    'reports.preview': (args) => previewReport(deps(), args),
    'reports.export': (args, call) => exportReport(deps(), args, call.carrier),
  };
}
