import { checkToCore, errorShape, type Channel, type PlatformRequest, type ToCore } from '../../carrier';
import { createRemotePlatform, type PlatformOp } from '../../platform';
import { errorMessage } from '../../util';
import type { Logger } from '../../util';
import { Core } from '../core';

export interface ServeCoreOptions {
  logger?: Logger;
  /** Called once the core has stopped (or main went away): the entry ends its process here. */
  onStopped?: () => void;
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

  const ask = (op: PlatformOp, request: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextAsk++;
      asked.set(id, { resolve, reject });
      channel.send({ t: 'platform', id, request: { op, ...request } as PlatformRequest });
    });

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await core?.closeWorkspace();
    } catch (error) {
      options.logger?.error('closing the workspace failed', { error: errorMessage(error) });
    }
    channel.send({ t: 'stopped' });
    options.onStopped?.();
  };

  const start = async (message: Extract<ToCore, { t: 'start' }>): Promise<void> => {
    if (core) return;
    core = new Core({
      platform: createRemotePlatform({ ...message.platform, ask }),
      carrier: message.carrier,
      logger: options.logger,
      runScheduledJobs: message.runScheduledJobs,
    });
    core.events.subscribe((event, payload) => channel.send({ t: 'event', event, payload }));
    try {
      const workspace = message.workspace
        ? await core.openWorkspace(message.workspace.path, { create: message.workspace.create })
        : null;
      channel.send({ t: 'started', workspace });
    } catch (error) {
      channel.send({ t: 'start.failed', error: errorShape(error) });
    }
  };

  channel.onMessage((raw) => {
    const checked = checkToCore(raw);
    if (!checked.ok) {
      options.logger?.warn('refused a message from main', { why: checked.why });
      // A call that cannot be read is still answered, so main does not wait for it forever.
      if (checked.id !== null && (raw as { t?: unknown }).t === 'call')
        channel.send({
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
          channel.send({
            t: 'result',
            id,
            envelope: { ok: false, error: { code: 'unavailable', message: 'Patchdeck is shutting down.' } },
          });
          return;
        }
        void core.router
          .call(message.method, message.args, { carrier: message.carrier })
          .then((envelope) => channel.send({ t: 'result', id, envelope }));
        return;
      }
      case 'platform.answer': {
        const waiting = asked.get(message.id);
        if (!waiting) return;
        asked.delete(message.id);
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(new Error(message.error.message));
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
