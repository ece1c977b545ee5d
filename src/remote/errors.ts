/**
 * Why a host could not be audited or patched, in words an admin can act on. The raw stderr is
 * kept separately for the log; `message` never contains a secret.
 */
export type RemoteErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'auth-failed'
  /** No credential covers the host (and none was picked): nothing was tried. */
  | 'no-credential'
  | 'host-key-changed'
  | 'host-key-unknown'
  | 'offline-only'
  | 'sudo-needs-password'
  | 'sudo-wrong-password'
  | 'sudo-not-allowed'
  | 'sudo-needs-tty'
  | 'unsupported-os'
  | 'package-manager-locked'
  | 'command-failed'
  /** The command printed more than the session's output limit; its channel was closed. */
  | 'output-too-large'
  | 'cancelled';

export class RemoteError extends Error {
  constructor(
    readonly kind: RemoteErrorKind,
    message: string,
    readonly stderr = '',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** Maps a socket/ssh2 connection error to a classified RemoteError. */
export function classifyConnectError(error: unknown, where: string): RemoteError {
  if (error instanceof RemoteError) return error;
  const err = error as NodeJS.ErrnoException & { level?: string };
  const code = err?.code ?? '';
  const text = err?.message ?? String(error);
  if (code === 'ECONNREFUSED')
    return new RemoteError(
      'unreachable',
      `${where} refused the SSH connection (nothing listens on the port).`,
    );
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN')
    return new RemoteError('unreachable', `${where} cannot be reached on the network.`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new RemoteError('unreachable', `${where}: the name does not resolve.`);
  if (code === 'ETIMEDOUT' || /timed out/i.test(text))
    return new RemoteError('timeout', `${where} did not answer in time.`);
  if (code === 'ECONNRESET') return new RemoteError('unreachable', `${where} closed the connection.`);
  if (err?.level === 'client-authentication' || /authentication methods failed/i.test(text))
    return new RemoteError('auth-failed', `${where} refused the credentials (wrong user, password or key).`);
  if (/passphrase/i.test(text) || /parse privateKey|Unsupported key format|Cannot parse/i.test(text))
    return new RemoteError(
      'auth-failed',
      'The private key cannot be read: wrong passphrase or unsupported key format.',
    );
  return new RemoteError('unreachable', `${where}: ${text.split('\n')[0]}`);
}
