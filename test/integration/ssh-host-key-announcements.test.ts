/**
 * After login, OpenSSH's sshd announces every host key it has (hostkeys-00@openssh.com). ssh2,
 * left alone, asks the host to prove each one (hostkeys-prove-00@openssh.com: a round trip and one
 * signature per key on the host, RSA-3072 among them). Patchdeck's sessions decline, as OpenSSH's
 * client with UpdateHostKeys off does: its trust is the pinned key of the key exchange. Checked
 * against a real lab sshd; a bare ssh2 client on the same host is the control that proves the
 * announcement arrives and that the spy sees a proof request when one is sent.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labUp, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { SshSession } from '../../src/remote/ssh';
import { assertLabRoute } from './support';

const require = createRequire(import.meta.url);
const Protocol = require('ssh2/lib/protocol/Protocol.js') as {
  prototype: { openssh_hostKeysProve(keys: unknown[]): void };
};

describeAsRoot('host key announcements after login', () => {
  let lab: LabInventory;
  let proofs = 0;
  const original = Protocol.prototype.openssh_hostKeysProve;

  beforeAll(async () => {
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    assertLabRoute(lab);
    Protocol.prototype.openssh_hostKeysProve = function (this: unknown, keys: unknown[]) {
      proofs++;
      return original.call(this, keys);
    };
  }, 300_000);
  afterAll(() => {
    Protocol.prototype.openssh_hostKeysProve = original;
  });

  const admin = () => lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;

  it('a bare ssh2 client asks the host to prove its announced keys (the control)', async () => {
    const host = lab.hosts[0]!;
    proofs = 0;
    const client = new ssh2.Client();
    const announced = new Promise<number>((resolve) => client.on('hostkeys', (keys) => resolve(keys.length)));
    await new Promise<void>((resolve, reject) => {
      client.on('ready', resolve).on('error', reject);
      client.connect({
        host: host.address,
        username: admin().name,
        privateKey: fs.readFileSync(lab.keyFile, 'utf8'),
        hostVerifier: () => true,
      });
    });
    try {
      expect(await announced).toBeGreaterThanOrEqual(3);
      expect(proofs).toBe(1);
    } finally {
      client.end();
    }
  });

  it("Patchdeck's session declines: no proof request, and commands run as before", async () => {
    const host = lab.hosts[0]!;
    proofs = 0;
    const key = host.hostKeys.find((k) => k.type === 'ssh-ed25519') ?? host.hostKeys[0]!;
    const session = await SshSession.connect({
      host: host.address,
      username: admin().name,
      auth: { kind: 'key', privateKey: fs.readFileSync(lab.keyFile, 'utf8') },
      pinnedKeys: [{ type: key.type, fingerprint: key.fingerprint }],
      trustOnFirstUse: false,
      label: host.name,
    });
    try {
      // sshd sends its announcement before it answers the first session channel, so by the time
      // this command has finished the announcement has been read (and would have been answered).
      const first = await session.run('echo one');
      const second = await session.run('echo two; exit 3');
      expect(first).toMatchObject({ stdout: 'one\n', code: 0 });
      expect(second).toMatchObject({ stdout: 'two\n', code: 3 });
      expect(proofs).toBe(0);
    } finally {
      session.close();
    }
  });
});
