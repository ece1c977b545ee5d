import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { classifyConnectError, RemoteError } from './errors';
import { describeHostKey, type PresentedHostKey } from './host-key';
import { shellQuote } from './quote';

/**
 * One SSH session per host, reused for every command of an audit or patch step.
 *
 * Host keys: the caller passes the pinned keys; a presented key that does not match blocks the
 * connection (`host-key-changed`). With no pinned key, `trustOnFirstUse` decides whether the
 * key is accepted (the caller then pins `session.hostKey`).
 *
 * Privilege: `sudo -n` when no sudo password is known; otherwise `sudo -S` with a prompt marker,
 * the password written to stdin — never in argv, logs or error messages.
 */
export type SshAuth =
  | { kind: 'password'; password: string }
  | { kind: 'key'; privateKey: string; passphrase?: string }
  | { kind: 'agent'; socket?: string };

export interface SshTarget {
  host: string;
  port?: number;
  username: string;
  auth: SshAuth;
  sudoPassword?: string | null;
  /** Pinned host keys of this host; empty = not yet trusted. */
  pinnedKeys: { type: string; fingerprint: string }[];
  trustOnFirstUse: boolean;
  connectTimeoutMs?: number;
  /** Label used in messages (the host's name). */
  label?: string;
}

export interface RunOptions {
  sudo?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Called with output as it arrives (patch logs stream live). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

const SUDO_PROMPT = '[patchdeck-sudo-prompt]';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class SshSession {
  private broken = false;
  /** Commands waiting on this connection; failed at once when the connection is lost. */
  private readonly pending = new Set<(error: RemoteError) => void>();

  private constructor(
    private readonly ssh: NodeSSH,
    readonly hostKey: PresentedHostKey,
    private readonly target: SshTarget,
  ) {
    // After the handshake ssh2 reports a lost peer (keepalive timeout, reset) as an 'error' event.
    // Unhandled, that event would crash the process; and a peer that vanished without a FIN would
    // leave running commands waiting forever. So: mark the session broken, fail whatever waits,
    // and destroy the socket.
    const connection = ssh.connection;
    const label = target.label ?? target.host;
    const lost = (reason: string): void => {
      if (this.broken && this.pending.size === 0) return;
      this.broken = true;
      const error = new RemoteError('unreachable', `${label}: the SSH connection was lost (${reason}).`);
      for (const fail of [...this.pending]) fail(error);
      this.pending.clear();
    };
    connection?.on('error', (error: Error & { level?: string }) => {
      lost(error.level === 'client-timeout' ? 'no answer to keepalives' : sanitizeReason(error.message));
      connection.destroy();
    });
    connection?.on('close', () => lost(this.closedHere ? 'closed by Patchdeck' : 'closed by the peer'));
  }

  static async connect(target: SshTarget, signal?: AbortSignal): Promise<SshSession> {
    const label = target.label ?? target.host;
    if (signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
    let presented: PresentedHostKey | null = null;
    let rejection: RemoteError | null = null;
    const pinnedTypes = target.pinnedKeys.map((k) => k.type);
    // Loaded on first use: the SSH stack is a large part of start-up for commands that never connect.
    const { NodeSSH: Ssh } = await import('node-ssh');
    const ssh = new Ssh();
    const auth: Record<string, unknown> =
      target.auth.kind === 'password'
        ? { password: target.auth.password, tryKeyboard: false }
        : target.auth.kind === 'key'
          ? { privateKey: target.auth.privateKey, passphrase: target.auth.passphrase }
          : { agent: target.auth.socket ?? process.env.SSH_AUTH_SOCK };
    if (target.auth.kind === 'agent' && !auth.agent) {
      throw new RemoteError('auth-failed', 'No SSH agent is running (SSH_AUTH_SOCK is not set).');
    }
    const onAbort = (): void => ssh.dispose();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await ssh.connect({
        host: target.host,
        port: target.port ?? 22,
        username: target.username,
        readyTimeout: target.connectTimeoutMs ?? 15_000,
        // A host that drops off the network is noticed within ~40 s (keepalives every 10 s, the
        // fourth unanswered one gives up): long enough for a laptop's Wi-Fi to roam, short enough
        // that a patch job does not wait on a dead host.
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        ...auth,
        // Ask first for the key type we pinned, so a host with several keys shows the one we know.
        algorithms: pinnedTypes.length
          ? {
              serverHostKey: [
                ...new Set([
                  ...pinnedTypes,
                  'ssh-ed25519',
                  'ecdsa-sha2-nistp256',
                  'rsa-sha2-512',
                  'rsa-sha2-256',
                ]),
              ] as never,
            }
          : undefined,
        hostVerifier: (key: Buffer) => {
          presented = describeHostKey(key);
          if (target.pinnedKeys.length === 0) {
            if (target.trustOnFirstUse) return true;
            rejection = new RemoteError(
              'host-key-unknown',
              `${label} is not trusted yet. Its ${presented.type} key is ${presented.fingerprint}; trust it to continue.`,
              '',
              { presented },
            );
            return false;
          }
          const match = target.pinnedKeys.some((k) => k.fingerprint === presented!.fingerprint);
          if (!match) {
            rejection = new RemoteError(
              'host-key-changed',
              `${label} presented a different host key (${presented.type} ${presented.fingerprint}) than the one trusted. ` +
                'This happens after a reinstall — or when someone is intercepting the connection. Check with the machine’s owner, then re-trust it explicitly.',
              '',
              { presented, pinned: target.pinnedKeys },
            );
            return false;
          }
          return true;
        },
      });
    } catch (error) {
      ssh.dispose();
      if (signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
      throw rejection ?? classifyConnectError(error, label);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (!presented) {
      ssh.dispose();
      throw new RemoteError('host-key-unknown', `${label} did not present a host key.`);
    }
    return new SshSession(ssh, presented, target);
  }

  /**
   * The exact remote command line for `command` (env assignments and sudo wrapping, all
   * quoted) and what goes to its stdin. Public so benchmarks can replay the same commands.
   */
  commandLine(command: string, options: RunOptions = {}): { line: string; stdin: string | undefined } {
    const env = Object.entries({ LC_ALL: 'C', LANG: 'C', ...options.env });
    for (const [name] of env)
      if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name: ${name}`);
    const envWords = env.map(([k, v]) => shellQuote(`${k}=${v}`)).join(' ');
    const inner = `env ${envWords} sh -c ${shellQuote(command)}`;
    if (!options.sudo || this.target.username === 'root') return { line: inner, stdin: undefined };
    if (this.target.sudoPassword) {
      return {
        line: `sudo -S -p ${shellQuote(SUDO_PROMPT)} -- ${inner}`,
        stdin: `${this.target.sudoPassword}\n`,
      };
    }
    return { line: `sudo -n -- ${inner}`, stdin: undefined };
  }

  /**
   * Runs a command. Without a terminal first; if sudo insists on one (`Defaults requiretty`),
   * the session remembers it and runs sudo commands in a pseudo-terminal from then on.
   */
  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    if (options.sudo && this.sudoNeedsTty) return this.exec(command, options, true);
    try {
      return await this.exec(command, options, false);
    } catch (error) {
      if (!(error instanceof RemoteError) || error.kind !== 'sudo-needs-tty') throw error;
      this.sudoNeedsTty = true;
      return this.exec(command, options, true);
    }
  }

  private sudoNeedsTty = false;

  private async exec(command: string, options: RunOptions, pty: boolean): Promise<RunResult> {
    const label = this.target.label ?? this.target.host;
    if (this.broken) throw new RemoteError('unreachable', `${label}: the SSH connection was closed.`);
    if (options.signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
    const { line, stdin } = this.commandLine(command, options);
    let channel: ClientChannel | null = null;
    let timedOut = false;
    let result: RunResult;
    let failPending: ((error: RemoteError) => void) | null = null;
    // Timeout and cancel act on the channel. While the server has not opened it yet (a host that
    // answers keepalives but not channel requests) they fail the command and drop the connection,
    // so a late-opening channel cannot still run it; a channel that opens anyway is closed at once.
    let abandoned = false;
    const abandon = (error: RemoteError): void => {
      abandoned = true;
      failPending?.(error);
      this.broken = true;
      this.ssh.connection?.destroy();
    };
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          if (channel) channel.close();
          else
            abandon(
              new RemoteError(
                'timeout',
                `${label}: the server did not open a channel for the command within ${options.timeoutMs} ms.`,
              ),
            );
        }, options.timeoutMs)
      : null;
    const onAbort = (): void => {
      if (!channel) return abandon(new RemoteError('cancelled', 'Cancelled.'));
      channel.signal('INT');
      channel.close();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const lost = new Promise<never>((_, reject) => {
        failPending = reject;
        this.pending.add(reject);
      });
      const response = await Promise.race([
        lost,
        this.ssh.execCommand(line, {
          stdin,
          noTrim: true,
          // In a pseudo-terminal stdout and stderr arrive merged, with CRLF line ends.
          execOptions: pty
            ? { pty: { term: 'dumb', cols: 4096, rows: 24, width: 0, height: 0, modes: {} } }
            : undefined,
          onChannel: (c) => {
            channel = c;
            if (abandoned) c.close();
          },
          onStdout: options.onStdout ? (chunk) => options.onStdout!(chunk.toString('utf8')) : undefined,
          onStderr: options.onStderr ? (chunk) => options.onStderr!(chunk.toString('utf8')) : undefined,
        }),
      ]);
      const clean = (text: string): string => {
        const stripped = text.split(SUDO_PROMPT).join('');
        return pty ? stripped.replace(/\r\n/g, '\n') : stripped;
      };
      result = { stdout: clean(response.stdout), stderr: clean(response.stderr), code: response.code };
    } catch (error) {
      this.broken = true;
      if (error instanceof RemoteError) throw error;
      throw classifyConnectError(error, label);
    } finally {
      if (failPending) this.pending.delete(failPending);
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (options.signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.', result.stderr);
    if (timedOut)
      throw new RemoteError(
        'timeout',
        `${label}: the command did not finish within ${options.timeoutMs} ms.`,
        result.stderr,
      );
    if (options.sudo) checkSudoFailure(result, label);
    return result;
  }

  /** False once a command failed at the transport level, the session was closed, or the peer hung up. */
  get isOpen(): boolean {
    return !this.broken && this.ssh.isConnected();
  }

  private closedHere = false;

  close(): void {
    this.closedHere = true;
    this.broken = true;
    this.ssh.dispose();
  }
}

/** An ssh2 error message, cut to one short printable line (it can quote the peer). */
function sanitizeReason(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 120);
}

/** Recognises sudo's own refusals (as opposed to the wrapped command failing). */
export function checkSudoFailure(result: RunResult, label: string): void {
  if (result.code === 0) return;
  const err = result.stderr;
  if (/sudo: (a )?password is required/.test(err))
    throw new RemoteError(
      'sudo-needs-password',
      `${label}: sudo needs a password for this user; add a sudo password to the credential.`,
      err,
    );
  if (/Sorry, try again|incorrect password attempt|no password was provided/.test(err))
    throw new RemoteError(
      'sudo-wrong-password',
      `${label}: sudo refused the password (wrong sudo password).`,
      err,
    );
  if (/is not in the sudoers file|is not allowed to execute|may not run sudo/.test(err))
    throw new RemoteError('sudo-not-allowed', `${label}: this user may not use sudo (not in sudoers).`, err);
  if (/you must have a tty to run sudo|a terminal is required/.test(err))
    throw new RemoteError('sudo-needs-tty', `${label}: sudo is configured with requiretty.`, err);
  if (/sudo: (command )?not found|sudo: not found/.test(err))
    throw new RemoteError('sudo-not-allowed', `${label}: sudo is not installed on this host.`, err);
}
