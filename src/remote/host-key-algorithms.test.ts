import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_KEY_FALLBACK_TYPES, hostKeyAlgorithms } from './host-key-algorithms';
import { probeHostKey } from './host-key-probe';
import type { PresentedHostKey } from './host-key';
import { SshSession } from './ssh';
import { ed25519KeyPair } from './testing/keys';

describe('hostKeyAlgorithms', () => {
  it('leaves ssh2 its defaults when nothing is pinned', () => {
    expect(hostKeyAlgorithms([])).toBeUndefined();
    expect(hostKeyAlgorithms([undefined])).toBeUndefined();
    expect(hostKeyAlgorithms([''])).toBeUndefined();
  });

  it('asks for the pinned types first, then the fallbacks, each once', () => {
    expect(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519'])).toEqual({
      serverHostKey: ['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'],
    });
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp384'])).toEqual({
      serverHostKey: ['ecdsa-sha2-nistp384', ...HOST_KEY_FALLBACK_TYPES],
    });
  });
});

/**
 * The trust probe and the connection must be shown the same key by a host with several keys:
 * otherwise the probe pins a key the connection never sees, and the next audit reports the
 * host's key as changed. Real ssh2 servers on 127.0.0.1, each with a different set of host keys;
 * for every pin (none, each key's type, and a stale type the host no longer has) the probe and
 * the connection must name the same key.
 */
describe('the trust probe and the connection see the same host key', () => {
  const keys = {
    ed25519: ed25519KeyPair().private,
    ecdsa: generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString(),
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString(),
  };
  const sets: (keyof typeof keys)[][] = [
    ['rsa', 'ecdsa'],
    ['ecdsa', 'rsa'],
    ['rsa', 'ed25519'],
    ['ecdsa', 'ed25519'],
    ['rsa', 'ecdsa', 'ed25519'],
  ];
  const servers: { name: string; server: ssh2.Server; port: number }[] = [];

  beforeAll(async () => {
    for (const set of sets) {
      const server = new ssh2.Server({ hostKeys: set.map((k) => keys[k]) }, (client) => {
        client.on('error', () => undefined);
        client.on('authentication', (ctx) =>
          ctx.method === 'password' ? ctx.accept() : ctx.reject(['password']),
        );
        client.on('ready', () => client.end());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push({ name: set.join('+'), server, port: (server.address() as AddressInfo).port });
    }
  });
  afterAll(() =>
    Promise.all(servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())))),
  );

  /** The key the connection is shown when `pinned` is what we trust. */
  async function keyShownToConnection(
    port: number,
    pinned: PresentedHostKey | null,
  ): Promise<PresentedHostKey> {
    try {
      const session = await SshSession.connect({
        host: '127.0.0.1',
        port,
        username: 'u',
        auth: { kind: 'password', password: 'p' },
        pinnedKeys: pinned ? [pinned] : [],
        trustOnFirstUse: true,
      });
      const key = session.hostKey;
      session.close();
      if (!key) throw new Error('the session recorded no host key');
      return key;
    } catch (error) {
      // A pin the host no longer matches: the connection is refused, naming the key it was shown.
      const presented = (error as { details?: { presented?: PresentedHostKey } }).details?.presented;
      if (presented) return presented;
      throw error;
    }
  }

  it('for every pin, on hosts with several keys', async () => {
    const stale: PresentedHostKey = {
      type: 'ecdsa-sha2-nistp521',
      fingerprint: 'SHA256:stale',
      publicKey: '',
    };
    for (const { name, port } of servers) {
      const first = await probeHostKey('127.0.0.1', port);
      const pins: PresentedHostKey[] = [stale];
      for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa', 'ecdsa-sha2-nistp384']) {
        // Each key type the host might have had pinned; one the host lacks is a stale pin.
        pins.push({ ...stale, type });
      }
      pins.push(first);
      expect((await keyShownToConnection(port, null)).fingerprint, `${name}, nothing pinned`).toBe(
        first.fingerprint,
      );
      for (const pin of pins) {
        const probed = await probeHostKey('127.0.0.1', port, { preferredType: pin.type });
        const shown = await keyShownToConnection(port, pin);
        expect(`${shown.type} ${shown.fingerprint}`, `${name}, pinned ${pin.type}`).toBe(
          `${probed.type} ${probed.fingerprint}`,
        );
      }
    }
  });
});
