/**
 * The WinRS shell operations over a SOAP transport: each call builds its envelope, sends it,
 * parses the reply (bounded), checks that RelatesTo names the request, and turns a fault into a
 * classified error. `w:TimedOut` of a Receive is not an error: it comes back as `timedOut`.
 */
import { RemoteError } from '../errors';
import { checkRelatesTo, faultOf, faultToError, isTimedOut, type WsmanFault } from './faults';
import type { SoapTransport } from './http';
import {
  commandEnvelope,
  commandIdOf,
  createShellEnvelope,
  deleteEnvelope,
  getConfigEnvelope,
  maxEnvelopeSizeOf,
  parseReceive,
  receiveEnvelope,
  sendEnvelope,
  shellIdOf,
  signalEnvelope,
  type CreateShellOptions,
  type Envelope,
  type EnvelopeContext,
  type ReceiveChunk,
} from './soap';
import { parseXml, XmlError, type XmlElement } from './xml';

export interface CallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A classified error that still knows the fault it came from. */
export class WsmanFaultError extends RemoteError {
  constructor(
    readonly fault: WsmanFault,
    error: RemoteError,
  ) {
    super(error.kind, error.message, error.stderr, error.details);
  }
}

export class WinrsShell {
  constructor(
    private readonly transport: SoapTransport,
    readonly context: EnvelopeContext,
    private readonly label: string,
  ) {}

  /** Sends one envelope; returns the reply's root, or throws its fault as a classified error. */
  async call(envelope: Envelope, operation: string, options: CallOptions): Promise<XmlElement> {
    const reply = await this.transport.exchange(envelope.xml, options);
    let root: XmlElement;
    try {
      // A reply is at most MaxEnvelopeSize bytes; twice that in characters is generous.
      root = parseXml(reply.body, { maxChars: Math.max(2 * this.context.maxEnvelopeSize, 64 * 1024) });
    } catch (error) {
      const why = error instanceof XmlError ? error.message : 'unreadable';
      throw new RemoteError(
        'command-failed',
        `${this.label} could not ${operation}: its WinRM reply is not a readable SOAP message (${why}; HTTP ${reply.status}).`,
      );
    }
    checkRelatesTo(root, envelope.messageId, this.label);
    const fault = faultOf(root);
    if (fault) throw new WsmanFaultError(fault, faultToError(fault, this.label, operation));
    if (reply.status !== 200)
      throw new RemoteError(
        'command-failed',
        `${this.label} could not ${operation}: WinRM answered HTTP ${reply.status} without a fault.`,
      );
    return root;
  }

  async create(options: CreateShellOptions, call: CallOptions): Promise<string> {
    const root = await this.call(createShellEnvelope(this.context, options), 'open a WinRM shell', call);
    const shellId = shellIdOf(root);
    if (!shellId || !/^[0-9A-Za-z-]{1,100}$/.test(shellId))
      throw new RemoteError(
        'command-failed',
        `${this.label} opened a WinRM shell but gave no usable ShellId.`,
      );
    return shellId;
  }

  async command(
    shellId: string,
    command: string,
    consoleModeStdin: boolean,
    call: CallOptions,
  ): Promise<string> {
    const root = await this.call(
      commandEnvelope(this.context, shellId, { command, consoleModeStdin }),
      'start the command',
      call,
    );
    const commandId = commandIdOf(root);
    if (!commandId || !/^[0-9A-Za-z-]{1,100}$/.test(commandId))
      throw new RemoteError(
        'command-failed',
        `${this.label} started the command but gave no usable CommandId.`,
      );
    return commandId;
  }

  async send(
    shellId: string,
    commandId: string,
    chunk: Buffer,
    end: boolean,
    call: CallOptions,
  ): Promise<void> {
    await this.call(
      sendEnvelope(this.context, shellId, commandId, chunk, end),
      'send the command its input',
      call,
    );
  }

  /** One Receive; `timedOut` when the PC had nothing within OperationTimeout (Receive again). */
  async receive(
    shellId: string,
    commandId: string,
    call: CallOptions,
  ): Promise<ReceiveChunk | { timedOut: true }> {
    let root: XmlElement;
    try {
      root = await this.call(
        receiveEnvelope(this.context, shellId, commandId),
        'read the command output',
        call,
      );
    } catch (error) {
      if (error instanceof WsmanFaultError && isTimedOut(error.fault)) return { timedOut: true };
      throw error;
    }
    try {
      return parseReceive(root, commandId);
    } catch (error) {
      throw new RemoteError(
        'command-failed',
        `${this.label} sent command output Patchdeck cannot read (${(error as Error).message}).`,
      );
    }
  }

  async signal(
    shellId: string,
    commandId: string,
    code: 'terminate' | 'ctrl_c',
    call: CallOptions,
  ): Promise<void> {
    await this.call(signalEnvelope(this.context, shellId, commandId, code), 'stop the command', call);
  }

  async delete(shellId: string, call: CallOptions): Promise<void> {
    await this.call(deleteEnvelope(this.context, shellId), 'close the WinRM shell', call);
  }

  /** MaxEnvelopeSize the service allows, in bytes; null when the PC will not say (non-admin, fault). */
  async maxEnvelopeSize(call: CallOptions): Promise<number | null> {
    try {
      return maxEnvelopeSizeOf(
        await this.call(getConfigEnvelope(this.context), 'read its WinRM settings', call),
      );
    } catch (error) {
      if (error instanceof RemoteError && error.kind === 'cancelled') throw error;
      return null;
    }
  }
}
