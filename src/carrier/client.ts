import {
  EventBus,
  isEventName,
  type CallContext,
  type Envelope,
  type Handlers,
  type Method,
  type Router,
  type schemas,
} from '../api';
import type { Platform } from '../platform';
import { errorMessage, PatchdeckError } from '../util';
import type { Logger } from '../util';
import { checkToMain, errorShape, type Carrier, type Channel, type PlatformRequest } from './protocol';

export interface CoreClientOptions {
  channel: Channel;
  /** The real Platform, here in main: it answers the core's requests. */
  platform: Platform;
  carrier: Carrier;
  logger?: Logger;
  runScheduledJobs?: boolean;
}

const ACTIVE = new Set(['queued', 'running']);

/**
 * Main's side of the core's process: the same surface the in-process Core offers its carriers
 * (`router.call`, `call`, `events`), plus `start` and `stop`. It answers the core's Platform
 * requests with the real Platform, and when the core's process dies every call in flight, and
 * every later one, fails with `unavailable` saying so, instead of waiting forever.
 */
export class CoreClient {
  readonly events = new EventBus();
  readonly router: Router;
  private readonly channel: Channel;
  private nextId = 1;
  private readonly pending = new Map<number, (envelope: Envelope) => void>();
  private readonly activeTasks = new Map<number, string>();
  private goneReason: string | null = null;
  private started: { resolve(info: schemas.WorkspaceInfo | null): void; reject(error: Error): void } | null =
    null;
  private stopped: (() => void) | null = null;

  constructor(private readonly options: CoreClientOptions) {
    this.channel = options.channel;
    this.router = { call: (method, args, ctx) => this.send(method, args, ctx) };
    this.channel.onMessage((raw) => this.receive(raw));
    this.channel.onClose((reason) => this.gone(reason));
  }

  /** Tasks queued or running, as the core's events told them: read without waiting (a window's close handler). */
  get activeTaskCount(): number {
    return this.activeTasks.size;
  }

  /** Whether the core's process has gone away. */
  get isGone(): boolean {
    return this.goneReason !== null;
  }

  /** Starts the core in its process and opens the workspace; rejects with the reason it could not. */
  start(
    workspace: { path: string; create: 'never' | 'if-missing' | 'always' } | null,
  ): Promise<schemas.WorkspaceInfo | null> {
    return new Promise((resolve, reject) => {
      if (this.goneReason !== null) {
        reject(new PatchdeckError('unavailable', this.unavailableMessage()));
        return;
      }
      this.started = { resolve, reject };
      const { platform } = this.options;
      this.channel.send({
        t: 'start',
        carrier: this.options.carrier,
        platform: {
          kind: platform.kind,
          secretsBackend: platform.secrets.backend,
          notify: typeof platform.notify === 'function',
        },
        workspace,
        runScheduledJobs: this.options.runScheduledJobs,
      });
    });
  }

  /** Like Core.call: calls through the channel and unwraps the envelope. */
  async call<M extends keyof Handlers>(
    method: M,
    args: unknown = {},
  ): Promise<Awaited<ReturnType<Handlers[M]>>> {
    const envelope = await this.send(method, args, { carrier: this.options.carrier });
    if (!envelope.ok)
      throw new PatchdeckError(envelope.error.code as never, envelope.error.message, envelope.error.details);
    return envelope.value as Awaited<ReturnType<Handlers[M]>>;
  }

