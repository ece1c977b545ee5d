/**
 * A credential's scope names hosts; a learned name is not one an admin vouched for. Against a
 * real ssh2 server on 127.0.0.1 (which counts connections) and a real Core over a real workspace:
 * a host that merely calls itself `dc01` (its NetBIOS answer, its own hostname) is not covered by
 * a credential scoped to `dc01` and is never contacted; the host the admin named `dc01` is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialForHost } from '.';
import { Core } from '../core';
import { recordAuditSighting, recordScanHost, startScan } from '../db';
import { createNodePlatform } from '../platform';
import { ed25519KeyPair } from '../remote/testing/keys';

let server: ssh2.Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [ed25519KeyPair().private] }, (client) => {
    connections++;
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.reject(['password']));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let dir: string;
let core: Core;
beforeEach(async () => {
  connections = 0;
  dir = mkdtempSync(join(tmpdir(), 'pd-scope-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
  await core.call('credentials.add', {
    name: 'domain-admin',
    username: 'administrator',
    kind: 'password',
    secret: 'domain-admin-password-4d1e',
    scope: ['dc01'],
  });
});
afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

const db = () => core.requireWorkspace().db;
async function audit(hostId: number) {
  const { taskId } = await core.call('audits.start', { hostIds: [hostId] });
  await core.requireWorkspace().tasks.wait(taskId);
  return (await core.call('audits.forHost', { hostId }))[0]!;
}

/** A machine found by a scan that answered NetBIOS as `dc01`. */
function scannedAs(name: string): number {
  const scanId = startScan(db(), { taskId: null, targets: '127.0.0.1', ports: [22], total: 1 });
  const { hostId } = recordScanHost(
    db(),
    scanId,
    {
      address: '127.0.0.1',
      name,
      nameSource: 'netbios',
      names: [name],
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
    null,
    { addToInventory: true },
  );
  return hostId;
}

describe('credential scope and learned names', () => {
  it('a host whose NetBIOS name equals a scoped name is not covered, and is not contacted', async () => {
    const id = scannedAs('dc01');
    await core.call('hosts.update', { id, patch: { sshPort: port } });
    const host = await core.call('hosts.get', { id });
    expect(host).toMatchObject({ name: 'dc01', nameSource: 'netbios' });
    expect(credentialForHost(db(), host)).toBeNull();
    expect(await audit(id)).toMatchObject({ status: 'failed', errorKind: 'no-credential' });
    expect(connections).toBe(0);
  });

  it('nor is one whose own hostname (learned by an audit) equals it', async () => {
    const host = await core.call('hosts.add', { name: '127.0.0.1', sshPort: port });
    recordAuditSighting(db(), host.id, { hostname: 'dc01' });
    const learned = await core.call('hosts.get', { id: host.id });
    expect(learned).toMatchObject({ name: 'dc01', nameSource: 'audit' });
    expect(credentialForHost(db(), learned)).toBeNull();
    expect(await audit(host.id)).toMatchObject({ status: 'failed', errorKind: 'no-credential' });
    expect(connections).toBe(0);
  });

  it('the host the admin named dc01 is covered (here it stops at its unpinned key)', async () => {
    const host = await core.call('hosts.add', { name: 'dc01', address: '127.0.0.1', sshPort: port });
    expect(host.nameSource).toBe('admin');
    expect(credentialForHost(db(), host)?.name).toBe('domain-admin');
    expect(await audit(host.id)).toMatchObject({ status: 'failed', errorKind: 'host-key-unknown' });
    expect(connections).toBe(1);
  });

  it('a learned name becomes a scope name once the admin gives it', async () => {
    const id = scannedAs('dc01');
    const named = await core.call('hosts.update', { id, patch: { name: 'dc01' } });
    expect(named.nameSource).toBe('admin');
    expect(credentialForHost(db(), named)?.name).toBe('domain-admin');
  });
});
