import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listHostKeySightings, trustHostKey } from '../../src/db';
import {
  missingTestbedParts,
  startWinrmEndpoint,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../winrm/endpoint';
import { withSambaLock } from '../winrm/samba-dc';
import {
  ACTIONS,
  commandResponse,
  configResponse,
  createShellResponse,
  deleteResponse,
  parseRequest,
  receiveResponse,
  sendResponse,
  signalResponse,
} from '../winrm/soap-replies';
import { launchApp, type E2eApp } from './harness';

/**
 * Issue 12 follow-up: Settings' "Test connection" of a Windows credential, against the WinRM test
 * bed (a real gss-ntlmssp acceptor on loopback, every body sealed), with a tiny PC behind the
 * endpoint's backend mode that answers `whoami`. The PC listens on 5985 of its own loopback
 * address through a TCP relay, as a real PC is found. Each sentence the window shows is true for
 * Windows: WinRM, the account, whether the PC runs commands; never sudo.
 */
const missing = missingTestbedParts();
const PASSWORD = 'Settings-Pa55word!';
const runIf = it.runIf(missing.length === 0 || process.env.CI === 'true');

let app: E2eApp;
let endpoint: WinrmEndpoint;
let hostId = 0;
const stops: Array<() => Promise<void>> = [];
const lines: string[] = [];
let whoamiExit = 0;

/** The PC: `whoami` prints the account (or fails with `whoamiExit`); anything else prints nothing. */
function startPc(): Promise<string> {
  const commands = new Map<string, { line: string; answered: boolean }>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const q = parseRequest(Buffer.concat(chunks).toString('utf8'));
      let reply = '';
      if (q.action === ACTIONS.get) reply = configResponse(q.messageId, { maxEnvelopeSizeKb: 500 });
      else if (q.action === ACTIONS.create)
        reply = createShellResponse(q.messageId, randomUUID().toUpperCase());
      else if (q.action === ACTIONS.command) {
        const id = randomUUID().toUpperCase();
        const line = [q.command ?? '', ...(q.arguments ?? [])].join(' ').trim();
        lines.push(line);
        commands.set(id, { line, answered: false });
        reply = commandResponse(q.messageId, id);
      } else if (q.action === ACTIONS.send) reply = sendResponse(q.messageId);
      else if (q.action === ACTIONS.receive) {
        const c = commands.get(q.commandId ?? '');
        const whoami = c?.line === 'whoami' && !c.answered;
        if (c) c.answered = true;
        reply = receiveResponse(q.messageId, q.commandId ?? '', {
          stdout: Buffer.from(whoami && whoamiExit === 0 ? 'patchdeck\\alice\r\n' : '', 'utf8'),
          done: { exitCode: whoami ? whoamiExit : 0 },
        });
      } else if (q.action === ACTIONS.signal) reply = signalResponse(q.messageId);
      else if (q.action === ACTIONS.delete) reply = deleteResponse(q.messageId);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(reply ? { status: 200, body: reply } : { status: 500, body: '' }));
    });
  });
  stops.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`),
    ),
  );
}

/** A TCP relay on <own loopback address>:5985 to the endpoint; answers that address. */
async function relay(to: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const address = `127.${50 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(to, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(5985, address, resolve);
      });
    } catch (error) {
      if (attempt < 20) continue;
      throw error;
    }
    stops.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
    return address;
  }
}

if (missing.length === 0) withSambaLock();

beforeAll(async () => {
  if (missing.length) {
    if (process.env.CI === 'true') throw new Error(`the WinRM test bed is incomplete: ${missing.join('; ')}`);
    console.warn(`skipping the Windows credential test e2e: the WinRM test bed lacks ${missing.join('; ')}`);
    return;
  }
  const userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: PASSWORD }]);
  endpoint = await startWinrmEndpoint({ mode: { backend: await startPc() }, acceptor: { userFile } });
  stops.push(() => endpoint.stop());
  const address = await relay(endpoint.port);
  app = await launchApp();
  const { core } = app;
  hostId = (await core.call('hosts.add', { name: 'win1', address })).id;
  core.requireWorkspace().db.prepare(`UPDATE hosts SET management = '["winrm"]' WHERE id = ?`).run(hostId);
  for (const [name, secret] of [
    ['office', PASSWORD],
    ['wrong', 'not-the-password'],
  ] as const)
    await core.call('credentials.add', {
      name,
      kind: 'windows',
      username: 'PATCHDECK\\alice',
      secret,
      scope: ['*'],
    });
  await app.page.setViewportSize({ width: 1400, height: 1000 });
}, 120_000);
afterAll(async () => {
  await app?.close();
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('Test connection of a Windows credential in Settings', () => {
  runIf(
    'says WinRM and whether the PC runs commands, never sudo: unpinned, a wrong password, a good login, a failing command',
    async () => {
      const { page, core } = app;
      await page.goto(`${app.carrier.launchUrl.split('#')[0]}#/settings`);
      await page.reload();
      const result = async (credential: string): Promise<string> => {
        const tester = page.getByRole('group', { name: `Test ${credential}` });
        await tester.getByLabel('Host').selectOption(String(hostId));
        await tester.getByRole('button', { name: 'Test connection' }).click();
        const status = tester.getByRole('status');
        await expect.poll(() => status.textContent(), { timeout: 60_000 }).not.toBe('Connecting…');
        const text = (await status.textContent()) ?? '';
        expect(text).not.toMatch(/sudo/i);
        return text;
      };
      const status = (credential: string) =>
        page.getByRole('group', { name: `Test ${credential}` }).getByRole('status');

      // Not trusted yet: refused before the password goes out, in WinRM words.
      expect(await result('office')).toMatch(
        /^win1's WinRM endpoint is not trusted yet, so the office credential was not sent\. It presents the NTLM identity ntlm:\S+/,
      );
      expect(await status('office').getAttribute('data-ok')).toBe('false');
      expect(lines).toEqual([]);
      const db = core.requireWorkspace().db;
      const sighting = listHostKeySightings(db, hostId).find((s) => s.type === 'ntlm-identity')!;
      trustHostKey(db, {
        hostId,
        type: 'ntlm-identity',
        fingerprint: sighting.fingerprint,
        publicKey: null,
        actor: 'test',
        reviewed: true,
        reason: 'reviewed in the test',
      });

      // A wrong password: the PC named, the password never shown.
      const wrong = await result('wrong');
      expect(wrong).toBe('win1 refused the Windows credentials (wrong user or password).');
      expect(await status('wrong').getAttribute('data-ok')).toBe('false');

      // The good one: logged in over WinRM and the PC ran whoami.
      expect(await result('office')).toBe(
        'Logged in to win1 over WinRM as PATCHDECK\\alice; it runs commands.',
      );
      expect(await status('office').getAttribute('data-ok')).toBe('true');
      expect(lines).toContain('whoami');

      // Logged in, but the command failed: not a success.
      whoamiExit = 1;
      expect(await result('office')).toBe(
        'Logged in to win1 over WinRM as PATCHDECK\\alice, but the PC did not run a command (exit code 1).',
      );
      expect(await status('office').getAttribute('data-ok')).toBe('false');
      expect(await page.content()).not.toContain(PASSWORD);
    },
  );
});
