import { checkToCore, errorShape, type Channel, type PlatformRequest, type ToCore } from '../../carrier';
import { createRemotePlatform, type PlatformOp } from '../../platform';
import { errorMessage, PatchdeckError, type ErrorCode } from '../../util';
import type { Logger } from '../../util';
import { Core, type CoreOptions } from '../core';

export interface ServeCoreOptions {
  logger?: Logger;
  /** Called once the core has stopped (or main went away): the entry ends its process here. */
  onStopped?: () => void;
  /** The recent workspaces list and the network notes (the app passes both; tests leave them out). */
  workspaces?: Pick<CoreOptions, 'recentFile' | 'watchNetwork'>;
}

/**
 * The core's side of the channel, in its own process: waits for `start`, builds a Core whose
 * Platform asks main, opens the workspace, then serves calls and forwards every contract event.
 * `stop` closes the workspace (which cancels and waits for running tasks) and answers `stopped`.
 */
export function serveCore(channel: Channel, options: ServeCoreOptions = {}): void {
  let core: Core | null = null;
  let stopping = false;
  let nextAsk = 1;
  const asked = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  /**
   * Sends one message; a message the channel cannot carry (a value it cannot clone, a closed
   * port) is logged by its kind and reported to the caller, never thrown into an event emitter
   * or a promise chain, where it would end the core's process.
   */
  const send = (message: Parameters<Channel['send']>[0]): boolean => {
    try {
      channel.send(message);
      return true;
    } catch (error) {
      options.logger?.error('could not send a message to main', {
        kind: message.t,
        error: errorMessage(error),
      });
      return false;
    }
  };

  const ask = (op: PlatformOp, request: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextAsk++;
      asked.set(id, { resolve, reject });
      if (!send({ t: 'platform', id, request: { op, ...request } as PlatformRequest })) {
        asked.delete(id);
        reject(new PatchdeckError('unavailable', `Could not ask the desktop shell to ${op}.`));
      }
    });

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await core?.closeWorkspace();
    } catch (error) {
      options.logger?.error('closing the workspace failed', { error: errorMessage(error) });
    }
    send({ t: 'stopped' });
    options.onStopped?.();
  };

  const start = async (message: Extract<ToCore, { t: 'start' }>): Promise<void> => {
    if (core) return;
    core = new Core({
      platform: createRemotePlatform({ ...message.platform, ask }),
      carrier: message.carrier,
      logger: options.logger,
      runScheduledJobs: message.runScheduledJobs,
      ...options.workspaces,
    });
    core.events.subscribe((event, payload) => void send({ t: 'event', event, payload }));
    try {
      const workspace = message.workspace
        ? await core.openWorkspace(message.workspace.path, { create: message.workspace.create })
        : null;
      send({ t: 'started', workspace });
    } catch (error) {
      send({ t: 'start.failed', error: errorShape(error) });
    }
  };

  channel.onMessage((raw) => {
    const checked = checkToCore(raw);
    if (!checked.ok) {
      options.logger?.warn('refused a message from main', { why: checked.why });
      // A call that cannot be read is still answered, so main does not wait for it forever.
      if (checked.id !== null && (raw as { t?: unknown }).t === 'call')
        send({
          t: 'result',
          id: checked.id,
          envelope: {
            ok: false,
            error: { code: 'bad-request', message: `The call was refused: ${checked.why}.` },
          },
        });
      return;
    }
    const message = checked.message;
    switch (message.t) {
      case 'start':
        void start(message);
        return;
      case 'call': {
        const { id } = message;
        if (!core || stopping) {
          send({
            t: 'result',
            id,
            envelope: { ok: false, error: { code: 'unavailable', message: 'Patchdeck is shutting down.' } },
          });
          return;
        }
        const { method } = message;
        void core.router.call(method, message.args, { carrier: message.carrier }).then((envelope) => {
          // A result that cannot be carried still answers the call, so main never waits forever.
          if (!send({ t: 'result', id, envelope }))
            send({
              t: 'result',
              id,
              envelope: {
                ok: false,
                error: {
                  code: 'internal',
                  message: `The answer to ${method} could not be sent to the window.`,
                },
              },
            });
        });
        return;
      }
      case 'platform.answer': {
        const waiting = asked.get(message.id);
        if (!waiting) return;
        asked.delete(message.id);
        if (message.ok) waiting.resolve(message.value);
        // The code and details cross as data, so a Platform refusal keeps its meaning (unavailable, …).
        else
          waiting.reject(
            new PatchdeckError(message.error.code as ErrorCode, message.error.message, message.error.details),
          );
        return;
      }
      case 'stop':
        void stop();
        return;
    }
  });

  channel.onClose(() => {
    for (const waiting of asked.values())
      waiting.reject(new Error('The main process went away before it answered.'));
    asked.clear();
    // Main is gone: nobody will ever see this core's work. Close the workspace cleanly and end.
    void stop();
  });
}
