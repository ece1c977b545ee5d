/**
 * The WinRM door: WS-Man over HTTP (sealed NTLM, port 5985) or HTTPS (pinned certificate, port
 * 5986), the cmd shell lifecycle and the command runner the audit and patch flows share with SSH.
 */
import { postIdentify } from './http';
import { IDENTIFY_XML, parseIdentify, type IdentifyResult } from './soap';
import { parseXml } from './xml';

export type {
  WinrmLogin,
  WinrmConnectOptions,
  WinrmRunOptions,
  WinrmIdentity,
  WinrmResult,
  RemoteSession,
} from './types';
export { WinrmSession, DEFAULT_MAX_ENVELOPE_SIZE } from './session';
export { certificateFingerprint, ntlmIdentityFingerprint } from './http';
export { decodeClixml } from './clixml';
export { UAC_COMMAND } from './faults';

/**
 * Unauthenticated WS-Man Identify (header `WSMANIDENTIFY: unauthenticated`): the product and
 * version the PC names; null when it does not answer it. Bounded reply, no credential.
 */
export async function wsmanIdentify(
  target: { host: string; port: number; https: boolean },
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<IdentifyResult | null> {
  const body = await postIdentify(target, IDENTIFY_XML, options);
  if (body === null) return null;
  try {
    return parseIdentify(parseXml(body, { maxChars: 64 * 1024, maxDepth: 16 }));
  } catch {
    return null;
  }
}
