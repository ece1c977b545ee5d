/**
 * One WinRM session per PC: the authenticated kept-alive connection, one cmd shell opened on first
 * use and reused by every command, and the command runner the collectors and patch steps use
 * (`run`, `runPowerShell`), with the output cap, per-command time limit and cancel that SSH has.
 *
 * Commands run one at a time: they share one connection, and a Receive holds it until output
 * arrives (up to OperationTimeout).
 */
import { randomUUID } from 'node:crypto';
import { RemoteError } from '../errors';
import { decodeClixml } from './clixml';
import { HttpTransport, type SoapTransport } from './http';
import { sendChunkBytes, type EnvelopeContext } from './soap';
import { WinrsShell, WsmanFaultError } from './shell';
import type {
  RemoteSession,
  WinrmConnectOptions,
  WinrmIdentity,
  WinrmResult,
  WinrmRunOptions,
} from './types';

export const DEFAULT_MAX_ENVELOPE_SIZE = 153_600;
const DEFAULT_OPERATION_TIMEOUT_S = 20;
/** A shell operation other than Receive (Create, Command, Send, Signal, Delete) gets this long. */
const CALL_TIMEOUT_MS = 60_000;
/** Cleaning up after a failed command must not hang the caller. */
const CLEANUP_TIMEOUT_MS = 10_000;

/**
 * The PowerShell side of `runPowerShell`: read stdin to its end (the script, base64 of UTF-8, so
 * no code page can garble it), then run it as one script block. Sent as -EncodedCommand, it is
 * short and fixed; the script itself has no length limit.
 */
const POWERSHELL_BOOTSTRAP = [
  "$ProgressPreference = 'SilentlyContinue'",
  'try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch {}',
  '$patchdeckScript = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd()))',
  '& ([scriptblock]::Create($patchdeckScript))',
  'exit $LASTEXITCODE',
].join('\n');

export const POWERSHELL_COMMAND =
  'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' +
  Buffer.from(POWERSHELL_BOOTSTRAP, 'utf16le').toString('base64');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
