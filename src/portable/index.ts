/**
 * The portable audit bundle's door (issue 14): one file holding chosen hosts' audits, findings,
 * jobs and audit log with the advisory snapshot they were judged against and a sha256 manifest,
 * never a secret; merged into another workspace by host identity, all or nothing, idempotent.
 */
export { exportPortableBundle, importPortableBundle, type PortableServiceDeps } from './service';
export { buildPortableBundle, type BuiltBundle } from './export';
export { mergePortableBundle, verifyPortableBundle, type VerifiedBundle } from './import';
export { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION } from './format';
