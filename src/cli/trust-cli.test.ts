/**
 * The trust rule from the command line, in real CLI processes against a real ssh2 server on
 * 127.0.0.1: a key is shown, never pinned without the admin's word, and a reviewed list is
 * trusted only if it is still the list that was shown.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../remote/host-key';
import { ed25519KeyPair } from '../remote/testing/keys';
import { runCli } from './testing/run-cli';

let dir: string;
let server: ssh2.Server;
let port = 0;
let fingerprint = '';
let logins = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-trust-'));
  const { private: key, public: pub } = ed25519KeyPair();
  fingerprint = fingerprintOf(Buffer.from(pub.split(' ')[1]!, 'base64'));
  server = new ssh2.Server({ hostKeys: [key] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'none') logins++;
      ctx.reject(['password']);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(() => r(null)));
  fs.rmSync(dir, { recursive: true, force: true });
});

const patchdeck = (...args: string[]) =>
  runCli(args, {
    workspace: path.join(dir, 'ws.sqlite'),
    configDir: path.join(dir, 'config'),
    env: { PATCHDECK_PASSPHRASE: 'x' },
    input: 'office-password\n',
  });

describe('patchdeck hosts trust / review-keys', () => {
  it('shows the key, refuses to pin it without a terminal or a fingerprint, then pins the reviewed list', async () => {
    expect((await patchdeck('workspace', 'init')).code).toBe(0);
    for (const name of ['a', 'b'])
      expect(
        (await patchdeck('hosts', 'add', name, '--address', '127.0.0.1', '--port', String(port))).code,
      ).toBe(0);
    expect(
      (await patchdeck('credential', 'add', '--name', 'office', '--user', 'admin', '--password-stdin')).code,
    ).toBe(0);

    const audit = await patchdeck('audit', 'a');
    expect(audit.code).toBe(1);
    expect(audit.stdout).toContain(`no credential was sent`);
    // The command it suggests is a real one.
    expect(audit.stdout).toContain(`patchdeck hosts trust a --fingerprint ${fingerprint}`);
    expect(logins).toBe(0);

    const shown = await patchdeck('hosts', 'trust', 'b');
    expect(shown.code).not.toBe(0);
    expect(shown.stdout).toContain(`presents ssh-ed25519 ${fingerprint}`);
    expect(shown.stderr).toContain(`patchdeck hosts trust b --fingerprint ${fingerprint}`);

    const list = await patchdeck('hosts', 'review-keys');
    expect(list.code).toBe(0);
    expect(list.stdout.match(new RegExp(fingerprint.replace(/[+/]/g, '\\$&'), 'g'))).toHaveLength(2);
    const digest = /--trust ([0-9a-f]{64})/.exec(list.stdout)?.[1];
    expect(digest).toBeTruthy();
    expect(
      (
        await patchdeck(
          'hosts',
          'review-keys',
          '--trust',
          '0000000000000000000000000000000000000000000000000000000000000000',
        )
      ).stderr,
    ).toMatch(/not the list you reviewed .*\. Nothing was trusted/);
    expect((await patchdeck('hosts', 'list')).stdout).toMatch(/not trusted yet/);

    const trusted = await patchdeck('hosts', 'review-keys', '--trust', digest!);
    expect(trusted.stdout).toContain('Trusted 2 host key(s).');
    expect((await patchdeck('hosts', 'review-keys')).stdout).toContain('No keys are awaiting review.');
    // Now the audit logs in (this server refuses the password, so it fails as auth-failed).
    const again = await patchdeck('audit', 'a');
    expect(again.stdout).toMatch(/refused the credentials/);
    expect(logins).toBeGreaterThan(0);
  }, 120_000);
});
