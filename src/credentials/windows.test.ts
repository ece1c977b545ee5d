/**
 * The Windows credential kind, against a real Core over a real workspace file and the real
 * secret box: the account forms Windows knows, what a Windows credential refuses, its password
 * sealed (never in the file's bytes), and the WinRM login opened from it.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCredential, openWindowsLogin, parseWindowsAccount, WINDOWS_ACCOUNT_MAX } from '.';
import { Core } from '../core';
import { getCredentialSummary } from '../db';
import { createNodePlatform } from '../platform';

describe('parseWindowsAccount', () => {
  it('reads a domain account, a local account and a user principal name', () => {
    expect(parseWindowsAccount('PATCHDECK\\alice')).toEqual({
      domain: 'PATCHDECK',
      username: 'alice',
      form: 'domain',
    });
    expect(parseWindowsAccount('patchdeck.test\\Alice Smith')).toEqual({
      domain: 'patchdeck.test',
      username: 'Alice Smith',
      form: 'domain',
    });
    expect(parseWindowsAccount('.\\Administrator')).toEqual({
      domain: '.',
      username: 'Administrator',
      form: 'local',
    });
    expect(parseWindowsAccount('alice@patchdeck.test')).toEqual({
      domain: '',
      username: 'alice@patchdeck.test',
      form: 'upn',
    });
  });

  it.each([
    ['alice', /names no domain/],
    ['', /names no domain/],
    ['PATCHDECK\\', /user name is empty/],
    ['\\alice', /domain before/],
    ['PATCHDECK\\ali\\ce', /may not hold/],
    ['PATCHDECK\\al:ice', /may not hold/],
    ['PATCHDECK\\...', /only dots and spaces/],
    ['PATCHDECK\\alice\n', /control characters/],
    ['PATCHDECK\\al\u0007ice', /control characters/],
    [' PATCHDECK\\alice', /starts or ends with a space/],
    ['PATCH DECK\\alice', /domain before/],
    ['alice@', /realm after @/],
    ['alice@-bad-.test', /realm after @/],
    ['al@ice@patchdeck.test', /may not hold/],
    ['@patchdeck.test', /user name is empty/],
    [`PATCHDECK\\${'a'.repeat(105)}`, /longer than 104/],
    [`PATCHDECK\\${'a'.repeat(WINDOWS_ACCOUNT_MAX)}`, /longer than 256/],
  ])('refuses %j with a sentence that says how to write it', (text, why) => {
    let error: Error | null = null;
    try {
      parseWindowsAccount(text);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(why);
    expect(error?.message).toMatch(/write DOMAIN\\user for a domain account, \.\\user for a local account/);
    expect((error as { code?: string }).code).toBe('bad-request');
    // The sentence shows at most 64 printable characters of what was typed.
    expect([...error!.message].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
  });

  it('stays fast on long hostile text (bounded, no backtracking)', () => {
    const long = `${'a'.repeat(50)}@${'a-'.repeat(27)}.`;
    expect(() => parseWindowsAccount(long)).toThrow(/realm after @/);
    expect(() => parseWindowsAccount('x'.repeat(1_000_000))).toThrow(/longer than 256/);
  });
});

describe('a Windows credential in the workspace', () => {
  let dir: string;
  let core: Core;
  const file = () => join(dir, 'ws.sqlite');
  const password = 'Winrm-Pa55word-7c41e9';

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-wincred-'));
    core = new Core({
      platform: createNodePlatform({ configDir: dir, useKeychain: false }),
      carrier: 'test',
    });
    await core.openWorkspace(file(), { create: 'always' });
  });
  afterEach(async () => {
    await core.closeWorkspace();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is added with its password sealed: the password is in no byte of the workspace file', async () => {
    const created = await core.call('credentials.add', {
      name: 'office',
      username: 'PATCHDECK\\alice',
      kind: 'windows',
      secret: password,
      scope: ['tag:windows'],
    });
    expect(created).toMatchObject({
      name: 'office',
      username: 'PATCHDECK\\alice',
      kind: 'windows',
      hasPassphrase: false,
      hasSudoPassword: false,
      trustOnFirstUse: false,
      scope: ['tag:windows'],
    });
    expect(JSON.stringify(created)).not.toContain(password);
    expect((await core.call('credentials.list', {})).map((c) => c.kind)).toEqual(['windows']);

    const db = core.requireWorkspace().db;
    const summary = getCredentialSummary(db, created.id)!;
    const secrets = core.options.platform.secrets;
    expect(await openWindowsLogin(db, secrets, summary, 'ntlm')).toEqual({
      method: 'ntlm',
      domain: 'PATCHDECK',
      username: 'alice',
      password,
    });
    // Basic authentication is for local accounts only (Windows' own rule).
    await expect(openWindowsLogin(db, secrets, summary, 'basic')).rejects.toThrow(
      /Basic authentication for local accounts \(\.\\user\) only; use NTLM/,
    );
    // Not an SSH login.
    await expect(openCredential(db, secrets, summary)).rejects.toThrow(/logs in over WinRM, not SSH/);
    // The audit log names the credential, never its password.
    const log = db.prepare(`SELECT details FROM audit_log WHERE action = 'credential.add'`).all() as {
      details: string;
    }[];
    expect(log.map((l) => (JSON.parse(l.details) as { username: string }).username)).toEqual([
      'PATCHDECK\\alice',
    ]);
    expect(JSON.stringify(log)).not.toContain(password);

    await core.closeWorkspace();
    const bytes = Buffer.concat(
      [file(), `${file()}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
    );
    expect(bytes.includes(Buffer.from('PATCHDECK\\alice'))).toBe(true); // the check can see text
    expect(bytes.includes(Buffer.from(password))).toBe(false);
    expect(bytes.includes(Buffer.from(password, 'utf16le'))).toBe(false);
    await core.openWorkspace(file(), { create: 'never' });
  });

  it('opens a local account for Basic over HTTPS with the bare user', async () => {
    const created = await core.call('credentials.add', {
      name: 'pc-admin',
      username: '.\\Administrator',
      kind: 'windows',
      secret: password,
    });
    const db = core.requireWorkspace().db;
    expect(
      await openWindowsLogin(
        db,
        core.options.platform.secrets,
        getCredentialSummary(db, created.id)!,
        'basic',
      ),
    ).toEqual({ method: 'basic', domain: '.', username: 'Administrator', password });
  });

  it.each([
    [{ username: 'alice' }, /names no domain/],
    [{ secret: undefined }, /needs a password/],
    [{ passphrase: 'x' }, /no key passphrase and no sudo password/],
    [{ sudoPassword: 'x' }, /no key passphrase and no sudo password/],
    [{ trustOnFirstUse: true }, /never trusts an endpoint on first use/],
  ])('refuses a Windows credential with %j', async (change, why) => {
    await expect(
      core.call('credentials.add', {
        name: 'bad',
        username: 'PATCHDECK\\alice',
        kind: 'windows',
        secret: password,
        ...change,
      }),
    ).rejects.toThrow(why);
    expect(await core.call('credentials.list', {})).toEqual([]);
  });

  it('an SSH credential does not open as a Windows login, and keeps its own user rule', async () => {
    const ssh = await core.call('credentials.add', {
      name: 'root',
      username: 'root',
      kind: 'password',
      secret: 'ssh-pass-1234',
    });
    const db = core.requireWorkspace().db;
    await expect(
      openWindowsLogin(db, core.options.platform.secrets, getCredentialSummary(db, ssh.id)!, 'ntlm'),
    ).rejects.toThrow(/an SSH login, not a Windows account/);
    await expect(
      core.call('credentials.add', {
        name: 'x',
        username: 'PATCHDECK\\alice',
        kind: 'password',
        secret: 'p',
      }),
    ).rejects.toThrow(/is not a valid user name/);
  });
});
