import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../api/schemas';
import { createNodePlatform } from '../platform';
import type { Platform } from '../platform/types';
import { PatchdeckError } from '../util/errors';
import { CoreClient } from './client';
import { bundleNodeCore } from './bundle';
import { forkNodeCore, type ForkedCore } from './fork';
import type { Channel, ToCore, ToMain } from './protocol';

// The core in a real child process (child_process.fork, the Node stand-in for Electron's
// utilityProcess), on a real SQLite workspace, with main's real Node Platform answering it.

let dir: string;
let entry: string;
const started: ForkedCore[] = [];
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-host-'));
  entry = await bundleNodeCore();
});
afterEach(() => {
  for (const { child } of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Main's real Platform, with a record of what the core asked of it. */
function recordingPlatform(overrides: Partial<Platform> = {}): { platform: Platform; asked: string[] } {
  const real = createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false });
  const asked: string[] = [];
  const platform: Platform = {
    ...real,
    secrets: {
      backend: real.secrets.backend,
      seal: (plaintext) => (asked.push('seal'), real.secrets.seal(plaintext)),
      open: (ciphertext) => (asked.push('open'), real.secrets.open(ciphertext)),
    },
    ...overrides,
  };
  return { platform, asked };
}

async function startCore(
  name: string,
  platform: Platform,
): Promise<{ client: CoreClient; forked: ForkedCore }> {
  const forked = forkNodeCore({ entry });
  started.push(forked);
  const client = new CoreClient({ channel: forked.channel, platform, carrier: 'electron' });
  await client.start({ path: path.join(dir, `${name}.sqlite`), create: 'if-missing' });
  return { client, forked };
}

function taskReaching(client: CoreClient, id: number, statuses: string[]): Promise<Task> {
  return new Promise((resolve) => {
    const off = client.events.subscribe((event, payload) => {
      if (event !== 'task.changed') return;
      const task = payload as Task;
      if (task.id === id && statuses.includes(task.status)) {
        off();
        resolve(task);
      }
    });
  });
}

describe('the core in a forked process', () => {
  it('serves calls and results, forwards events, and asks main for secrets', async () => {
    const { platform, asked } = recordingPlatform();
    const { client, forked } = await startCore('serve', platform);
    expect(forked.child.pid).not.toBe(process.pid);
    const info = await client.call('app.info', {});
    expect(info).toMatchObject({ carrier: 'electron', secretsBackend: platform.secrets.backend });
    expect(info.workspace).toMatchObject({ path: path.join(dir, 'serve.sqlite'), createdNew: true });

    const seen: unknown[] = [];
    client.events.subscribe((event, payload) => seen.push({ event, payload }));
    expect(await client.call('settings.set', { patch: { theme: 'dark' } })).toMatchObject({ theme: 'dark' });
    await expect
      .poll(() => seen)
      .toContainEqual({ event: 'entity.changed', payload: { entity: 'settings' } });

    // The secret is sealed by main's Platform; the workspace holds only its ciphertext.
    const secret = 'child-process-Pa55word';
    await client.call('credentials.add', { name: 'lab', username: 'admin', kind: 'password', secret });
    expect(asked).toContain('seal');
    await client.stop(10_000);
    expect(fs.readFileSync(path.join(dir, 'serve.sqlite')).includes(secret)).toBe(false);
    await expect.poll(() => forked.child.exitCode).toBe(0);
  });

  it('carries errors as data: code, message and details', async () => {
    const { client } = await startCore('errors', recordingPlatform().platform);
    const envelope = await client.router.call(
      'hosts.update',
      { id: 1, patch: { evil: true } },
      { carrier: 'electron' },
    );
    expect(envelope).toMatchObject({
      ok: false,
      error: {
        code: 'bad-request',
        message: expect.stringMatching(/^Invalid arguments for hosts\.update: patch: /),
        details: { issues: [{ path: ['patch'] }] },
      },
    });
    const thrown = await client.call('hosts.get', { id: 99 }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(PatchdeckError);
    expect(thrown).toMatchObject({ code: 'not-found', message: 'Host 99 does not exist.' });
    await client.stop(10_000);
  });

  it('says why when the workspace cannot be opened at start', async () => {
    const bad = path.join(dir, 'not-sqlite.sqlite');
    fs.writeFileSync(bad, 'these are not the bytes of a SQLite file');
    const forked = forkNodeCore({ entry });
    started.push(forked);
    const client = new CoreClient({
      channel: forked.channel,
      platform: recordingPlatform().platform,
      carrier: 'electron',
    });
    const refused = await client.start({ path: bad, create: 'if-missing' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PatchdeckError);
    expect(refused).toMatchObject({ code: 'workspace-invalid', message: expect.stringMatching(/\S/) });
    await client.stop(10_000);
  });

  it('cancels a running task through the channel, and counts active tasks from its events', async () => {
    // A "host" that accepts the connection and never says a word: the audit waits on it.
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const { platform, asked } = recordingPlatform();
    const { client } = await startCore('cancel', platform);
    try {
      const credential = await client.call('credentials.add', {
        name: 'lab',
        username: 'admin',
        kind: 'password',
        secret: 'pw-for-the-silent-host',
      });
      const host = await client.call('hosts.add', { name: 'silent', address: '127.0.0.1', sshPort: port });
      const running = new Promise<void>((resolve) => {
        const off = client.events.subscribe((event, payload) => {
          if (event === 'task.changed' && (payload as Task).status === 'running') {
            off();
            resolve();
          }
        });
      });
      const { taskId } = await client.call('audits.start', {
        hostIds: [host.id],
        credentialId: credential.id,
      });
      await running;
      expect(client.activeTaskCount).toBe(1);
      const ended = taskReaching(client, taskId, ['cancelled', 'failed', 'succeeded', 'interrupted']);
      expect(await client.call('tasks.cancel', { id: taskId })).toEqual({ cancelled: true });
      expect(await ended).toMatchObject({ id: taskId, status: 'cancelled' });
      expect(client.activeTaskCount).toBe(0);
      expect(asked).toContain('open');
    } finally {
      await client.stop(10_000);
      silent.close();
    }
  });

  it('fails calls in flight with a clear error when the core’s process dies, and every later call', async () => {
    // The key-file dialog stays open (main never answers): the call waits inside the core.
    let dialogAsked = false;
    const { platform } = recordingPlatform({
      kind: 'electron',
      chooseFileToOpen: () => ((dialogAsked = true), new Promise<never>(() => undefined)),
    });
    const { client, forked } = await startCore('dies', platform);
    const inFlight = client.router.call('credentials.chooseKeyFile', {}, { carrier: 'electron' });
    await expect.poll(() => dialogAsked).toBe(true);
    forked.child.kill('SIGKILL');
    const answer = await inFlight;
    expect(answer).toEqual({
      ok: false,
      error: { code: 'unavailable', message: expect.stringMatching(/core stopped .*SIGKILL.*open it again/) },
    });
    expect(client.isGone).toBe(true);
    expect(await client.router.call('app.info', {}, { carrier: 'electron' })).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    await client.stop(1000);
  });

  it('answers a malformed or oversized call with an error and keeps serving', async () => {
    const { client, forked } = await startCore('hostile', recordingPlatform().platform);
    const answers: ToMain[] = [];
    forked.child.on('message', (message: ToMain) => {
      if (message.t === 'result' && message.id >= 1000) answers.push(message);
    });
    forked.child.send(null as never);
    forked.child.send(42);
    forked.child.send({ t: 'call', id: 1000, method: 'x'.repeat(70_000_000), args: {}, carrier: 'electron' });
    forked.child.send({ t: 'call', id: 1001, method: 'app.info', args: {}, carrier: 'root' });
    forked.child.send({ t: 'platform.answer', id: 77, ok: true, value: 'nobody asked' });
    forked.child.send({
      t: 'call',
      id: 1002,
      method: 'app.info',
      args: { nested: deep(200) },
      carrier: 'electron',
    });
    await expect.poll(() => answers.length, { timeout: 10_000 }).toBe(3);
    for (const answer of answers)
      expect(answer).toMatchObject({ t: 'result', envelope: { ok: false, error: { code: 'bad-request' } } });
    expect(answers.find((a) => a.t === 'result' && a.id === 1000)).toMatchObject({
      envelope: { error: { message: 'The call was refused: the message is too large.' } },
    });
    expect(await client.call('app.info', {})).toMatchObject({ name: 'Patchdeck' });
    await client.stop(10_000);
  });
});

function deep(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { value };
  return value;
}

/** A channel whose other end is this test, playing a broken or hostile core. */
function scriptedCore(): {
  channel: Channel;
  sent: ToCore[];
  say(message: unknown): void;
  die(reason: string): void;
} {
  const messageListeners: ((message: unknown) => void)[] = [];
  const closeListeners: ((reason: string) => void)[] = [];
  const sent: ToCore[] = [];
  return {
    channel: {
      send: (message) => void sent.push(message as ToCore),
      onMessage: (listener) => void messageListeners.push(listener),
      onClose: (listener) => void closeListeners.push(listener),
      close: () => undefined,
    },
    sent,
    say: (message) => messageListeners.forEach((listener) => listener(message)),
    die: (reason) => closeListeners.forEach((listener) => listener(reason)),
  };
}

describe('main’s side refuses what a broken core sends', () => {
  it('refuses oversized or malformed answers, requests and events, and keeps working', async () => {
    const core = scriptedCore();
    const { platform, asked } = recordingPlatform();
    const client = new CoreClient({ channel: core.channel, platform, carrier: 'electron' });
    const events: unknown[] = [];
    client.events.subscribe((event, payload) => events.push({ event, payload }));

    const first = client.router.call('app.info', {}, { carrier: 'electron' });
    const firstId = (core.sent.at(-1) as { id: number }).id;
    core.say({ t: 'result', id: firstId, envelope: { ok: true, value: 'y'.repeat(70_000_000) } });
    const refused = await first;
    expect(refused.ok).toBe(false);
    expect(refused).toEqual({
      ok: false,
      error: { code: 'internal', message: "The core's answer was refused: the message is too large." },
    });

    core.say({ t: 'platform', id: 5, request: { op: 'exec', command: 'rm -rf /' } });
    core.say({ t: 'platform', id: 6, request: { op: 'secrets.open', ciphertext: 'not bytes' } });
    core.say({
      t: 'platform',
      id: 7,
      request: { op: 'secrets.seal', plaintext: 'z'.repeat(2 * 1024 * 1024) },
    });
    const refusals = core.sent.filter((m) => m.t === 'platform.answer');
    expect(refusals.map((m) => m.t === 'platform.answer' && [m.id, m.ok])).toEqual([
      [5, false],
      [6, false],
      [7, false],
    ]);
    expect(JSON.stringify(refusals)).not.toContain('zzzz');
    expect(asked).toEqual([]);

    core.say({ t: 'event', event: 'entity.changed', payload: { entity: 'no-such-entity' } });
    core.say({ t: 'event', event: '__proto__', payload: {} });
    core.say({ t: 'result', id: 424242, envelope: { ok: true, value: 1 } });
    core.say({ t: 'event', event: 'entity.changed', payload: { entity: 'hosts' } });
    expect(events).toEqual([{ event: 'entity.changed', payload: { entity: 'hosts' } }]);

    const second = client.router.call('app.info', {}, { carrier: 'electron' });
    const secondId = (core.sent.at(-1) as { id: number }).id;
    core.say({ t: 'result', id: secondId, envelope: { ok: true, value: { fine: true } } });
    expect(await second).toEqual({ ok: true, value: { fine: true } });

    const third = client.router.call('app.info', {}, { carrier: 'electron' });
    core.die('the core’s process exited with code 3');
    expect(await third).toMatchObject({ ok: false, error: { code: 'unavailable', message: /code 3/ } });
  });
});