  /**
   * Asks the core to close its workspace (running tasks are cancelled and waited for) and end;
   * after `graceMs` without an answer, or once its process has ended, resolves anyway.
   */
  stop(graceMs: number): Promise<void> {
    if (this.goneReason !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, graceMs);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.stopped = finish;
      this.channel.send({ t: 'stop' });
    }).finally(() => this.channel.close());
  }

  private send(method: unknown, args: unknown, ctx: CallContext): Promise<Envelope> {
    if (this.goneReason !== null) return Promise.resolve(this.unavailable());
    if (typeof method !== 'string')
      return Promise.resolve({
        ok: false,
        error: { code: 'unknown-method', message: `Unknown method: ${typeof method}.` },
      });
    const id = this.nextId++;
    return new Promise<Envelope>((resolve) => {
      this.pending.set(id, resolve);
      try {
        this.channel.send({
          t: 'call',
          id,
          method: method.slice(0, 200) as Method,
          args,
          carrier: ctx.carrier,
        });
      } catch (error) {
        // Arguments that cannot be cloned (a function, a symbol) never leave this process.
        this.pending.delete(id);
        resolve({
          ok: false,
          error: {
            code: 'bad-request',
            message: `The call's arguments cannot be sent: ${errorMessage(error)}`,
          },
        });
      }
    });
  }

  private receive(raw: unknown): void {
    const checked = checkToMain(raw);
    if (!checked.ok) {
      this.options.logger?.warn('refused a message from the core', { why: checked.why });
      // A result that cannot be read still ends its call, with the reason, instead of a wait.
      const waiting = checked.id !== null && (raw as { t?: unknown }).t === 'result';
      const resolve = waiting ? this.pending.get(checked.id!) : undefined;
      if (resolve) {
        this.pending.delete(checked.id!);
        resolve({
          ok: false,
          error: { code: 'internal', message: `The core's answer was refused: ${checked.why}.` },
        });
      }
      // A Platform request that cannot be read is refused, so the core does not wait for it.
      if (checked.id !== null && (raw as { t?: unknown }).t === 'platform')
        this.channel.send({
          t: 'platform.answer',
          id: checked.id,
          ok: false,
          error: { code: 'bad-request', message: `The request was refused: ${checked.why}.` },
        });
      return;
    }
    const message = checked.message;
    switch (message.t) {
      case 'started':
        this.started?.resolve(message.workspace as schemas.WorkspaceInfo | null);
        this.started = null;
        return;
      case 'start.failed':
        this.started?.reject(
          new PatchdeckError(message.error.code as never, message.error.message, message.error.details),
        );
        this.started = null;
        return;
      case 'result': {
        const resolve = this.pending.get(message.id);
        if (!resolve) return;
        this.pending.delete(message.id);
        resolve(message.envelope as Envelope);
        return;
      }
      case 'event':
        this.forward(message.event, message.payload);
        return;
      case 'platform':
        void this.answer(message.id, message.request);
        return;
      case 'stopped':
        this.stopped?.();
        this.stopped = null;
        return;
    }
  }

  /** An event from the core, checked against the contract like every event. */
  private forward(event: string, payload: unknown): void {
    if (!isEventName(event)) return;
    try {
      this.events.emit(event, payload as never);
    } catch (error) {
      this.options.logger?.warn('refused an event from the core', { event, error: errorMessage(error) });
      return;
    }
    if (event === 'task.changed') {
      const task = payload as { id: number; status: string };
      if (ACTIVE.has(task.status)) this.activeTasks.set(task.id, task.status);
      else this.activeTasks.delete(task.id);
    }
  }

  /** Does one Platform request with the real Platform and sends back its value or its error. */
  private async answer(id: number, request: PlatformRequest): Promise<void> {
    const { platform } = this.options;
    try {
      const value = await (async (): Promise<unknown> => {
        switch (request.op) {
          case 'secrets.seal':
            return platform.secrets.seal(request.plaintext);
          case 'secrets.open':
            return platform.secrets.open(Buffer.from(request.ciphertext));
          case 'openExternal':
            return platform.openExternal(request.url).then(() => null);
          case 'chooseFileToOpen':
            return platform.chooseFileToOpen(request.options);
          case 'chooseFileToSave':
            return platform.chooseFileToSave(request.options);
          case 'printToPdf':
            return platform.printToPdf(request.html);
          case 'notify':
            return platform.notify ? platform.notify(request.notification) : false;
        }
      })();
      this.channel.send({ t: 'platform.answer', id, ok: true, value: value ?? null });
    } catch (error) {
      // Only the message crosses: an error from the keychain never carries the secret's bytes.
      this.channel.send({ t: 'platform.answer', id, ok: false, error: errorShape(error) });
    }
  }

  private unavailableMessage(): string {
    return `Patchdeck's core stopped (${this.goneReason ?? 'for an unknown reason'}). Close Patchdeck and open it again; work that was running shows as interrupted.`;
  }

  private unavailable(): Envelope {
    return { ok: false, error: { code: 'unavailable', message: this.unavailableMessage() } };
  }

  private gone(reason: string): void {
    if (this.goneReason !== null) return;
    this.goneReason = reason;
    for (const resolve of this.pending.values()) resolve(this.unavailable());
    this.pending.clear();
    this.activeTasks.clear();
    this.started?.reject(new PatchdeckError('unavailable', this.unavailableMessage()));
    this.started = null;
    this.stopped?.();
    this.stopped = null;
  }
}
