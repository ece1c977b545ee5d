import net from 'node:net';
import { classifyConnectError, RemoteError } from './errors';
import { describeHostKey, type PresentedHostKey } from './host-key';
import { hostKeyAlgorithms } from './host-key-algorithms';

/**
 * Reads a host's SSH host key without logging in: the handshake reaches the host-key check,
 * we record the key and abort before any credential is sent.
 */
export async function probeHostKey(
  host: string,
  port = 22,
  options: { timeoutMs?: number; label?: string; preferredType?: string; signal?: AbortSignal } = {},
): Promise<PresentedHostKey> {
  const label = options.label ?? host;
  const { Client } = await import('ssh2');
  if (options.signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
  return new Promise((resolve, reject) => {
    const client = new Client();
    let key: PresentedHostKey | null = null;
    const onAbort = (): void => finish(new RemoteError('cancelled', 'Cancelled.'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (error: unknown): void => {
      options.signal?.removeEventListener('abort', onAbort);
      // Our own socket, destroyed here: ssh2's end() leaves a half-closed socket open when the
      // server hung up first or never finished the key exchange, and a scan would leave
      // connections behind.
      sock.destroy();
      if (key) resolve(key);
      else reject(error instanceof RemoteError ? error : classifyConnectError(error, label));
    };
    client.on('error', finish);
    client.on('close', () =>
      finish(new RemoteError('unreachable', `${label} closed the connection before showing a host key.`)),
    );
    const sock = net.connect({ host, port });
    sock.on('error', () => undefined); // reported through the client's 'error'
    client.connect({
      sock,
      host,
      port,
      username: 'patchdeck-host-key-probe',
      readyTimeout: options.timeoutMs ?? 10_000,
      // The same list the connection asks for (ssh.ts), so the key trusted here is the one shown there.
      algorithms: hostKeyAlgorithms([options.preferredType]),
      hostVerifier: (blob: Buffer) => {
        key = describeHostKey(blob);
        return false;
      },
    });
  });
}
