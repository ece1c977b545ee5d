/**
 * Trust: which SSH host key Patchdeck believes each host has (trust on first use, review, pin,
 * explicit re-trust of a changed key). Everything another capability may use is exported here.
 */
export { trustHostKey, listPendingKeys, trustReviewedKeys, type TrustDeps } from './host-keys';
