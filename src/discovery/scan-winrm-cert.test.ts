/**
 * A scan that finds WinRM over HTTPS (5986) records the PC's certificate as a sighting for
 * review (source 'scan', like an SSH key), with no login: real Core, real workspace, a real TLS
 * server on loopback with a self-signed certificate made by openssl for the test.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { certificateFingerprint } from '../remote';
import { createNodePlatform } from '../platform';

let dir = '';
let core: Core;
let server: tls.Server | null = null;
const requests: string[] = [];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-scan-winrm-cert-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
});
afterEach(async () => {
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = null;
  requests.length = 0;
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

/** A WinRM-like HTTPS listener on 127.0.0.1: every request gets HTTP.sys's 401 (it logs them). */
async function startListener(): Promise<{ port: number; pem: string }> {
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
    ].concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
    { stdio: 'ignore' },
  );
  const pem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  server = tls.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: pem }, (socket) => {
    socket.on('error', () => {});
    socket.once('data', (data) => {
      requests.push(data.toString('latin1'));
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-HTTPAPI/2.0\r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n',
      );
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server!.address() as net.AddressInfo).port, pem };
}

/** For the scan, 127.0.0.1:5986 is the listener's port (the test cannot own 5986 on a shared machine). */
async function withPort5986<T>(port: number, run: () => Promise<T>): Promise<T> {
  const original = net.Socket.prototype.connect;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (net.Socket.prototype as any).connect = function (this: unknown, ...args: any[]) {
    const options = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (options && typeof options === 'object' && options.port === 5986 && options.host === '127.0.0.1')
      options.port = port;
    return original.apply(this, args as never);
  };
  try {
    return await run();
  } finally {
    net.Socket.prototype.connect = original;
  }
}

async function scanDone(scanId: number): Promise<void> {
  for (;;) {
    const scan = (await core.call('scans.list', {})).find((s) => s.id === scanId);
    if (scan && scan.status !== 'running') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a scan finding WinRM over HTTPS', () => {
  it('records the certificate for review, sends no credential, and it can be trusted', async () => {
    const { port, pem } = await startListener();
    const { scanId } = await withPort5986(port, async () => {
      const started = await core.call('discovery.start', {
        targets: '127.0.0.1',
        ports: '5986',
        reverseDns: false,
        addToInventory: true,
      });
      await scanDone(started.scanId);
      return started;
    });
    const [host] = await core.call('scans.results', { scanId });
    expect(host).toBeDefined();
    const fingerprint = certificateFingerprint(new X509Certificate(pem).raw);
    const pending = await core.call('hosts.pendingKeys', { hostIds: [host!.id] });
    expect(pending).toMatchObject([
      {
        type: 'x509-certificate',
        fingerprint,
        source: 'scan',
        address: '127.0.0.1',
        changed: false,
        certificate: { subject: 'CN=win1.patchdeck.test', selfSigned: true },
      },
    ]);
    // No request carried a credential: the check's POST has no Authorization header.
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => !/^authorization:/im.test(r))).toBe(true);

    // The admin trusts it from the review: a reviewed pin, before any audit.
    await core.call('hosts.trustKeys', { keys: [{ hostId: host!.id, fingerprint }] });
    const pins = await core.call('hosts.keys', { id: host!.id });
    expect(pins).toMatchObject([{ type: 'x509-certificate', fingerprint, reviewed: true }]);
    expect(pins[0]!.certificate).toMatchObject({ subject: 'CN=win1.patchdeck.test' });
  });
});
