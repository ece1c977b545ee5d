import type { Algorithms } from 'ssh2';

/**
 * The host-key types we ask a host for once a key of it is pinned, after the pinned type(s):
 * modern types first. The connection (ssh.ts) and the trust probe (host-key-probe.ts) both take
 * their list from here: were they to differ, the trust check would pin a key of another type
 * than the connection is shown, and the next connection would call the host's key changed.
 */
export const HOST_KEY_FALLBACK_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'rsa-sha2-512',
  'rsa-sha2-256',
] as const;

/**
 * The `algorithms` option for ssh2's connect: the preferred (pinned) types first, then the
 * fallbacks, each once. With nothing preferred, ssh2's own defaults apply (undefined).
 */
export function hostKeyAlgorithms(preferred: readonly (string | undefined)[]): Algorithms | undefined {
  const types = preferred.filter((t): t is string => typeof t === 'string' && t.length > 0);
  if (types.length === 0) return undefined;
  return {
    // The pinned types come from stored keys; ssh2 checks the names itself.
    serverHostKey: [...new Set([...types, ...HOST_KEY_FALLBACK_TYPES])] as NonNullable<
      Algorithms['serverHostKey']
    >,
  };
}
