import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTrustedKeys } from '../../src/db';
import {
  missingTestbedParts,
  startWinrmEndpoint,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../winrm/endpoint';
import { withSambaLock } from '../winrm/samba-dc';
import { launchApp, type E2eApp } from './harness';

/**
 * Issue 12, item 7: the host detail's WinRM identity panel against the WinRM test bed's endpoint
 * (a real gss-ntlmssp acceptor on 127.0.0.1, HTTPS with a self-signed certificate made here).
 * "Read WinRM identity" shows the certificate the endpoint presents (fingerprint, subject,
 * self-signed, validity) with no login; "Trust this identity" pins exactly it, beside no SSH key.
 * It holds the test bed's lock itself (the acceptor shares the machine's GSS set-up with the DC's tests).
 */
const REPLAY = path.resolve(import.meta.dirname, '../fixtures/winrm/wsman/test_winrs_standard.yml');
const missing = missingTestbedParts();
const shot = (name: string): string => path.resolve('test-results', name);

let app: E2eApp;
let endpoint: WinrmEndpoint;
let dir = '';
let hostId = 0;
let restoreConnect: (() => void) | null = null;

/**
 * The trust probe connects to 5986 on 127.0.0.1; the endpoint listens on a free port. For this
 * file, connections from this process to 5985/5986 go to the endpoint's port (nothing leaves
 * loopback; Chromium is another process and never affected).
 */
function redirectWinrmPorts(port: number): () => void {
  const original = net.Socket.prototype.connect;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (net.Socket.prototype as any).connect = function (this: unknown, ...args: any[]) {
    const options = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (options && typeof options === 'object' && (options.port === 5985 || options.port === 5986))
      options.port = port;
    return original.apply(this, args as never);
  };
  return () => {
    net.Socket.prototype.connect = original;
  };
}

// A Samba DC another test starts (winbind) would answer for the standalone acceptor: one at a time.
if (missing.length === 0) withSambaLock();

beforeAll(async () => {
  if (missing.length) {
    if (process.env.CI === 'true') throw new Error(`the WinRM test bed is incomplete: ${missing.join('; ')}`);
    console.warn(`skipping the WinRM trust e2e: the WinRM test bed lacks ${missing.join('; ')}`);
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-e2e-winrm-'));
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
  const userFile = writeNtlmUserFile([
    { domain: 'PATCHDECK', username: 'alice', password: 'Trust-Pa55word!' },
  ]);
  endpoint = await startWinrmEndpoint({
    mode: { replay: REPLAY },
    acceptor: { userFile },
    port: 0,
    https: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') },
  });
  restoreConnect = redirectWinrmPorts(endpoint.port);
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  const host = await app.core.call('hosts.add', { name: 'win1', address: '127.0.0.1' });
  hostId = host.id;
  // What a scan would have recorded: the PC's WinRM over HTTPS is open, its only way in (no traffic here).
  const db = app.core.requireWorkspace().db;
  db.prepare(
    `INSERT INTO host_services (host_id, port, state, service, banner, last_seen) VALUES (?, 5986, 'open', 'wsmans', NULL, 't')`,
  ).run(hostId);
  db.prepare(`UPDATE hosts SET management = '["winrm"]' WHERE id = ?`).run(hostId);
  await app.page.setViewportSize({ width: 1400, height: 1000 });
});
afterAll(async () => {
  restoreConnect?.();
  await app?.close();
  await endpoint?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('trusting a PC’s WinRM certificate in the window', () => {
  it.runIf(missing.length === 0 || process.env.CI === 'true')(
    'reads the certificate with no login, shows its subject and validity, and pins exactly it',
    async () => {
      const { page, core } = app;
      await page.goto(`${app.carrier.launchUrl.split('#')[0]}#/hosts/${hostId}`);
      await page.reload();
      const detail = page.getByRole('region', { name: 'Host detail: win1' });
      const panel = detail.getByRole('region', { name: 'WinRM identity' });
      await panel.waitFor();
      expect(await detail.textContent()).toContain('HTTPS on port 5986');
      await panel.getByRole('button', { name: 'Read WinRM identity' }).click();
      const box = panel.getByRole('group', { name: 'Trust this identity' });
      await box.waitFor({ timeout: 30_000 });
      const presented = box.getByTestId('presented-certificate');
      expect(await presented.textContent()).toContain('subject CN=win1.patchdeck.test');
      expect(await presented.textContent()).toContain('self-signed');
      expect(await presented.textContent()).toMatch(/valid .+ to .+/);
      const text = (await box.textContent()) ?? '';
      const fingerprint = /SHA256:[A-Za-z0-9+/]{43}/.exec(text)?.[0];
      expect(text).toContain('presents HTTPS certificate');
      expect(fingerprint).toBeDefined();
      // No login happened: the endpoint answered no SOAP request.
      expect((await endpoint.requests()).filter((r) => !r.refused)).toEqual([]);
      await page.screenshot({ path: shot('ui-win-trust-cert.png'), fullPage: true });

      await box.getByRole('button', { name: 'Trust this identity' }).click();
      const pins = panel.getByRole('table', { name: 'Pinned WinRM identities' });
      await pins.waitFor();
      expect(await pins.textContent()).toContain('HTTPS certificate');
      expect(await pins.textContent()).toContain(fingerprint!);
      // After a reload the pin still says what the certificate is: the core reads its stored PEM.
      await page.reload();
      const pinned = panel.getByTestId('pinned-certificate');
      await pinned.waitFor();
      expect(await pinned.textContent()).toContain('Subject CN=win1.patchdeck.test');
      expect(await pinned.textContent()).toContain('self-signed');
      expect(await pinned.textContent()).toMatch(/valid .+ to .+/);
      expect(listTrustedKeys(core.requireWorkspace().db, hostId).map((k) => [k.type, k.fingerprint])).toEqual(
        [['x509-certificate', fingerprint]],
      );
      // The SSH panel is not shown for a PC reached only over WinRM, and no NTLM warning for a certificate.
      expect(await detail.getByRole('region', { name: 'SSH host keys' }).count()).toBe(0);
      expect(await panel.getByRole('note').count()).toBe(0);
    },
  );
});
