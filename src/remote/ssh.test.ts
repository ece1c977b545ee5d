import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshSession } from './ssh';

/**
 * A real SSH server on 127.0.0.1 (ssh2's) that lets the client in and answers keepalives, but
 * never opens a session channel: the failure mode of a wedged sshd. A command's timeout and
 * cancel must still end the command.
 */
describe('SshSession against a server that never opens a channel', () => {
  let server: ssh2.Server;
  let port = 0;

  beforeAll(async () => {
    const hostKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString();
    server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
      client.on('error', () => undefined);
      client.on('authentication', (ctx) =>
        ctx.method === 'password' ? ctx.accept() : ctx.reject(['password']),
      );
      // 'session' requests are neither accepted nor rejected.
      client.on('session', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connect = () =>
    SshSession.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      auth: { kind: 'password', password: 'p' },
      pinnedKeys: [],
      trustOnFirstUse: true,
    });

  it('times out a command whose channel never opens', async () => {
    const session = await connect();
    try {
      const t0 = Date.now();
      await expect(session.run('true', { timeoutMs: 300 })).rejects.toMatchObject({ kind: 'timeout' });
      expect(Date.now() - t0).toBeLessThan(5000);
      // The wedged connection is dropped, so a channel opening late cannot still run the command.
      expect(session.isOpen).toBe(false);
      await expect(session.run('true')).rejects.toMatchObject({ kind: 'unreachable' });
    } finally {
      session.close();
    }
  });

  it('cancels a command whose channel never opens', async () => {
    const session = await connect();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      await expect(session.run('true', { signal: controller.signal })).rejects.toMatchObject({
        kind: 'cancelled',
      });
    } finally {
      session.close();
    }
  });
});
