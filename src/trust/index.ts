/**
 * Trust: which SSH host key and which WinRM endpoint (certificate or NTLM identity) Patchdeck believes each host has (trust on first use, review, pin,
 * explicit re-trust of a changed key). Everything another capability may use is exported here.
 */
export { trustHostKey, listPendingKeys, listHostPins, trustReviewedKeys, type TrustDeps } from './host-keys';
export { reviewedPinsOf } from '../db';
