import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SYSTEM_PYTHON,
  missingTestbedParts,
  startWinrmEndpoint,
  testbedPythonEnv,
  writeNtlmUserFile,
  type EndpointRequest,
  type WinrmEndpoint,
} from '../winrm/endpoint';
import { startDomainController, withSambaLock, type DomainController } from '../winrm/samba-dc';

/**
 * The WinRM test bed is faithful, not tuned to Patchdeck's client: python3-winrm, an independent client,
 * runs a fully sealed cmd shell (message_encryption='always') against the endpoint, which authenticates it
 * with a real NTLM acceptor (gss-ntlmssp: standalone user file, then the Samba DC through winbind) and
 * answers with the replies a real Windows Server recorded. A wrong password and a plaintext client fail.
 */
const ROOT = path.resolve(__dirname, '../..');
const STANDARD = path.join(ROOT, 'test/fixtures/winrm/wsman/test_winrs_standard.yml');
const SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
const TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';
const STANDARD_ACTIONS = [
  `${TRANSFER}/Create`,
  `${SHELL}/Command`,
  `${SHELL}/Receive`,
  `${SHELL}/Signal`,
  `${TRANSFER}/Delete`,
];

type ClientResult =
  { ok: true; stdout: string; stderr: string; code: number } | { ok: false; error: string; message: string };

function pywinrm(options: {
  url: string;
  username: string;
  password: string;
  encryption: 'always' | 'never';
}): Promise<ClientResult> {
  const input = JSON.stringify({ ...options, command: 'cmd.exe', arguments: ['/c', 'echo', 'hi'] });
  return new Promise((resolve, reject) => {
    const child = spawn(SYSTEM_PYTHON, [path.join(ROOT, 'test/winrm/pywinrm_client.py'), input], {
      env: testbedPythonEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line) as ClientResult;
        if (r.ok) {
          r.stdout = Buffer.from(r.stdout, 'base64').toString('utf8');
          r.stderr = Buffer.from(r.stderr, 'base64').toString('utf8');
        }
        resolve(r);
      } catch {
        reject(new Error(`python3-winrm printed no result (exit ${code}): ${out}${err}`));
      }
    });
  });
}

const processed = (log: EndpointRequest[]) => log.filter((r) => !r.refused);

const missing = missingTestbedParts({ dc: true, winrmClient: true });
const describeTestbed =
  missing.length === 0
    ? describe
    : process.env.CI === 'true'
      ? (name: string, body: () => void) =>
          describe(name, () => {
            it('has the WinRM test bed installed', () => {
              throw new Error(`the WinRM test bed is incomplete: ${missing.join('; ')}`);
            });
            void body;
          })
      : (name: string, body: () => void) => {
          console.warn(`skipping "${name}": the WinRM test bed lacks ${missing.join('; ')}`);
          describe.skip(name, body);
        };

describeTestbed('WinRM endpoint with a standalone NTLM acceptor (user file)', () => {
  let endpoint: WinrmEndpoint;
  beforeAll(async () => {
    const users = writeNtlmUserFile([
      { domain: 'PATCHDECK', username: 'alice', password: 'Standalone-Pa55!' },
    ]);
    endpoint = await startWinrmEndpoint({ mode: { replay: STANDARD }, acceptor: { userFile: users } });
  });
  afterAll(async () => {
    await endpoint?.stop();
  });

  it('python3-winrm runs the recorded shell session sealed end to end', async () => {
    const r = await pywinrm({
      url: endpoint.url,
      username: 'PATCHDECK\\alice',
      password: 'Standalone-Pa55!',
      encryption: 'always',
    });
    expect(r).toEqual({ ok: true, stdout: 'hi\r\n', stderr: '', code: 0 });
    const log = await endpoint.requests();
    expect(log.map((q) => q.action)).toEqual(STANDARD_ACTIONS);
    expect(log.every((q) => q.encrypted && !q.refused && q.status === 200)).toBe(true);
    // one keep-alive connection carried the whole session
    expect(new Set(log.map((q) => q.connection)).size).toBe(1);
  });
});

describeTestbed('WinRM endpoint refusals', () => {
  let endpoint: WinrmEndpoint;
  beforeAll(async () => {
    const users = writeNtlmUserFile([
      { domain: 'PATCHDECK', username: 'alice', password: 'Standalone-Pa55!' },
    ]);
    endpoint = await startWinrmEndpoint({ mode: { replay: STANDARD }, acceptor: { userFile: users } });
  });
  afterAll(async () => {
    await endpoint?.stop();
  });

  it('a wrong password is rejected by the acceptor and nothing is processed', async () => {
    const r = await pywinrm({
      url: endpoint.url,
      username: 'PATCHDECK\\alice',
      password: 'not-the-password',
      encryption: 'always',
    });
    expect(r).toMatchObject({ ok: false, error: 'InvalidCredentialsError' });
    const log = await endpoint.requests();
    expect(log.some((q) => q.status === 401 && q.reason.startsWith('authentication failed'))).toBe(true);
    expect(processed(log)).toEqual([]);
  });

  it('a plaintext client (message_encryption=never) is refused and its body never processed', async () => {
    const r = await pywinrm({
      url: endpoint.url,
      username: 'PATCHDECK\\alice',
      password: 'Standalone-Pa55!',
      encryption: 'never',
    });
    expect(r).toMatchObject({ ok: false, error: 'WinRMTransportError' });
    expect(r.ok ? '' : r.message).toContain('400');
    const log = await endpoint.requests();
    const plaintext = log.filter((q) => !q.encrypted && q.action === `${TRANSFER}/Create`);
    expect(plaintext.length).toBeGreaterThan(0);
    expect(plaintext.every((q) => q.refused)).toBe(true);
    expect(log.some((q) => q.reason.startsWith('plaintext body refused') && q.status === 400)).toBe(true);
    expect(processed(log)).toEqual([]);
  });
});

describeTestbed('WinRM endpoint with the Samba AD DC as acceptor', () => {
  withSambaLock();
  let dc: DomainController;
  let endpoint: WinrmEndpoint;
  beforeAll(async () => {
    dc = await startDomainController();
    endpoint = await startWinrmEndpoint({ mode: { replay: STANDARD }, acceptor: 'domain' });
  }, 240_000);
  afterAll(async () => {
    await endpoint?.stop();
    await dc?.stop();
  });

  it('authenticates a domain user against the DC and runs the sealed session', async () => {
    const r = await pywinrm({
      url: endpoint.url,
      username: 'PATCHDECK\\alice',
      password: dc.users.alice,
      encryption: 'always',
    });
    expect(r).toEqual({ ok: true, stdout: 'hi\r\n', stderr: '', code: 0 });
    const log = await endpoint.requests();
    expect(processed(log).map((q) => q.action)).toEqual(STANDARD_ACTIONS);
    expect(processed(log).every((q) => q.encrypted)).toBe(true);
  });

  it("rejects another domain user's password", async () => {
    const r = await pywinrm({
      url: endpoint.url,
      username: 'PATCHDECK\\bob',
      password: dc.users.alice,
      encryption: 'always',
    });
    expect(r).toMatchObject({ ok: false, error: 'InvalidCredentialsError' });
  });
});
