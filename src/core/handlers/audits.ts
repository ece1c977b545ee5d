import type { Handlers } from '../../api';
import { exportFindingsCsv, startAudits } from '../../audit';
import {
  diffWithPrevious,
  findingFacets,
  latestAudits,
  listAuditHotfixes,
  listAudits,
  queryFindingGroups,
  queryFindings,
} from '../../db';
import type { CoreContext } from '../context';

type AuditHandlers = Pick<
  Handlers,
  | 'audits.start'
  | 'audits.forHost'
  | 'audits.latest'
  | 'audits.diff'
  | 'audits.hotfixes'
  | 'findings.query'
  | 'findings.groups'
  | 'findings.facets'
  | 'findings.exportCsv'
>;

/** Audit and findings calls onto the audit capability (src/audit/service.ts) and its tables. */
export function auditHandlers(core: CoreContext): AuditHandlers {
  const ws = () => core.requireWorkspace();
  return {
    'audits.start': (args) => {
      const { db, tasks } = ws();
      return startAudits({ db, tasks, events: core.events, secrets: core.platform.secrets }, args);
    },
    'audits.forHost': ({ hostId, limit }) => listAudits(ws().db, hostId, limit),
    'audits.latest': () => latestAudits(ws().db),
    'audits.diff': ({ auditId }) => diffWithPrevious(ws().db, auditId),
    'audits.hotfixes': ({ auditId }) => listAuditHotfixes(ws().db, auditId),
    'findings.query': (query) => queryFindings(ws().db, query),
    'findings.groups': (query) => queryFindingGroups(ws().db, query),
    'findings.facets': () => findingFacets(ws().db),
    'findings.exportCsv': (query, ctx) =>
      exportFindingsCsv({ db: ws().db, platform: core.platform }, query, ctx.carrier),
  };
}
