import type { NodeSSH } from 'node-ssh';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { classifyConnectError, RemoteError } from './errors';
import { describeHostKey, type PresentedHostKey } from './host-key';
import { hostKeyAlgorithms } from './host-key-algorithms';
import { shellQuote } from './quote';
import { Redactor } from './redact';

/**
 * One SSH session per host, reused for every command of an audit or patch step.
 *
 * Host keys: the caller passes the pinned keys; a presented key that does not match blocks the
 * connection (`host-key-changed`). With no pinned key, `trustOnFirstUse` decides whether the
 * key is accepted (the caller then pins `session.hostKey`).
 *
 * Privilege: `sudo -n` when no sudo password is known; otherwise `sudo -S` with a prompt marker,
 * the password written to stdin — never in argv, logs or error messages. Should the host print a
 * secret back anyway (an echoing terminal), every output path — results, streamed chunks, error
 * messages — masks the session's secrets by value (redact.ts).
 *
 * Output is bounded: a command that prints more than `maxOutputBytes` (stdout and stderr together)
 * is failed as `output-too-large` and its channel closed; the session stays usable.
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
  /** Most bytes one command may print, stdout and stderr together (default 32 MiB). */
  maxOutputBytes?: number;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
/**
 * After Patchdeck closed an over-long command's channel, a well-behaved server stops within one
 * window (2 MiB in ssh2). One that keeps sending past this much is ignoring the close: the
 * connection is dropped.
 */
const AFTER_CLOSE_SLACK_BYTES = 8 * 1024 * 1024;

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

/** The secrets a target carries: what its session's output must never show. */
function secretsOf(target: SshTarget): string[] {
  const { auth } = target;
  return [
    auth.kind === 'password' ? auth.password : '',
    auth.kind === 'key' ? (auth.passphrase ?? '') : '',
    target.sudoPassword ?? '',
  ].filter(Boolean);
}

/** The same error with its message and stderr passed through the redactor. */
function redactError(error: RemoteError, redactor: Redactor): RemoteError {
  if (redactor.empty) return error;
  const message = redactor.redact(error.message);
  const stderr = redactor.redact(error.stderr);
  if (message === error.message && stderr === error.stderr) return error;
  return new RemoteError(error.kind, message, stderr, error.details);
}

/**
 * After login, sshd announces all of its host keys (`hostkeys-00@openssh.com`, for clients that
 * keep known_hosts up to date), and ssh2 answers every announcement by asking the host to prove
 * it holds each of them (`hostkeys-prove-00@openssh.com`): one more round trip, one signature per
 * host key on the host (an RSA-3072 signature is ~2 ms of its CPU) and as many verifications here,
 * for keys Patchdeck never uses — its trust is the pinned key checked during the key exchange,
 * before any credential is sent. OpenSSH's client with UpdateHostKeys off (parallel-ssh, Ansible
 * with their own known_hosts file) ignores the announcement; so does this. It reaches into ssh2's
 * internals (1.17: Protocol's message handlers), so it only acts when they look as expected;
 * otherwise ssh2 keeps its own behaviour. Every other global request goes to ssh2 unchanged.
 */
export function ignoreHostKeyAnnouncements(client: unknown): boolean {
  type GlobalRequest = (
    proto: { requestSuccess(): void },
    name: string,
    wantReply: boolean,
    data: unknown,
  ) => void;
  const handlers = (client as { _protocol?: { _handlers?: { GLOBAL_REQUEST?: unknown } } } | null)?._protocol
    ?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof original !== 'function') return false;
  const forward = original as GlobalRequest;
  const handler: GlobalRequest = (proto, name, wantReply, data) => {
    if (name !== 'hostkeys-00@openssh.com') return forward(proto, name, wantReply, data);
    if (wantReply) proto.requestSuccess();
  };
  handlers.GLOBAL_REQUEST = handler;
  return true;
}

