/** The advisory snapshot, matching, risk tiers, due dates and exceptions (issue 13). */
export * from './types';
export * from './ecosystem';
export {
  enrichAudit,
  enrichAfterAudit,
  enrichCurrentFindings,
  recomputeDueDates,
  type IntelContext,
} from './enrich';
export { advisoryKey, matchFinding, type MatchableFinding, type MatchResult } from './match';
export { dueDate, judgeTier, tierRank } from './risk';
export { addFindingException, listFindingExceptions, removeFindingException } from './exceptions';
export { exposure, exposureTrend, patchPriorities, unfixedCves } from './dashboard';
export { findingEvidence } from './evidence';
export * from './version/index';
export * from './cvss';
export * from './feeds/index';
export * from './snapshot';
export * from './status';
export {
  exportAdvisoryBundle,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleFile,
  type BundleManifest,
} from './bundle';
export * from './update';
export {
  advisoryStatusOf,
  exportAdvisoryBundleFor,
  startAdvisoryImport,
  startAdvisoryUpdate,
  type AdvisoryServiceDeps,
  type ClaimedUpload,
  type UploadClaims,
} from './service';
