/**
 * Test support: a real SSH server (ssh2's) on 127.0.0.1 playing a host. It accepts any password,
 * grants a pty, and hands each command with its channel to the test's `onExec`, which answers
 * (`reply` for a plain answer; write to the channel itself to stream or to answer later). Its
 * host key is a fresh ed25519 pair; `keyType` and `fingerprint` are what a workspace pins for it.
 */
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { fingerprintOf } from '../host-key';
import { ed25519KeyPair } from './keys';

export interface FakeAnswer {
  stdout?: string | Buffer;
  code?: number;
}

/** Writes `stdout` (if any), exits with `code` (0 unless told) and ends the channel. */
export function reply(channel: ssh2.ServerChannel, { stdout, code = 0 }: FakeAnswer = {}): void {
  if (stdout !== undefined) channel.write(stdout);
  channel.exit(code);
  channel.end();
}

export interface FakeSshHost {
  port: number;
  keyType: string;
  fingerprint: string;
  /** Ends every open connection and stops listening. */
  close(): Promise<void>;
}

export async function startFakeSshHost(
  onExec: (command: string, channel: ssh2.ServerChannel) => void,
): Promise<FakeSshHost> {
  const { private: pem, public: pub } = ed25519KeyPair();
  const [keyType, body] = pub.split(' ') as [string, string];
  const clients = new Set<ssh2.Connection>();
  const server = new ssh2.Server({ hostKeys: [pem] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) =>
      ctx.method === 'password' ? ctx.accept() : ctx.reject(['password']),
    );
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('pty', (accept) => accept?.());
      session.on('exec', (accept, _reject, info) => {
        const channel = accept();
        channel.on('error', () => undefined);
        onExec(info.command, channel);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    keyType,
    fingerprint: fingerprintOf(Buffer.from(body, 'base64')),
    close: async () => {
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
