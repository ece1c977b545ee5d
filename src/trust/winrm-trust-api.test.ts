/**
 * `hosts.trust` over WinRM through the real Core and router: a PC whose WinRM cannot be reached
 * fails with the probe's own classified sentence (unreachable, WinRM not enabled → winrm
 * quickconfig), never as an unexpected failure; and the pins list and the pending sightings
 * describe a certificate (subject, issuer, validity, self-signed) from its stored PEM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { recordHostKeySighting, trustHostKey } from '../db';
import { createNodePlatform } from '../platform';

let dir = '';
let core: Core;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-winrm-trust-api-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (bound once to learn a free number, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * For one call, a connection to WinRM's port (5985/5986) on loopback goes to `port` instead: the
 * probe always dials the host's WinRM port, and the test cannot own 5985 on a shared machine.
 */
async function callOnPort<T>(port: number, call: () => Promise<T>): Promise<T> {
  const original = net.Socket.prototype.connect;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (net.Socket.prototype as any).connect = function (this: unknown, ...args: any[]) {
    const options = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (options && typeof options === 'object' && (options.port === 5985 || options.port === 5986))
      options.port = port;
    return original.apply(this, args as never);
  };
  try {
    return await call();
  } finally {
    net.Socket.prototype.connect = original;
  }
}

function winrmHost(name: string, port: 5985 | 5986) {
  return core.call('hosts.add', { name, address: '127.0.0.1' }).then((host) => {
    core
      .requireWorkspace()
      .db.prepare(
        `INSERT INTO host_services (host_id, port, state, service, banner, last_seen) VALUES (?, ?, 'open', 'winrm', NULL, 't')`,
      )
      .run(host.id, port);
    return host;
  });
}

describe('hosts.trust over WinRM when the PC cannot be reached', () => {
  it.each([5985, 5986] as const)(
    'port %i refused: the classified sentence naming winrm quickconfig, nothing recorded',
    async (port) => {
      const host = await winrmHost(`WIN-${port}`, port);
      const target = await closedPort();
      const error = await callOnPort(target, () =>
        core.call('hosts.trust', { id: host.id, pin: false, channel: 'winrm' }),
      ).then(
        () => null,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(error).toMatchObject({ code: 'unavailable' });
      expect(error!.message).not.toMatch(/unexpectedly/);
      expect(error!.message).toContain(`WIN-${port}`);
      expect(error!.message).toContain('WinRM is not enabled on the PC: run `winrm quickconfig`');
      expect(await core.call('hosts.pendingKeys', { hostIds: [host.id] })).toEqual([]);
    },
  );
});

/** A self-signed certificate made by openssl for the test (PEM), valid two days. */
function selfSignedPem(cn: string): string {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '2'].concat([
      '-keyout',
      join(dir, `${cn}.key`),
      '-out',
      join(dir, `${cn}.pem`),
    ]),
    { stdio: 'ignore' },
  );
  return readFileSync(join(dir, `${cn}.pem`), 'utf8');
}

describe('certificate pins and sightings describe their certificate', () => {
  it('hosts.keys and hosts.pendingKeys carry subject, issuer, validity and self-signed from the PEM', async () => {
    const host = await core.call('hosts.add', { name: 'WIN1', address: '198.18.0.9' });
    const other = await core.call('hosts.add', { name: 'WIN2', address: '198.18.0.10' });
    const db = core.requireWorkspace().db;
    const pinnedPem = selfSignedPem('win1.patchdeck.test');
    trustHostKey(db, {
      hostId: host.id,
      type: 'x509-certificate',
      fingerprint: `SHA256:${'c'.repeat(43)}`,
      publicKey: pinnedPem,
      actor: 'admin',
    });
    trustHostKey(db, {
      hostId: host.id,
      type: 'ssh-ed25519',
      fingerprint: `SHA256:${'s'.repeat(43)}`,
      actor: 'admin',
    });
    recordHostKeySighting(db, {
      hostId: other.id,
      type: 'x509-certificate',
      fingerprint: `SHA256:${'d'.repeat(43)}`,
      publicKey: selfSignedPem('win2.patchdeck.test'),
      source: 'scan',
      address: '198.18.0.10',
    });
    // A stored PEM that is not a certificate: nulls, never a failed call.
    recordHostKeySighting(db, {
      hostId: other.id,
      type: 'x509-certificate',
      fingerprint: `SHA256:${'e'.repeat(43)}`,
      publicKey: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
      source: 'scan',
      address: '198.18.0.10',
    });

    const pins = await core.call('hosts.keys', { id: host.id });
    expect(pins.map((k) => k.type)).toEqual(['x509-certificate', 'ssh-ed25519']);
    expect(pins[0]!.certificate).toMatchObject({
      subject: 'CN=win1.patchdeck.test',
      issuer: 'CN=win1.patchdeck.test',
      selfSigned: true,
    });
    const { validFrom, validTo } = pins[0]!.certificate!;
    expect(Date.parse(validFrom)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(validTo)).toBeGreaterThan(Date.now());
    expect(Date.parse(validTo) - Date.parse(validFrom)).toBe(2 * 86_400_000);
    expect(pins[1]!.certificate).toBeUndefined();
    // The PEM itself stays inside the core.
    expect(JSON.stringify(pins)).not.toContain('BEGIN CERTIFICATE');

    const pending = await core.call('hosts.pendingKeys', { hostIds: [other.id] });
    const byFingerprint = new Map(pending.map((k) => [k.fingerprint[7], k.certificate]));
    expect(byFingerprint.get('d')).toMatchObject({ subject: 'CN=win2.patchdeck.test', selfSigned: true });
    expect(byFingerprint.get('e')).toBeNull();
  });
});
