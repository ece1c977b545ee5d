import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertCredential, readSealedSecrets } from '../db/credentials';
import { createWorkspace } from '../db/workspace';
import { PatchdeckError } from '../util/errors';
import { createLogger } from '../util/log';
import { packageRoot } from '../util/package-root';
import { createNodeSecretBox } from './node-secret-box';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-secrets-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('node secret box', () => {
  it('round-trips through a 0600 key file', async () => {
    const box = createNodeSecretBox({ configDir: path.join(dir, 'cfg'), useKeychain: false });
    const sealed = await box.seal('hunter2-päss');
    expect(await box.open(sealed)).toBe('hunter2-päss');
    expect(box.backend).toMatch(/key file/);
    expect(fs.statSync(path.join(dir, 'cfg', 'secrets.key')).mode & 0o777).toBe(0o600);
  });

  it('derives the key from a passphrase; a different passphrase cannot open it', async () => {
    const cfg = path.join(dir, 'cfg');
    const box = createNodeSecretBox({ configDir: cfg, passphrase: 'correct horse', useKeychain: false });
    const sealed = await box.seal('s3cret');
    expect(box.backend).toBe('passphrase (scrypt)');
    const wrong = createNodeSecretBox({ configDir: cfg, passphrase: 'wrong horse', useKeychain: false });
    await expect(wrong.open(sealed)).rejects.toThrow(/cannot be opened/);
  });

  it('refuses a key file other users can read', async () => {
    const cfg = path.join(dir, 'cfg');
    fs.mkdirSync(cfg);
    fs.writeFileSync(path.join(cfg, 'secrets.key'), 'ab'.repeat(32), { mode: 0o644 });
    fs.chmodSync(path.join(cfg, 'secrets.key'), 0o644);
    const box = createNodeSecretBox({ configDir: cfg, useKeychain: false });
    const keyFile = path.join(cfg, 'secrets.key');
    const refusal = await box.seal('x').catch((e: unknown) => e);
    // A classified error (the API passes its sentence on), not "… failed unexpectedly".
    expect(refusal).toBeInstanceOf(PatchdeckError);
    expect((refusal as PatchdeckError).message).toBe(
      `${keyFile} is readable by other users (mode 0644); it holds the key that unlocks the stored passwords, so ` +
        `Patchdeck will not use it until only you can read it. Run: chmod 600 ${keyFile}`,
    );
    expect(box.backend).toBe(`unavailable: ${(refusal as PatchdeckError).message}`);
    // The sentence's own fix works.
    fs.chmodSync(keyFile, 0o600);
    const fixed = createNodeSecretBox({ configDir: cfg, useKeychain: false });
    expect(await fixed.open(await fixed.seal('x'))).toBe('x');
    // Writable by the group only: said as such.
    fs.chmodSync(keyFile, 0o620);
    await expect(createNodeSecretBox({ configDir: cfg, useKeychain: false }).seal('x')).rejects.toThrow(
      /is writable by other users \(mode 0620\)/,
    );
  });

  it('says what is wrong with a key file that holds no key', async () => {
    const cfg = path.join(dir, 'cfg');
    fs.mkdirSync(cfg);
    fs.writeFileSync(path.join(cfg, 'secrets.key'), 'ab'.repeat(31) + 'zz', { mode: 0o600 });
    await expect(createNodeSecretBox({ configDir: cfg, useKeychain: false }).seal('x')).rejects.toThrow(
      /does not hold a 256-bit key \(64 hexadecimal digits\)/,
    );
  });

  it('refuses it through the API and the CLI with that sentence, not "failed unexpectedly"', () => {
    const cfg = path.join(dir, 'cfg');
    fs.mkdirSync(cfg);
    const keyFile = path.join(cfg, 'secrets.key');
    fs.writeFileSync(keyFile, 'ab'.repeat(32));
    fs.chmodSync(keyFile, 0o644);
    const cli = spawnSync(
      process.execPath,
      [
        path.join(packageRoot(), 'bin/patchdeck.mjs'),
        '-w',
        path.join(dir, 'ws.sqlite'),
        'credential',
        'add',
        '--name',
        'office',
        '--user',
        'admin',
        '--password-stdin',
      ],
      { input: 'pw\n', encoding: 'utf8', env: { ...process.env, PATCHDECK_CONFIG_DIR: cfg, NO_COLOR: '1' } },
    );
    expect(cli.stderr).toBe(
      `patchdeck: ${keyFile} is readable by other users (mode 0644); it holds the key that unlocks the stored ` +
        `passwords, so Patchdeck will not use it until only you can read it. Run: chmod 600 ${keyFile}\n`,
    );
    expect(cli.status).toBe(1);
  });

  it('detects tampering', async () => {
    const box = createNodeSecretBox({ configDir: path.join(dir, 'cfg'), useKeychain: false });
    const sealed = await box.seal('abc');
    sealed.writeUInt8(sealed.readUInt8(sealed.length - 1) ^ 1, sealed.length - 1);
    await expect(box.open(sealed)).rejects.toThrow();
  });

  it('never writes a stored password in plaintext to the database, its WAL or the log', async () => {
    const password = 'Tr0ub4dor&3-unique-marker-7f3a9c';
    const file = path.join(dir, 'ws.sqlite');
    const logFile = path.join(dir, 'patchdeck.log');
    const db = createWorkspace(file);
    db.pragma('wal_autocheckpoint = 0'); // keep the row in the WAL so both files are inspected
    const logger = createLogger({ file: logFile });
    logger.redact(password);
    const box = createNodeSecretBox({ configDir: path.join(dir, 'cfg'), useKeychain: false });
    insertCredential(db, {
      name: 'office-admin',
      username: 'admin',
      kind: 'password',
      scope: [],
      secret: await box.seal(password),
      passphrase: null,
      sudoPassword: await box.seal(password),
    });
    logger.info('credential stored', { name: 'office-admin', accidentallyLogged: password });
    logger.close();
    const sealed = readSealedSecrets(db, 1)!;
    expect(await box.open(sealed.secret!)).toBe(password);
    const needles = [Buffer.from(password, 'utf8'), Buffer.from(password, 'utf16le')];
    const files = [file, `${file}-wal`, logFile];
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const needle of needles)
        expect(bytes.includes(needle), `${path.basename(f)} holds the password`).toBe(false);
    }
    db.close();
    const afterCheckpoint = fs.readFileSync(file);
    for (const needle of needles) expect(afterCheckpoint.includes(needle)).toBe(false);
  });
});
