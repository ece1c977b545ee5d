/**
 * The trust rule (issue 9, items 1 and 2), against a real SSH server on 127.0.0.1 (ssh2's) that
 * plays a rogue host: it records every connection and every authentication attempt, with the
 * password it was offered. A real Core over a real workspace file drives audits, credential
 * tests, key reviews and imports exactly as the UI and CLI do.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../collectors/testing/fixtures';
import { Core } from '../core';
import { listAuditLog, listAudits, recordHostKeySighting, recordScanHost, startScan } from '../db';
import { createNodePlatform } from '../platform';
import { fingerprintOf } from '../remote/host-key';
import { ed25519KeyPair } from '../remote/testing/keys';

const PASSWORD = 'rogue-must-never-see-this-7f3a';

interface Attempt {
  method: string;
  username: string;
  password?: string;
}

let server: ssh2.Server;
let port = 0;
let fingerprint = '';
const attempts: Attempt[] = [];
let connections = 0;

beforeAll(async () => {
  const { private: pem, public: pub } = ed25519KeyPair();
  fingerprint = fingerprintOf(Buffer.from(pub.split(' ')[1]!, 'base64'));
  server = new ssh2.Server({ hostKeys: [pem] }, (client) => {
    connections++;
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      attempts.push({
        method: ctx.method,
        username: ctx.username,
        password: ctx.method === 'password' ? ctx.password : undefined,
      });
      // Let the client in so the audit goes on to its commands; refuse every channel.
      if (ctx.method === 'password' || ctx.method === 'publickey') ctx.accept();
      else ctx.reject(['password', 'publickey']);
    });
    client.on('session', (_accept, reject) => reject());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let dir: string;
let core: Core;
beforeEach(async () => {
  attempts.length = 0;
  connections = 0;
  dir = mkdtempSync(join(tmpdir(), 'pd-trust-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

const db = () => core.requireWorkspace().db;
const rogue = () => core.call('hosts.add', { name: 'rogue', address: '127.0.0.1', sshPort: port });
const passwordCredential = () =>
  core.call('credentials.add', {
    name: 'office',
    username: 'admin',
    kind: 'password',
    secret: PASSWORD,
    scope: ['*'],
  });
const rogue2 = () => core.call('hosts.add', { name: 'rogue2', address: '127.0.0.1', sshPort: port });
const keyCredential = (trustOnFirstUse?: boolean) => {
  const key = ed25519KeyPair().private;
  return core.call('credentials.add', {
    name: 'robot',
    username: 'robot',
    kind: 'key',
    secret: key,
    scope: ['*'],
    trustOnFirstUse,
  });
};
async function audit(hostId: number) {
  const { taskId } = await core.call('audits.start', { hostIds: [hostId] });
  const task = await core.requireWorkspace().tasks.wait(taskId);
  return { task, audits: await core.call('audits.forHost', { hostId }) };
}

describe('no secret goes to a host whose key is not pinned', () => {
  it('an audit of a never-seen host sends nothing, names the key, and records it for review', async () => {
    const host = await rogue();
    await passwordCredential();
    const { audits } = await audit(host.id);
    expect(audits[0]).toMatchObject({ status: 'failed', errorKind: 'host-key-unknown' });
    expect(audits[0]!.errorMessage).toContain(fingerprint);
    expect(audits[0]!.errorMessage).toMatch(/no credential was sent/);
    expect(connections).toBe(1);
    expect(attempts).toEqual([]);
    expect(await core.call('hosts.keys', { id: host.id })).toEqual([]);
    expect((await core.call('hosts.get', { id: host.id })).keyTrust).toBe('pending');
    const pending = await core.call('hosts.pendingKeys', {});
    expect(pending).toEqual([
      expect.objectContaining({
        hostId: host.id,
        hostName: 'rogue',
        fingerprint,
        source: 'connect',
        changed: false,
      }),
    ]);
  });

  it('a host no credential covers fails as no-credential, not auth-failed, and nothing is contacted', async () => {
    const host = await rogue();
    const { audits } = await audit(host.id);
    expect(audits[0]).toMatchObject({ status: 'failed', errorKind: 'no-credential' });
    expect(audits[0]!.errorMessage).toBe('No credential covers rogue, so it was not contacted.');
    expect(connections).toBe(0);
  });

  it('audit messages state facts only: the advice, with its commands, is each surface’s own', async () => {
    const host = await rogue();
    await passwordCredential();
    const { audits } = await audit(host.id);
    // These reach the window as they are: a window never tells anyone to run a command.
    for (const a of [...audits, ...(await audit((await rogue2()).id)).audits])
      expect(a.errorMessage).not.toMatch(/patchdeck [a-z]/);
  });

  it('a credential test of a never-seen host sends nothing either', async () => {
    const host = await rogue();
    const credential = await passwordCredential();
    const result = await core.call('credentials.test', { id: credential.id, hostId: host.id });
    expect(result.ok).toBe(false);
    expect(result.message).toContain(fingerprint);
    expect(attempts).toEqual([]);
  });

  it('a key-only credential does not trust on first use unless the admin switched it on', async () => {
    const host = await rogue();
    await keyCredential();
    await audit(host.id);
    expect(attempts).toEqual([]);
    expect(await core.call('hosts.keys', { id: host.id })).toEqual([]);
  });

  it('a key-only credential with trust on first use pins the key, and the audit log says so', async () => {
    const host = await rogue();
    await keyCredential(true);
    await audit(host.id);
    expect(attempts.map((a) => a.method)).toContain('publickey');
    expect(attempts.some((a) => a.password !== undefined)).toBe(false);
    const keys = await core.call('hosts.keys', { id: host.id });
    expect(keys.map((k) => k.fingerprint)).toEqual([fingerprint]);
    const log = listAuditLog(db(), { entityType: 'host' });
    expect(log.find((e) => e.action === 'host-key.trust')?.details).toMatchObject({
      fingerprint,
      reason: 'trust on first use (credential robot)',
    });
  });

  it('a key pinned on first use by a key-only credential never carries a password until it is reviewed', async () => {
    const host = await rogue();
    const robot = await keyCredential(true);
    const office = await passwordCredential();
    await core
      .call('audits.start', { hostIds: [host.id], credentialId: robot.id })
      .then(({ taskId }) => core.requireWorkspace().tasks.wait(taskId));
    expect((await core.call('hosts.keys', { id: host.id }))[0]).toMatchObject({
      fingerprint,
      reviewed: false,
    });
    expect((await core.call('hosts.get', { id: host.id })).keyTrust).toBe('first-use');
    attempts.length = 0;
    const test = await core.call('credentials.test', { id: office.id, hostId: host.id });
    expect(test.ok).toBe(false);
    expect(test.message).toMatch(/pinned automatically on first use and nobody has reviewed it/);
    expect(attempts).toEqual([]);
    const [pending] = await core.call('hosts.pendingKeys', {});
    expect(pending).toMatchObject({ hostId: host.id, fingerprint, source: 'first-use', changed: false });
    await core.call('hosts.trustKeys', { keys: [{ hostId: host.id, fingerprint }] });
    expect((await core.call('hosts.keys', { id: host.id }))[0]).toMatchObject({
      fingerprint,
      reviewed: true,
    });
    expect(listAuditLog(db(), { entityType: 'host' }).some((e) => e.action === 'host-key.review')).toBe(true);
    await core.call('credentials.test', { id: office.id, hostId: host.id });
    expect(attempts.some((a) => a.password === PASSWORD)).toBe(true);
  });

  it('a host that showed two keys is flagged and never trusted in a bulk review', async () => {
    const a = await rogue();
    const b = await core.call('hosts.add', { name: 'other', address: '127.0.0.1', sshPort: port });
    await passwordCredential();
    await audit(a.id);
    await audit(b.id);
    const impostor = 'SHA256:' + 'C'.repeat(43);
    recordHostKeySighting(db(), {
      hostId: a.id,
      type: 'ssh-ed25519',
      fingerprint: impostor,
      publicKey: null,
      source: 'scan',
      address: '127.0.0.9',
    });
    const pending = await core.call('hosts.pendingKeys', {});
    expect(
      pending
        .filter((k) => k.hostId === a.id)
        .map((k) => [k.fingerprint, k.conflict])
        .sort(),
    ).toEqual(
      [
        [fingerprint, true],
        [impostor, true],
      ].sort(),
    );
    expect(pending.find((k) => k.hostId === b.id)?.conflict).toBe(false);
    await expect(
      core.call('hosts.trustKeys', {
        keys: [
          { hostId: a.id, fingerprint },
          { hostId: b.id, fingerprint },
        ],
      }),
    ).rejects.toThrow(/showed more than one key.*Nothing was trusted/);
    expect(await core.call('hosts.keys', { id: b.id })).toEqual([]);
    // Alone, the admin's choice is honoured, and the key it was not is named in the audit log.
    await core.call('hosts.trustKeys', { keys: [{ hostId: a.id, fingerprint }] });
    const entry = listAuditLog(db(), { entityType: 'host' }).find((e) => e.action === 'host-key.trust');
    expect(JSON.stringify(entry?.details)).toContain(impostor);
  });

  it('pinning a key needs the fingerprint the admin checked', async () => {
    const host = await rogue();
    await expect(core.call('hosts.trust', { id: host.id })).rejects.toThrow(
      /needs the fingerprint you checked/,
    );
    expect(await core.call('hosts.keys', { id: host.id })).toEqual([]);
  });

  it('refuses trust on first use for a credential that holds a password, sudo password or passphrase', async () => {
    for (const input of [
      { kind: 'password' as const, secret: 'x' },
      { kind: 'agent' as const, sudoPassword: 'x' },
    ]) {
      await expect(
        core.call('credentials.add', {
          name: `c-${input.kind}`,
          username: 'u',
          ...input,
          trustOnFirstUse: true,
        }),
      ).rejects.toThrow(/only for key-only credentials/);
    }
    expect(await core.call('credentials.list', {})).toEqual([]);
  });

  it('after the admin trusts the reviewed key, the audit logs in — and the pin is in the audit log', async () => {
    const host = await rogue();
    await passwordCredential();
    await audit(host.id);
    const [seen] = await core.call('hosts.pendingKeys', {});
    const trusted = await core.call('hosts.trustKeys', {
      keys: [{ hostId: host.id, fingerprint: seen!.fingerprint }],
    });
    expect(trusted).toEqual({ pinned: 1, hostIds: [host.id] });
    expect((await core.call('hosts.get', { id: host.id })).keyTrust).toBe('trusted');
    expect(await core.call('hosts.pendingKeys', {})).toEqual([]);
    await audit(host.id);
    expect(attempts.filter((a) => a.method !== 'none')).toEqual([
      { method: 'password', username: 'admin', password: PASSWORD },
    ]);
    const log = listAuditLog(db(), { entityType: 'host' });
    expect(log.filter((e) => e.action === 'host-key.trust')).toHaveLength(1);
  });

  it('a review that went stale (a key not awaiting review) pins nothing at all', async () => {
    const a = await rogue();
    const b = await core.call('hosts.add', { name: 'other', address: '127.0.0.1', sshPort: port });
    await passwordCredential();
    await audit(a.id);
    await expect(
      core.call('hosts.trustKeys', {
        keys: [
          { hostId: a.id, fingerprint },
          { hostId: b.id, fingerprint: 'SHA256:' + 'A'.repeat(43) },
        ],
      }),
    ).rejects.toThrow(/not awaiting review any more\. Nothing was trusted/);
    expect(await core.call('hosts.keys', { id: a.id })).toEqual([]);
    expect((await core.call('hosts.pendingKeys', {})).map((k) => k.hostId)).toEqual([a.id]);
  });

  it('trusting one host pins only the fingerprint the admin reviewed', async () => {
    const host = await rogue();
    const shown = await core.call('hosts.trust', { id: host.id, pin: false });
    expect(shown).toMatchObject({ fingerprint, pinned: false });
    expect(attempts).toEqual([]);
    await expect(
      core.call('hosts.trust', { id: host.id, fingerprint: 'SHA256:' + 'B'.repeat(43) }),
    ).rejects.toThrow(/not the key .* you reviewed\. Nothing was trusted/);
    expect(await core.call('hosts.keys', { id: host.id })).toEqual([]);
    await core.call('hosts.trust', { id: host.id, fingerprint });
    expect((await core.call('hosts.keys', { id: host.id })).map((k) => k.fingerprint)).toEqual([fingerprint]);
  });
});

describe('an imported collection file cannot point an audit anywhere', () => {
  /** The real capture, with the host name in its header replaced by one that resolves (localhost). */
  const collection = (name: string) =>
    readFileSync(fixturePath('offline/debian-12-self.root.txt'), 'utf8').replace(
      /^(@@PATCHDECK-COLLECT v1 \S+ linux \d+) vm$/m,
      `$1 ${name}`,
    );

  it('creates an offline-only host with no address, which audits skip without connecting', async () => {
    const text = collection('localhost');
    expect(text).toContain(' localhost\n');
    await passwordCredential();
    const imported = await core.call('audits.import', { text });
    expect(imported.hostCreated).toBe(true);
    const host = await core.call('hosts.get', { id: imported.hostId });
    expect(host).toMatchObject({ name: 'localhost', address: null, offlineOnly: true });
    // Point the port at the rogue: before the fix the audit resolved "localhost" and logged in.
    await core.call('hosts.update', { id: host.id, patch: { sshPort: port } });
    const { task, audits } = await audit(host.id);
    expect(connections).toBe(0);
    expect(attempts).toEqual([]);
    expect(task?.status).toBe('succeeded');
    expect(JSON.parse(JSON.stringify(task))).toBeTruthy();
    // The imported audit stays the host's latest; the skip is not recorded as a failed audit.
    expect(audits.map((a) => a.source)).toEqual(['import']);
    const result = core
      .requireWorkspace()
      .db.prepare('SELECT result FROM tasks WHERE id = ?')
      .get(task!.id) as {
      result: string;
    };
    expect(JSON.parse(result.result)).toMatchObject({ audited: 0, skipped: 1 });
    expect(JSON.parse(result.result).skippedReasons[0]).toMatch(/offline only/);
    await expect(core.call('hosts.trust', { id: host.id, pin: false })).rejects.toThrow(/offline only/);
    expect(connections).toBe(0);
  });

  it('a scan that finds a machine answering to its name suggests an address but does not make it connectable', async () => {
    const imported = await core.call('audits.import', { text: collection('db01') });
    const scanId = startScan(db(), { taskId: null, targets: '127.0.0.1', ports: [22], total: 1 });
    recordScanHost(
      db(),
      scanId,
      {
        address: '127.0.0.1',
        name: 'db01',
        names: ['db01'],
        mac: null,
        macVendor: null,
        osFamily: null,
        osName: null,
        osVersion: null,
        osConfidence: 0,
        osEvidence: [],
        management: ['ssh'],
        services: [],
        openPorts: [22],
        result: {},
      },
      imported.hostId,
      { addToInventory: true },
    );
    const host = await core.call('hosts.get', { id: imported.hostId });
    expect(host).toMatchObject({ address: '127.0.0.1', offlineOnly: true });
    await core.call('hosts.update', { id: host.id, patch: { sshPort: port } });
    await passwordCredential();
    await audit(host.id);
    expect(connections).toBe(0);
  });

  it('becomes a network host once an admin confirms its address', async () => {
    const imported = await core.call('audits.import', { text: collection('pc-17') });
    const host = await core.call('hosts.update', {
      id: imported.hostId,
      patch: { address: '127.0.0.1', sshPort: port },
    });
    expect(host.offlineOnly).toBe(false);
    expect(
      listAuditLog(db(), { entityType: 'host' }).find((e) => e.action === 'host.confirm-address')?.details,
    ).toEqual({
      address: '127.0.0.1',
    });
    await passwordCredential();
    const { audits } = await audit(host.id);
    expect(audits[0]).toMatchObject({ status: 'failed', errorKind: 'host-key-unknown' });
    expect(connections).toBe(1);
    expect(attempts).toEqual([]);
    expect(listAudits(db(), host.id).length).toBe(2);
  });
});
