/**
 * Trusting a PC's WinRM endpoint through the trust API (real Core, real workspace) against the
 * test bed's endpoint (a real gss-ntlmssp acceptor): over HTTP the NTLM names its challenge
 * announces, over HTTPS its certificate, read with no login, shown, then pinned only as reviewed
 * — beside, never in place of, the host's SSH key pin.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Core } from '../../src/core';
import { listTrustedKeys, trustHostKey as pinKey } from '../../src/db';
import { createNodePlatform } from '../../src/platform';
import { reviewedPinsOf } from '../../src/trust';
import {
  describeWithTestbed,
  startWinrmEndpoint,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../winrm/endpoint';

const REPLAY = path.resolve(import.meta.dirname, '../fixtures/winrm/wsman/test_winrs_standard.yml');
const describeTestbed = describeWithTestbed();

describeTestbed('trusting a WinRM endpoint', () => {
  let dir = '';
  let userFile = '';
  let core: Core;
  const endpoints: WinrmEndpoint[] = [];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-trust-'));
    userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: 'Trust-Pa55word!' }]);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=win1.patchdeck.test',
        '-days',
        '2',
      ].concat(['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]),
      { stdio: 'ignore' },
    );
    core = new Core({
      platform: createNodePlatform({ configDir: path.join(dir, 'cfg'), useKeychain: false }),
      carrier: 'test',
    });
    await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'always' });
  });
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });
  afterAll(async () => {
    await core.closeWorkspace();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function hostOn(port: number, https: boolean) {
    const endpoint = await startWinrmEndpoint({
      mode: { replay: REPLAY },
      acceptor: { userFile },
      port: 0,
      ...(https ? { https: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } } : {}),
    });
    endpoints.push(endpoint);
    const host = await core.call('hosts.add', { name: `WIN-${endpoint.port}`, address: '127.0.0.1' });
    // The scan's finding: the endpoint's port is WinRM's (the test bed listens where it can).
    const db = core.requireWorkspace().db;
    db.prepare(
      `INSERT INTO host_services (host_id, port, state, service, banner, last_seen) VALUES (?, ?, 'open', 'winrm', NULL, 't')`,
    ).run(host.id, port);
    return { endpoint, host, db };
  }

  it('reads the NTLM identity over HTTP with no login, pins it as reviewed, beside the SSH key', async () => {
    const { endpoint, host, db } = await hostOn(5985, false);
    pinKey(db, { hostId: host.id, type: 'ssh-ed25519', fingerprint: `SHA256:${'s'.repeat(43)}`, actor: 't' });
    const shown = await callOnPort(endpoint.port, () =>
      core.call('hosts.trust', { id: host.id, pin: false, channel: 'winrm' }),
    );
    expect(shown).toMatchObject({ type: 'ntlm-identity', pinned: false, changed: false });
    expect(shown.fingerprint).toMatch(/^ntlm:[A-Z0-9._-]+\/[A-Z0-9._ -]*$/);
    expect(shown.certificate).toBeUndefined();
    // Nothing reached the SOAP side: the endpoint saw the Type 1 only.
    expect((await endpoint.requests()).filter((r) => !r.refused)).toEqual([]);
    expect((await core.call('hosts.pendingKeys', { hostIds: [host.id] })).map((k) => k.type)).toEqual([
      'ntlm-identity',
    ]);

    const pinned = await callOnPort(endpoint.port, () =>
      core.call('hosts.trust', { id: host.id, pin: true, channel: 'winrm', fingerprint: shown.fingerprint }),
    );
    expect(pinned).toMatchObject({ pinned: true, fingerprint: shown.fingerprint });
    expect(reviewedPinsOf(db, host.id, 'ntlm-identity')).toEqual([shown.fingerprint]);
    expect(listTrustedKeys(db, host.id).map((k) => k.type)).toEqual(['ssh-ed25519', 'ntlm-identity']);
    expect((await core.call('hosts.get', { id: host.id })).keyTrust).toBe('trusted');
  });

  it('reads the certificate over HTTPS with its subject, issuer and validity', async () => {
    const { endpoint, host } = await hostOn(5986, true);
    const shown = await callOnPort(endpoint.port, () =>
      core.call('hosts.trust', { id: host.id, pin: false, channel: 'winrm' }),
    );
    expect(shown.type).toBe('x509-certificate');
    expect(shown.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(shown.certificate).toMatchObject({
      subject: 'CN=win1.patchdeck.test',
      issuer: 'CN=win1.patchdeck.test',
      selfSigned: true,
    });
    expect(Date.parse(shown.certificate!.validTo)).toBeGreaterThan(Date.now());
  });
});

/**
 * The trust probe connects to the host's WinRM port (5985/5986); the test bed listens on a free
 * port. For the length of one call, the probe's connection to 5985/5986 on 127.0.0.1 is sent to
 * the endpoint's port instead (a net.connect redirect; nothing leaves loopback).
 */
async function callOnPort<T>(port: number, call: () => Promise<T>): Promise<T> {
  const net = await import('node:net');
  const original = net.Socket.prototype.connect;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (net.Socket.prototype as any).connect = function (this: unknown, ...args: any[]) {
    // net.createConnection hands connect its normalized [options, callback] array.
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