// cmd.exe gives these a meaning even inside quotes (%VAR%, !VAR!, ^ escapes, line ends).
const ENV_VALUE_UNSAFE = /["%!^\r\n\0]/;

function describeSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

function decodeOutput(chunks: Buffer[]): string {
  const text = Buffer.concat(chunks).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

interface Execution {
  command: string;
  consoleModeStdin: boolean;
  stdin?: Buffer;
}

export class WinrmSession implements RemoteSession {
  private readonly shell: WinrsShell;
  private shellId: string | null = null;
  private open = true;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly transport: SoapTransport,
    private readonly options: WinrmConnectOptions,
    context: EnvelopeContext,
  ) {
    this.shell = new WinrsShell(transport, context, options.label);
  }

  /** Connects and authenticates (errors surface here, as with SSH); the shell opens on first use. */
  static async connect(options: WinrmConnectOptions, signal?: AbortSignal): Promise<WinrmSession> {
    const transport = new HttpTransport(options);
    try {
      await transport.open(options.connectTimeoutMs, signal);
      const session = WinrmSession.overTransport(transport, options);
      if (options.maxEnvelopeSize === undefined) await session.learnMaxEnvelopeSize(signal);
      return session;
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  /** A session over any SOAP transport (tests replay recorded Windows replies through it). */
  static overTransport(transport: SoapTransport, options: WinrmConnectOptions): WinrmSession {
    const scheme = options.https ? 'https' : 'http';
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    return new WinrmSession(transport, options, {
      to: `${scheme}://${host}:${options.port}/wsman`,
      maxEnvelopeSize: options.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE,
      operationTimeoutS: options.operationTimeoutS ?? DEFAULT_OPERATION_TIMEOUT_S,
      sessionId: `uuid:${randomUUID().toUpperCase()}`,
    });
  }

  private async learnMaxEnvelopeSize(signal?: AbortSignal): Promise<void> {
    const size = await this.shell.maxEnvelopeSize({ timeoutMs: CALL_TIMEOUT_MS, signal });
    if (size !== null) this.shell.context.maxEnvelopeSize = size;
  }

  get isOpen(): boolean {
    return this.open;
  }

  get identity(): WinrmIdentity {
    return this.transport.identity;
  }

  /** MaxEnvelopeSize in use (asked of the PC, or the default). */
  get maxEnvelopeSize(): number {
    return this.shell.context.maxEnvelopeSize;
  }

  /**
   * A cmd.exe command line. `sudo` is ignored: a WinRM session of an administrator is elevated.
   * `env` is set for this command only (`set "NAME=value"&&` before it); names and values are
   * checked, not escaped, so nothing can break out of the assignment.
   */
  run(
    command: string,
    options: WinrmRunOptions & { sudo?: boolean; env?: Record<string, string> } = {},
  ): Promise<WinrmResult> {
    let line = command;
    for (const [name, value] of Object.entries(options.env ?? {}).reverse()) {
      if (!ENV_NAME.test(name) || ENV_VALUE_UNSAFE.test(value))
        return Promise.reject(
          new RemoteError(
            'command-failed',
            `The environment variable ${JSON.stringify(name.slice(0, 64))} cannot be passed to cmd.exe safely.`,
          ),
        );
      line = `set "${name}=${value}"&& ${line}`;
    }
    const stdin = options.stdin === undefined ? undefined : Buffer.from(options.stdin, 'utf8');
    return this.serial(() =>
      this.execute({ command: line, consoleModeStdin: stdin === undefined, stdin }, options),
    );
  }

  /**
   * A PowerShell script of any length, streamed through stdin (no 8 K command-line limit), output
   * in UTF-8, the error stream's CLIXML decoded to text.
   */
  async runPowerShell(script: string, options: WinrmRunOptions = {}): Promise<WinrmResult> {
    const stdin = Buffer.from(`${Buffer.from(script, 'utf8').toString('base64')}\r\n`, 'ascii');
    const result = await this.serial(() =>
      this.execute({ command: POWERSHELL_COMMAND, consoleModeStdin: false, stdin }, options),
    );
    return { ...result, stderr: decodeClixml(result.stderr) };
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async ensureShell(call: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
    if (this.shellId) return this.shellId;
    this.shellId = await this.shell.create({ codepage: 65001, noProfile: true }, call);
    return this.shellId;
  }

  private async startCommand(
    execution: Execution,
    call: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ shellId: string; commandId: string }> {
    for (let attempt = 0; ; attempt++) {
      const shellId = await this.ensureShell(call);
      try {
        const commandId = await this.shell.command(
          shellId,
          execution.command,
          execution.consoleModeStdin,
          call,
        );
        return { shellId, commandId };
      } catch (error) {
        // The PC closed the shell (idle time-out, WinRM restart): open a new one, once.
        if (attempt === 0 && error instanceof WsmanFaultError && error.fault.subcode === 'InvalidSelectors') {
          this.shellId = null;
          continue;
        }
        throw error;
      }
    }
  }

  private async execute(execution: Execution, options: WinrmRunOptions): Promise<WinrmResult> {
    const { label } = this.options;
    if (!this.open) throw new RemoteError('unreachable', `${label}: the WinRM session is closed.`);
    if (options.signal?.aborted) throw new RemoteError('cancelled', 'Cancelled.');
    const stop = new AbortController();
    let why: 'timeout' | 'cancelled' | null = null;
    const onAbort = (): void => {
      why ??= 'cancelled';
      stop.abort();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = options.timeoutMs;
    const timer =
      timeoutMs !== undefined && timeoutMs > 0
        ? setTimeout(() => {
            why ??= 'timeout';
            stop.abort();
          }, timeoutMs)
        : null;
    const call = { timeoutMs: CALL_TIMEOUT_MS, signal: stop.signal };
    const receiveCall = {
      timeoutMs: (this.shell.context.operationTimeoutS + 30) * 1000,
      signal: stop.signal,
    };
    const limit = this.options.maxOutputBytes;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let received = 0;
    let started: { shellId: string; commandId: string } | null = null;
    let finished = false;
    try {
      started = await this.startCommand(execution, call);
      const { shellId, commandId } = started;
      if (execution.stdin !== undefined) {
        const size = sendChunkBytes(this.shell.context.maxEnvelopeSize);
        const data = execution.stdin;
        for (let at = 0; at < data.length || at === 0; at += size) {
          const end = at + size >= data.length;
          await this.shell.send(shellId, commandId, data.subarray(at, at + size), end, call);
          if (end) break;
        }
      }
      let exitCode: number | null = null;
      for (;;) {
        const chunk = await this.shell.receive(shellId, commandId, receiveCall);
        if ('timedOut' in chunk) continue;
        for (const piece of chunk.stdout) received += piece.length;
        for (const piece of chunk.stderr) received += piece.length;
        if (received > limit)
          throw new RemoteError(
            'output-too-large',
            `${label}: the command printed more than ${describeSize(limit)} (stdout and stderr together); ` +
              'Patchdeck stopped reading. A PC that floods its output is misbehaving; if this much output is ' +
              'expected, raise the limit (setting: Most output per command, maxCommandOutputMiB).',
            '',
            { limitBytes: limit },
          );
        stdout.push(...chunk.stdout);
        stderr.push(...chunk.stderr);
        if (chunk.done) {
          exitCode = chunk.exitCode;
          break;
        }
      }
      finished = true;
      // Done: release the command on the PC (as Windows' own winrs does), then report.
      await this.shell.signal(shellId, commandId, 'terminate', call).catch(() => undefined);
      return { stdout: decodeOutput(stdout), stderr: decodeOutput(stderr), code: exitCode };
    } catch (error) {
      let stopped = false;
      if (started && !finished)
        stopped = await this.shell
          .signal(started.shellId, started.commandId, 'terminate', { timeoutMs: CLEANUP_TIMEOUT_MS })
          .then(
            () => true,
            () => false,
          );
      if (why === 'timeout')
        throw new RemoteError(
          'timeout',
          `${label}: the command did not finish within ${timeoutMs} ms; ` +
            (stopped
              ? 'Patchdeck stopped it on the PC.'
              : "Patchdeck's request to stop it on the PC failed, so it may still be running there."),
          decodeOutput(stderr),
        );
      if (error instanceof RemoteError && error.kind === 'output-too-large')
        throw new RemoteError(
          error.kind,
          `${error.message} ${stopped ? 'The command was stopped on the PC.' : "Patchdeck's request to stop the command on the PC failed, so it may still be running there."}`,
          error.stderr,
          error.details,
        );
      if (why === 'cancelled') throw new RemoteError('cancelled', 'Cancelled.', decodeOutput(stderr));
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Deletes the shell and closes the connection; never throws. */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const shellId = this.shellId;
    this.shellId = null;
    try {
      await this.tail;
      if (shellId) await this.shell.delete(shellId, { timeoutMs: CLEANUP_TIMEOUT_MS });
    } catch {
      // The PC deletes an idle shell itself (IdleTimeOut); nothing more to do.
    } finally {
      this.transport.close();
    }
  }
}
