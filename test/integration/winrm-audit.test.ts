import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Host } from '../../src/api';
import { auditHost, testCredential } from '../../src/audit';
import { addCredential } from '../../src/credentials';
import {
  createMemoryWorkspace,
  getAudit,
  getHost,
  insertHost,
  listAuditHotfixes,
  listFindings,
  listHostKeySightings,
  trustHostKey,
  windowsUpdatesOf,
} from '../../src/db';
import { createNodeSecretBox } from '../../src/secrets';
import {
  describeWithTestbed,
  startWinrmEndpoint,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../winrm/endpoint';
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

/**
 * A Windows Update audit over a real, sealed WinRM session: Patchdeck's client authenticates with
 * NTLM against the test bed's real acceptor (gss-ntlmssp), every body is sealed, and a scripted PC
 * behind the endpoint's backend mode answers the WUA script it receives through stdin with a
 * CONSTRUCTED sample (test/fixtures/windows/constructed-wua-v2.stdout: no Windows here, the script
 * itself never ran). The PC listens on 5985 (WinRM's port) of its own loopback address, through a
 * TCP relay to the endpoint, so the audit finds it exactly as it finds a real PC.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const CONSTRUCTED = fs.readFileSync(
  path.join(ROOT, 'test/fixtures/windows/constructed-wua-v2.stdout'),
  'utf8',
);
const PASSWORD = 'Audit-Pa55word!';
const DENIED =
  'PATCHDECK-WUA-JSON:' +
  JSON.stringify({
    ok: false,
    error: 'Access is denied. (0x80070005 (E_ACCESSDENIED))',
    hresult: '0x80070005',
    updates: [],
  });

const describeTestbed = describeWithTestbed();

type Answer = (script: string) => string;

/** A PC that answers each PowerShell script it receives through stdin with `answer(script)`. */
function startPc(
  answer: Answer,
): Promise<{ url: string; scripts: string[]; lines: string[]; close(): Promise<void> }> {
  const commands = new Map<string, { line: string; stdin: Buffer[]; answered: boolean }>();
  const scripts: string[] = [];
  const lines: string[] = [];
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
        commands.set(id, { line, stdin: [], answered: false });
        reply = commandResponse(q.messageId, id);
      } else if (q.action === ACTIONS.send) {
        commands.get(q.commandId ?? '')?.stdin.push(q.stdin ?? Buffer.alloc(0));
        reply = sendResponse(q.messageId);
      } else if (q.action === ACTIONS.receive) {
        const c = commands.get(q.commandId ?? '');
        let stdout = '';
        if (c && !c.answered && c.line.startsWith('powershell.exe ')) {
          const script = Buffer.from(Buffer.concat(c.stdin).toString('ascii').trim(), 'base64').toString(
            'utf8',
          );
          scripts.push(script);
          stdout = answer(script);
        }
        if (c) c.answered = true;
        reply = receiveResponse(q.messageId, q.commandId ?? '', {
          stdout: Buffer.from(stdout, 'utf8'),
          done: { exitCode: 0 },
        });
      } else if (q.action === ACTIONS.signal) reply = signalResponse(q.messageId);
      else if (q.action === ACTIONS.delete) reply = deleteResponse(q.messageId);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(reply ? { status: 200, body: reply } : { status: 500, body: '' }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        scripts,
        lines,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/** A TCP relay on <own loopback address>:5985 to the endpoint: the PC as the audit finds one. */
async function relay(to: number, listenPort = 5985): Promise<{ address: string; close(): Promise<void> }> {
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
        server.listen(listenPort, address, resolve);
      });
    } catch (error) {
      if (attempt < 20) continue;
      throw error;
    }
    return {
      address,
      close: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    };
  }
}