/** 32 MiB, or 1500 bytes: a size as the setting would be written. */
function describeSize(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

export class SshSession {
  private broken = false;
  /** Commands waiting on this connection; failed at once when the connection is lost. */
  private readonly pending = new Set<(error: RemoteError) => void>();
  private readonly redactor: Redactor;

  private constructor(
    private readonly ssh: NodeSSH,
    readonly hostKey: PresentedHostKey,
    private readonly target: SshTarget,
  ) {
    this.redactor = new Redactor(secretsOf(target));
    // After the handshake ssh2 reports a lost peer (keepalive timeout, reset) as an 'error' event.
    // Unhandled, that event would crash the process; and a peer that vanished without a FIN would
    // leave running commands waiting forever. So: mark the session broken, fail whatever waits,
    // and destroy the socket.
    const connection = ssh.connection;
    const label = target.label ?? target.host;
    const lost = (reason: string): void => {
      if (this.broken && this.pending.size === 0) return;
      this.broken = true;
      const error = redactError(
        new RemoteError('unreachable', `${label}: the SSH connection was lost (${reason}).`),
        this.redactor,
      );
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
      const connecting = ssh.connect({
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
        algorithms: hostKeyAlgorithms(pinnedTypes),
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
      // node-ssh creates ssh2's client synchronously inside connect() (no key path to read).
      ignoreHostKeyAnnouncements(ssh.connection);
      await connecting;
    } catch (error) {
      ssh.dispose();
      if (signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
      throw redactError(rejection ?? classifyConnectError(error, label), new Redactor(secretsOf(target)));
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
      result = await Promise.race([
        lost,
        this.execChannel(line, stdin, pty, options, (c) => {
          channel = c;
          if (abandoned) c.close();
        }),
      ]);
    } catch (error) {
      // Too much output: that one command fails, its channel is closed, the connection stays usable.
      if (error instanceof RemoteError && error.kind === 'output-too-large') throw error;
      this.broken = true;
      throw redactError(
        error instanceof RemoteError ? error : classifyConnectError(error, label),
        this.redactor,
      );
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

  /**
   * Runs `line` on a new channel and collects its output, in place of node-ssh's `execCommand`,
   * which keeps everything a command prints. Here output is bounded by the target's
   * `maxOutputBytes`; decoded as UTF-8 across chunk boundaries; and redacted (results and streamed
   * chunks alike) before anyone sees it.
   */
  private execChannel(
    line: string,
    stdin: string | undefined,
    pty: boolean,
    options: RunOptions,
    onChannel: (channel: ClientChannel) => void,
  ): Promise<RunResult> {
    const label = this.target.label ?? this.target.host;
    const limit = this.target.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const connection: Client | undefined = this.ssh.connection ?? undefined;
    return new Promise<RunResult>((resolve, reject) => {
      if (!connection) {
        reject(new RemoteError('unreachable', `${label}: the SSH connection was closed.`));
        return;
      }
      // In a pseudo-terminal stdout and stderr arrive merged, with CRLF line ends. Echo is off, so
      // a sudo password typed into it is not printed back (a host that echoes anyway is redacted).
      const execOptions = pty
        ? {
            pty: {
              term: 'dumb',
              cols: 4096,
              rows: 24,
              width: 0,
              height: 0,
              modes: { ECHO: 0, ECHONL: 0 } as const,
            },
          }
        : {};
      const opened = (error: Error | undefined, channel: ClientChannel): void => {
        if (error) {
          reject(error);
          return;
        }
        onChannel(channel);
        const collect = (emit: ((chunk: string) => void) | undefined) => {
          const decoder = new StringDecoder('utf8');
          const parts: string[] = [];
          const live = emit ? this.redactor.stream(emit) : null;
          return {
            add: (chunk: Buffer): void => {
              const text = decoder.write(chunk);
              parts.push(text);
              live?.push(text);
            },
            finish: (): string => {
              const tail = decoder.end();
              parts.push(tail);
              live?.push(tail);
              live?.end();
              return parts.join('');
            },
          };
        };
        const out = collect(options.onStdout);
        const err = collect(options.onStderr);
        let received = 0;
        let overflowed = false;
        let afterClose = 0;
        const take =
          (into: typeof out) =>
          (chunk: Buffer): void => {
            if (overflowed) {
              // Discarded, not buffered: a paused ssh2 channel keeps whatever a server sends past
              // its window. A server still sending long after the close is ignoring it.
              afterClose += chunk.length;
              if (afterClose > AFTER_CLOSE_SLACK_BYTES && !this.broken) {
                this.broken = true;
                connection.destroy();
              }
              return;
            }
            received += chunk.length;
            if (received > limit) {
              overflowed = true;
              channel.close();
              reject(
                new RemoteError(
                  'output-too-large',
                  `${label}: the command printed more than ${describeSize(limit)} (stdout and stderr together); ` +
                    'Patchdeck stopped reading and closed it. A host that floods its output is misbehaving; if this much ' +
                    'output is expected, raise the limit (setting: Most output per command, maxCommandOutputMiB).',
                  '',
                  { limitBytes: limit },
                ),
              );
              return;
            }
            into.add(chunk);
          };
        channel.on('data', take(out));
        channel.stderr.on('data', take(err));
        channel.on('error', (e: Error) => {
          if (!overflowed) reject(e);
        });
        if (stdin !== undefined) channel.write(stdin);
        channel.end();
        let code: number | null = null;
        channel.on('exit', (exitCode: number | null) => {
          code = exitCode ?? null;
        });
        // ssh2 emits the channel's 'close' once stdout has ended, but stderr can still hold its
        // last chunk then: the result waits for both.
        let closed = false;
        let stderrEnded = false;
        let settled = false;
        const settle = (): void => {
          if (settled || overflowed || !closed || !stderrEnded) return;
          settled = true;
          const clean = (text: string): string => {
            const stripped = text.split(SUDO_PROMPT).join('');
            return this.redactor.redact(pty ? stripped.replace(/\r\n/g, '\n') : stripped);
          };
          resolve({ stdout: clean(out.finish()), stderr: clean(err.finish()), code });
        };
        const stderrDone = (): void => {
          stderrEnded = true;
          settle();
        };
        channel.stderr.once('end', stderrDone);
        channel.stderr.once('close', stderrDone);
        channel.on('close', () => {
          closed = true;
          settle();
        });
      };
      try {
        connection.exec(line, execOptions, opened);
      } catch (error) {
        reject(error);
      }
    });
  }

  /** What identified the host: its SSH host key (the RemoteSession shape WinRM sessions share). */
  get identity(): PresentedHostKey {
    return this.hostKey;
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
