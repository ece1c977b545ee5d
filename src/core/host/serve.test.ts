import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { channelOverPort, type Channel, type MessagePortLike, type ToMain } from '../../carrier';
import { serveCore } from './serve';

// The core's side of the carrier over a real MessagePort (structured clone, as Electron's), with
// the test playing main on the other end.

function portLike(port: MessagePort): MessagePortLike {
  const on = (event: 'message' | 'close', listener: (arg?: unknown) => void): unknown =>
    event === 'message'
      ? port.on('message', (data) => listener({ data }))
      : port.on('close', () => listener());
  return {
    postMessage: (message: unknown) => port.postMessage(message),
    on: on as MessagePortLike['on'],
    start: () => port.start(),
    close: () => port.close(),
  };
}

const opened: MessagePort[] = [];
afterEach(() => {
  for (const port of opened.splice(0)) port.close();
});

/** Starts serveCore on one end; returns main's end and a wait for its next message of a kind. */
function startServing(wrap: (channel: Channel) => Channel = (c) => c) {
  const { port1, port2 } = new MessageChannel();
  opened.push(port1, port2);
  serveCore(wrap(channelOverPort(portLike(port1))));
  const seen: ToMain[] = [];
  const waiters: { test: (m: ToMain) => boolean; resolve: (m: ToMain) => void }[] = [];
  port2.on('message', (message: ToMain) => {
    seen.push(message);
    for (const w of [...waiters]) {
      if (!w.test(message)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(message);
    }
  });
  const next = <T extends ToMain['t']>(t: T, extra: (m: Extract<ToMain, { t: T }>) => boolean = () => true) =>
    new Promise<Extract<ToMain, { t: T }>>((resolve) => {
      const test = (m: ToMain) => m.t === t && extra(m as Extract<ToMain, { t: T }>);
      const already = seen.find(test);
      if (already) resolve(already as Extract<ToMain, { t: T }>);
      else waiters.push({ test, resolve: resolve as (m: ToMain) => void });
    });
  return { main: port2, next };
}

const START = {
  t: 'start',
  carrier: 'electron',
  platform: { kind: 'electron', secretsBackend: 'test', notify: false },
  workspace: null,
  runScheduledJobs: false,
} as const;

describe('serveCore', () => {
  it('keeps a Platform refusal’s code: a refused dialog reaches the window as unavailable, not internal', async () => {
    const { main, next } = startServing();
    main.postMessage(START);
    await next('started');
    main.postMessage({
      t: 'call',
      id: 7,
      method: 'credentials.chooseKeyFile',
      args: {},
      carrier: 'electron',
    });
    const asked = await next('platform');
    expect(asked.request.op).toBe('chooseFileToOpen');
    main.postMessage({
      t: 'platform.answer',
      id: asked.id,
      ok: false,
      error: { code: 'unavailable', message: 'No window is open to show the file dialog.' },
    });
    const result = await next('result', (m) => m.id === 7);
    expect(result.envelope).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: 'No window is open to show the file dialog.' },
    });
  });

  it('still answers a call whose result cannot be sent, and keeps serving', async () => {
    let refuseNextResult = true;
    const { main, next } = startServing((channel) => ({
      ...channel,
      send(message) {
        // As a port does with a value it cannot clone: the send throws.
        if (message.t === 'result' && refuseNextResult) {
          refuseNextResult = false;
          throw new Error('could not be cloned');
        }
        channel.send(message);
      },
    }));
    main.postMessage(START);
    await next('started');
    main.postMessage({ t: 'call', id: 1, method: 'app.info', args: {}, carrier: 'electron' });
    const refused = await next('result', (m) => m.id === 1);
    expect(refused.envelope).toMatchObject({
      ok: false,
      error: { code: 'internal', message: 'The answer to app.info could not be sent to the window.' },
    });
    main.postMessage({ t: 'call', id: 2, method: 'app.info', args: {}, carrier: 'electron' });
    const served = await next('result', (m) => m.id === 2);
    expect(served.envelope).toMatchObject({ ok: true, value: { name: 'Patchdeck' } });
  });
});
