import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';

// The Electron binary does not exist here: the shell runs against stand-ins for its modules, and
// its core's utilityProcess against a real forked child process speaking the same protocol.
const electron = await vi.hoisted(async () =>
  (await import('./testing/fake-electron')).fakeElectron({
    messageBoxResponse: 1,
    // A stand-in keychain (the bytes flipped): what matters here is that main does the sealing.
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => 'basic_text',
      encryptString: (text: string) => Buffer.from(text).map((b) => b ^ 0xa5),
      decryptString: (bytes: Buffer) => Buffer.from(bytes.map((b) => b ^ 0xa5)).toString(),
    },
  }),
);
vi.mock('electron', () => electron);
vi.mock('./core-host', async () => {
  const { bundleNodeCore, forkNodeCore } = await import('../src/carrier');
  const entry = await bundleNodeCore();
  return {
    forkCore: () => {
      const forked = forkNodeCore({ entry });
      electron.children.push(forked.child);
      return forked.channel;
    },
  };
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-main-core-'));
afterAll(() => {
  for (const child of electron.children) if (child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

type Handler = (
  event: { sender: { id: number }; senderFrame: { url: string } },
  payload: unknown,
) => Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }>;

it('runs the core in another process, asks before closing over its running work, and says so when that process dies', async () => {
  vi.stubEnv('PATCHDECK_WORKSPACE', path.join(dir, 'ws.sqlite'));
  await import('./main');
  await expect.poll(() => electron.windows[0]?.loadFile.mock.calls.length ?? 0).toBe(1);
  const win = electron.windows[0]!;
  const page = pathToFileURL(win.loadFile.mock.calls[0]![0] as string).href;
  const handle = electron.ipcMain.handle.mock.calls[0]![1] as Handler;
  const call = (method: string, args: unknown = {}) =>
    handle({ sender: { id: 7 }, senderFrame: { url: page } }, { method, args });

  // The workspace is open in the child: its SQLite file is held by that process, not this one.
  const [child] = electron.children;
  expect(child?.pid).toBeGreaterThan(0);
  expect(child!.pid).not.toBe(process.pid);
  expect(await call('workspace.current')).toMatchObject({
    ok: true,
    value: { path: path.join(dir, 'ws.sqlite') },
  });

  // Events from the core reach the window.
  await call('settings.set', { patch: { theme: 'dark' } });
  await expect
    .poll(() => electron.sent.some((s) => (s.message as { event: string }).event === 'entity.changed'))
    .toBe(true);

  // A running audit (of a host that never answers) makes the window ask before it closes.
  const silent = net.createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const credential = await call('credentials.add', {
      name: 'lab',
      username: 'admin',
      kind: 'password',
      secret: 'pw-of-the-silent-host',
    });
    const host = await call('hosts.add', { name: 'silent', address: '127.0.0.1', sshPort: port });
    const started = await call('audits.start', {
      hostIds: [(host.value as { id: number }).id],
      credentialId: (credential.value as { id: number }).id,
    });
    expect(started).toMatchObject({ ok: true });
    await expect
      .poll(() =>
        electron.sent.some(
          (s) =>
            (s.message as { event: string; payload: { status?: string } }).event === 'task.changed' &&
            (s.message as { payload: { status?: string } }).payload.status === 'running',
        ),
      )
      .toBe(true);
    const closing = { preventDefault: vi.fn() };
    win.handlers.get('close')!(closing);
    expect(closing.preventDefault).toHaveBeenCalled();
    await expect.poll(() => electron.dialog.showMessageBox.mock.calls.length).toBe(1);
    expect(electron.dialog.showMessageBox.mock.calls[0]).toContainEqual(
      expect.objectContaining({ message: 'A task is still running. Quit anyway?' }),
    );

    // The core's process dies: the window's calls fail with the reason, and the app says so and quits.
    child!.kill('SIGKILL');
    await expect.poll(() => electron.app.exit.mock.calls.length).toBe(1);
    expect(electron.app.exit).toHaveBeenCalledWith(1);
    expect(electron.dialog.showErrorBox).toHaveBeenCalledWith(
      'Patchdeck stopped working',
      expect.stringMatching(/core stopped .*SIGKILL/),
    );
    expect(await call('app.info')).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  } finally {
    silent.close();
    vi.unstubAllEnvs();
  }
});