describeTestbed('Windows Update audit over a sealed WinRM session (test bed, backend mode)', () => {
  let userFile = '';
  let dir = '';
  const stops: Array<() => Promise<void>> = [];
  beforeAll(() => {
    userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: PASSWORD }]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-audit-'));
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function setUp(answer: Answer, https?: { cert: string; key: string }) {
    const pc = await startPc(answer);
    stops.push(() => pc.close());
    const endpoint: WinrmEndpoint = await startWinrmEndpoint({
      mode: { backend: pc.url },
      acceptor: { userFile },
      ...(https ? { https } : {}),
    });
    stops.push(() => endpoint.stop());
    const front = await relay(endpoint.port, https ? 5986 : 5985);
    stops.push(() => front.close());
    const db = createMemoryWorkspace();
    stops.push(async () => {
      db.close();
    });
    const secrets = createNodeSecretBox({
      configDir: dir,
      passphrase: 'test-passphrase',
      useKeychain: false,
    });
    const host = insertHost(db, { name: 'PC-RECEPTION', address: front.address, management: ['winrm'] });
    // As a scan leaves it: WinRM's HTTPS port open, so the audit goes to 5986 and checks the certificate.
    if (https)
      db.prepare(
        `INSERT INTO host_services (host_id, port, state, service, banner, last_seen) VALUES (?, 5986, 'open', 'winrm', NULL, 't')`,
      ).run(host.id);
    const credential = await addCredential(db, secrets, {
      name: 'office',
      kind: 'windows',
      username: 'PATCHDECK\\alice',
      secret: PASSWORD,
      scope: [],
    });
    const audit = (h: Host, c = credential) =>
      auditHost({ db, secrets, actor: 'test' }, h, { credential: c, refresh: false, timeoutMs: 60_000 });
    const pin = async () => {
      const sighting = listHostKeySightings(db, host.id).find((s) => s.type === 'ntlm-identity')!;
      trustHostKey(db, {
        hostId: host.id,
        type: 'ntlm-identity',
        fingerprint: sighting.fingerprint,
        publicKey: null,
        actor: 'test',
        reviewed: true,
        reason: 'reviewed in the test',
      });
    };
    return { pc, endpoint, db, secrets, host, credential, audit, pin };
  }

  it('refuses an unreviewed PC before the password goes out, records what it presented, then audits it once pinned', async () => {
    const { pc, endpoint, db, host, audit } = await setUp(() => CONSTRUCTED);
    const refused = await audit(host);
    expect(refused).toMatchObject({ status: 'failed', errorKind: 'host-key-unknown' });
    expect(refused.error).toMatch(
      /^PC-RECEPTION's WinRM endpoint is not trusted yet, so the office credential was not sent\. It presents the NTLM identity ntlm:\S+ \(the names in its NTLM challenge\)\.$/,
    );
    expect((await endpoint.requests()).filter((r) => !r.refused)).toEqual([]);
    expect(pc.lines).toEqual([]);
    const sighting = listHostKeySightings(db, host.id).find((s) => s.type === 'ntlm-identity')!;
    expect(sighting.fingerprint).toMatch(/^ntlm:/);

    trustHostKey(db, {
      hostId: host.id,
      type: 'ntlm-identity',
      fingerprint: sighting.fingerprint,
      publicKey: null,
      actor: 'test',
      reviewed: true,
      reason: 'reviewed in the test',
    });
    const outcome = await audit(getHost(db, host.id)!);
    expect(outcome).toMatchObject({ status: 'succeeded', updates: 3, security: 1, rebootRequired: true });
    // One script, through stdin, and no OS-detection round-trip: Windows by transport.
    expect(pc.scripts).toHaveLength(1);
    expect(pc.scripts[0]).toContain("Search('IsInstalled=0 and IsHidden=0')");
    expect(pc.lines.every((l) => l.startsWith('powershell.exe '))).toBe(true);
    const log = (await endpoint.requests()).filter((r) => !r.refused);
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((r) => r.encrypted)).toBe(true);

    const stored = getAudit(db, outcome.auditId!)!;
    expect(stored).toMatchObject({
      source: 'winrm',
      osName: 'Windows 11 Pro',
      osVersion: '10.0.22631',
      kernel: '10.0.22631.4751',
      packageManager: 'windows-update',
      rebootRequired: true,
    });
    expect(stored.windows).toMatchObject({
      build: '22631',
      ubr: 4751,
      policy: { server: 'http://wsus.office.example:8530', useWUServer: true },
      searchedBy: 'session',
    });
    expect(stored.warnings[0]).toBe(
      'This PC takes its updates from the WSUS server http://wsus.office.example:8530: approvals there decide what installs.',
    );
    expect(listAuditHotfixes(db, stored.id).map((h) => h.hotfixId)).toEqual([
      'KB5044033',
      'KB5047621',
      'KB5048685',
    ]);
    expect(listFindings(db, stored.id).find((f) => f.package === 'KB5050021')!.details).toMatchObject({
      updateId: '6b2a3c4d-1e0f-4a5b-9c8d-7e6f5a4b3c2d',
      revision: 1,
    });
    expect(windowsUpdatesOf(db, host.id).map((u) => [u.kb, u.updateId])).toEqual([
      ['KB5050021', '6b2a3c4d-1e0f-4a5b-9c8d-7e6f5a4b3c2d'],
      ['Intel - System - 10.1.19444.8378', '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9'],
      ['KB2267602', 'a1b2c3d4-0000-4000-8000-000000000001'],
    ]);
  });

  it('a search Windows denies to the session runs through the one-off SYSTEM task, over the same sealed session', async () => {
    const { pc, db, host, audit } = await setUp((script) => {
      if (script.includes('Register-ScheduledTask')) {
        const name = /-TaskName '([^']+)'/.exec(script)![1]!;
        return `PATCHDECK-TASK-STARTED:${name}\r\n`;
      }
      if (script.includes('PATCHDECK-TASK-OUTPUT'))
        return `PATCHDECK-TASK-OUTPUT:${Buffer.from(CONSTRUCTED, 'utf8').toString('base64')}\r\n`;
      return `${DENIED}\r\n`;
    });
    const presented = await audit(host);
    const pin = listHostKeySightings(db, host.id).find((s) => s.type === 'ntlm-identity')!.fingerprint;
    expect(presented.errorKind).toBe('host-key-unknown');
    trustHostKey(db, {
      hostId: host.id,
      type: 'ntlm-identity',
      fingerprint: pin,
      publicKey: null,
      actor: 'test',
      reviewed: true,
      reason: 'test',
    });
    const outcome = await audit(getHost(db, host.id)!);
    expect(outcome).toMatchObject({ status: 'succeeded', updates: 3 });
    expect(
      pc.scripts.map((s) =>
        s.includes('Register-ScheduledTask')
          ? 'register'
          : s.includes('PATCHDECK-TASK-OUTPUT')
            ? 'poll'
            : 'search',
      ),
    ).toEqual(['search', 'register', 'poll']);
    const stored = getAudit(db, outcome.auditId!)!;
    expect(stored.windows?.searchedBy).toBe('system-task');
    expect(stored.warnings[0]).toMatch(/one-off SYSTEM task/);
  });

  it('a wrong password fails as auth-failed naming the PC; the credential test says WinRM, not sudo', async () => {
    const { db, secrets, host, credential, audit, pin } = await setUp(() => 'PATCHDECK\\alice\r\n');
    await audit(host);
    await pin();
    const wrong = await addCredential(db, secrets, {
      name: 'wrong',
      kind: 'windows',
      username: 'PATCHDECK\\alice',
      secret: 'not-the-password',
      scope: [],
    });
    const failed = await audit(getHost(db, host.id)!, wrong);
    expect(failed).toMatchObject({ status: 'failed', errorKind: 'auth-failed' });
    expect(failed.error).toMatch(/^PC-RECEPTION /);
    expect(failed.error).not.toContain('not-the-password');
    const tested = await testCredential({ db, secrets }, { id: credential.id, hostId: host.id });
    expect(tested).toEqual({
      ok: true,
      sudo: null,
      message: 'Logged in to PC-RECEPTION over WinRM as PATCHDECK\\alice; it runs commands.',
    });
  });

  it('over HTTPS (5986 open) only a reviewed certificate pin gets the password', async () => {
    const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-audit-cert-'));
    stops.push(async () => fs.rmSync(certDir, { recursive: true, force: true }));
    const cert = path.join(certDir, 'cert.pem');
    const key = path.join(certDir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=pc-reception',
        '-days',
        '2',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const { pc, endpoint, db, host, audit } = await setUp(() => CONSTRUCTED, { cert, key });
    const refused = await audit(getHost(db, host.id)!);
    expect(refused).toMatchObject({ status: 'failed', errorKind: 'host-key-unknown' });
    expect(refused.error).toMatch(/It presents the WinRM certificate SHA256:[A-Za-z0-9+/]{43}\.$/);
    expect(await endpoint.requests()).toEqual([]);
    expect(pc.lines).toEqual([]);
    const sighting = listHostKeySightings(db, host.id).find((s) => s.type === 'x509-certificate')!;
    expect(sighting.publicKey).toMatch(/^-----BEGIN CERTIFICATE-----/);
    trustHostKey(db, {
      hostId: host.id,
      type: 'x509-certificate',
      fingerprint: sighting.fingerprint,
      publicKey: sighting.publicKey,
      actor: 'test',
      reviewed: true,
      reason: 'reviewed in the test',
    });
    const outcome = await audit(getHost(db, host.id)!);
    expect(outcome).toMatchObject({ status: 'succeeded', updates: 3 });
    const log = (await endpoint.requests()).filter((r) => !r.refused);
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((r) => r.tls)).toBe(true);
  });
});
