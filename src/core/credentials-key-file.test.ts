import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getCredentialSummary, openCredential } from '../credentials';
import { createNodePlatform } from '../platform';
import type { Platform } from '../platform/types';
import { ed25519KeyPair } from '../remote/testing/keys';
import { Core } from './core';

// A key credential from the desktop app's file picker, through the real router, a real workspace
// file and a real key file on disk. Electron's dialog is the one part that cannot exist here, so
// the platform answers it with a chosen path (or a cancel); the key text never comes back.
let dir: string;
let core: Core;
let nodeCore: Core;
let answer: string | null = null;
const asked: unknown[] = [];
const key = ed25519KeyPair().private;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-key-file-'));
  const node = createNodePlatform({ configDir: dir, useKeychain: false });
  const platform: Platform = {
    ...node,
    secrets: node.secrets,
    kind: 'electron',
    async chooseFileToOpen(options) {
      asked.push(options);
      return answer;
    },
  };
  core = new Core({ platform, carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  nodeCore = new Core({ platform: node, carrier: 'test' });
  await nodeCore.openWorkspace(path.join(dir, 'ws2.sqlite'), { create: 'if-missing' });
});
afterAll(async () => {
  await core.closeWorkspace();
  await nodeCore.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  asked.length = 0;
});
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function write(name: string, text: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('credentials.chooseKeyFile', () => {
  it('reads the chosen key file in the core and adds it as the credential, answering only an id and the name', async () => {
    answer = write('id_ed25519', key);
    const chosen = await core.call('credentials.chooseKeyFile', {});
    expect(asked).toEqual([{ title: 'Choose a private key file' }]);
    expect(chosen).toEqual({ cancelled: false, fileId: expect.any(String), fileName: 'id_ed25519' });
    expect(JSON.stringify(chosen)).not.toContain('PRIVATE KEY');
    const created = await core.call('credentials.add', {
      name: 'from file',
      username: 'root',
      kind: 'key',
      keyFileId: chosen.fileId!,
    });
    const db = core.requireWorkspace().db;
    const opened = await openCredential(
      db,
      core.options.platform.secrets,
      getCredentialSummary(db, created.id)!,
    );
    expect(opened.auth).toMatchObject({ kind: 'key', privateKey: key });
    // The audit log records the add, never the key.
    const log = db.prepare('SELECT details FROM audit_log').all() as { details: string }[];
    expect(JSON.stringify(log)).not.toContain('PRIVATE KEY');
    // One use only.
    await expect(
      core.call('credentials.add', {
        name: 'again',
        username: 'root',
        kind: 'key',
        keyFileId: chosen.fileId!,
      }),
    ).rejects.toThrow(/expired or was used; choose the file again/);
  });

  it('says cancelled when the dialog is closed, and adds nothing', async () => {
    answer = null;
    expect(await core.call('credentials.chooseKeyFile', {})).toEqual({
      cancelled: true,
      fileId: null,
      fileName: null,
    });
  });

  it('refuses a public key, a huge file and a directory by name, without their content', async () => {
    answer = write('id_ed25519.pub', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk secret-comment');
    const pub = core.call('credentials.chooseKeyFile', {});
    await expect(pub).rejects.toThrow(/id_ed25519\.pub is not a private key file/);
    await expect(pub).rejects.not.toThrow(/secret-comment/);
    answer = write('huge.pem', Buffer.alloc(65 * 1024, 'A'));
    await expect(core.call('credentials.chooseKeyFile', {})).rejects.toThrow(
      /huge\.pem is 66,560 bytes: a private key file is at most 65,536/,
    );
    answer = dir;
    await expect(core.call('credentials.chooseKeyFile', {})).rejects.toThrow(/is not a file/);
  });

  it('refuses a device such as /dev/zero as not a file, and follows a symlink to a real key file', async () => {
    answer = '/dev/zero';
    await expect(core.call('credentials.chooseKeyFile', {})).rejects.toThrow(/zero is not a file/);
    const link = path.join(dir, 'id_linked');
    fs.symlinkSync(write('id_target', key), link);
    answer = link;
    expect(await core.call('credentials.chooseKeyFile', {})).toMatchObject({
      cancelled: false,
      fileName: 'id_linked',
    });
  });

  // A FIFO with no writer blocks a plain open() for ever, and the core's event loop with it, so
  // this runs the core in a child process: on a core that opens before it looks, the child hangs
  // and the test's timeout fails it (afterEach kills the child).
  it('refuses a FIFO (and a symlink to one) at once, without opening it', { timeout: 20_000 }, async () => {
    const fifo = path.join(dir, 'id_fifo');
    execFileSync('mkfifo', [fifo]);
    fs.symlinkSync(fifo, path.join(dir, 'id_fifo_link'));
    const script = path.join(dir, 'choose-fifo.mts');
    fs.writeFileSync(
      script,
      `import { Core } from ${JSON.stringify(path.join(import.meta.dirname, 'core.ts'))};
import { createNodePlatform } from ${JSON.stringify(path.join(import.meta.dirname, '..', 'platform', 'index.ts'))};
const files = process.argv.slice(2);
const node = createNodePlatform({ configDir: ${JSON.stringify(path.join(dir, 'child'))}, useKeychain: false });
const core = new Core({ platform: { ...node, kind: 'electron', chooseFileToOpen: async () => files.shift() ?? null }, carrier: 'test' });
await core.openWorkspace(${JSON.stringify(path.join(dir, 'child.sqlite'))}, { create: 'if-missing' });
const answers = [];
for (let i = 0; i < 3; i++) {
  try { answers.push(await core.call('credentials.chooseKeyFile', {})); }
  catch (error) { answers.push({ error: error.message }); }
}
await core.closeWorkspace();
process.stdout.write(JSON.stringify(answers));
`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, fifo, path.join(dir, 'id_fifo_link'), '/dev/zero'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      { error: 'id_fifo is not a file.' },
      { error: 'id_fifo_link is not a file.' },
      { error: 'zero is not a file.' },
    ]);
  });

  it('refuses a key file id with a pasted key or another kind, and an id it never gave', async () => {
    answer = write('id_other', key);
    const chosen = await core.call('credentials.chooseKeyFile', {});
    await expect(
      core.call('credentials.add', {
        name: 'mixed',
        username: 'root',
        kind: 'password',
        keyFileId: chosen.fileId!,
      }),
    ).rejects.toThrow(/goes with a private-key credential/);
    await expect(
      core.call('credentials.add', { name: 'made up', username: 'root', kind: 'key', keyFileId: 'abc-123' }),
    ).rejects.toThrow(/choose the file again/);
  });

  it('is unavailable without the desktop dialog (browser mode, CLI): the page reads the file itself', async () => {
    await expect(nodeCore.call('credentials.chooseKeyFile', {})).rejects.toMatchObject({
      code: 'unavailable',
    });
  });
});
