import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RemoteError } from '../../src/remote/errors';
import {
  certificateFingerprint,
  WinrmSession,
  wsmanIdentify,
  type WinrmConnectOptions,
} from '../../src/remote/winrm';
import {
  describeWithTestbed,
  startWinrmEndpoint,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../winrm/endpoint';
import { startDomainController, withSambaLock, type DomainController } from '../winrm/samba-dc';
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
 * Patchdeck's WinRM client against the test bed's endpoint: a real NTLM acceptor (gss-ntlmssp),
 * real GSS sealing of every body, and the replies a real Windows Server recorded, in their order
 * (or derived scenarios in the recorded shapes, or a scripted PC in backend mode). Nothing here
 * runs Windows: it shows the client speaks the protocol the way python3-winrm does.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const WSMAN = path.join(ROOT, 'test/fixtures/winrm/wsman');
const SCENARIOS = path.join(ROOT, 'test/fixtures/winrm/scenarios');
const PASSWORD = 'Client-Pa55word!';
const SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
const TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';
const STANDARD_ACTIONS = [
  `${TRANSFER}/Create`,
  `${SHELL}/Command`,
  `${SHELL}/Receive`,
  `${SHELL}/Signal`,
  `${TRANSFER}/Delete`,
];

const describeTestbed = describeWithTestbed();

// The whole file holds the test DC lock: a DC (winbind) started by another test while the
// standalone acceptor runs changes what gss-ntlmssp announces and whom it accepts.
withSambaLock();

let userFile = '';
const endpoints: WinrmEndpoint[] = [];

async function replay(
  file: string,
  extra: { https?: { cert: string; key: string }; basicUsers?: string } = {},
): Promise<WinrmEndpoint> {
  const endpoint = await startWinrmEndpoint({ mode: { replay: file }, acceptor: { userFile }, ...extra });
  endpoints.push(endpoint);
  return endpoint;
}

function optionsFor(
  endpoint: WinrmEndpoint,
  overrides: Partial<WinrmConnectOptions> = {},
): WinrmConnectOptions {
  return {
    host: '127.0.0.1',
    port: endpoint.port,
    https: false,
    label: 'WIN1',
    login: { method: 'ntlm', domain: 'PATCHDECK', username: 'alice', password: PASSWORD },
    connectTimeoutMs: 10_000,
    maxOutputBytes: 32 * 1024 * 1024,
    // The replay answers in recorded order, so no extra Get of winrm/config.
    maxEnvelopeSize: 153_600,
    ...overrides,
  };
}

/** The NTLM names the acceptor announces: asked once with no pin (nothing secret is sent then). */
async function presentedIdentity(endpoint: WinrmEndpoint): Promise<string> {
  const error = (await WinrmSession.connect(optionsFor(endpoint)).catch((e: unknown) => e)) as RemoteError;
  expect(error).toBeInstanceOf(RemoteError);
  expect(error.kind).toBe('host-key-unknown');
  return (error.details.presented as { fingerprint: string }).fingerprint;
}

async function trustedSession(
  endpoint: WinrmEndpoint,
  overrides: Partial<WinrmConnectOptions> = {},
): Promise<WinrmSession> {
  const pin = await presentedIdentity(endpoint);
  return WinrmSession.connect(optionsFor(endpoint, { pinnedNtlmIdentities: [pin], ...overrides }));
}

describeTestbed('WinRM client on the sealed test bed (standalone NTLM acceptor)', () => {
  beforeAll(() => {
    userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: PASSWORD }]);
  });
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });

  it('an unpinned NTLM identity blocks before the Type 3: the endpoint processed nothing', async () => {
    const endpoint = await replay(path.join(WSMAN, 'test_winrs_standard.yml'));
    const error = (await WinrmSession.connect(optionsFor(endpoint)).catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('host-key-unknown');
    expect(error.details.presented).toMatchObject({ type: 'ntlm-identity', publicKey: null });
    expect((error.details.presented as { fingerprint: string }).fingerprint).toMatch(
      /^ntlm:[^/]+\/[A-Z0-9.-]*$/,
    );
    expect(error.message).toMatch(/^WIN1 is not trusted yet\. Its WinRM NTLM identity is ntlm:/);
    const changed = (await WinrmSession.connect(
      optionsFor(endpoint, { pinnedNtlmIdentities: ['ntlm:OTHER.PATCHDECK.TEST/OTHER'] }),
    ).catch((e: unknown) => e)) as RemoteError;
    expect(changed.kind).toBe('host-key-changed');
    expect((await endpoint.requests()).filter((r) => !r.refused)).toEqual([]);
  });

  it('right password: runs a command sealed end to end; the endpoint saw no plaintext body', async () => {
    const endpoint = await replay(path.join(WSMAN, 'test_winrs_standard.yml'));
    const session = await trustedSession(endpoint);
    expect(session.identity.type).toBe('ntlm-identity');
    expect(await session.run('cmd.exe /c echo hi')).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    await session.close();
    expect(session.isOpen).toBe(false);
    const log = await endpoint.requests();
    const processed = log.filter((r) => !r.refused);
    expect(processed.map((r) => r.action)).toEqual(STANDARD_ACTIONS);
    expect(processed.every((r) => r.encrypted && r.status !== 0)).toBe(true);
    expect(log.filter((r) => r.refused && r.action !== '')).toEqual([]);
    // One kept-alive connection carried the whole session.
    expect(new Set(processed.map((r) => r.connection)).size).toBe(1);
  });

  it('wrong password: auth-failed with the plain sentence, nothing processed, the password nowhere', async () => {
    const endpoint = await replay(path.join(WSMAN, 'test_winrs_standard.yml'));
    const pin = await presentedIdentity(endpoint);
    const wrong = 'Wrong-Pa55word!';
    const error = (await WinrmSession.connect(
      optionsFor(endpoint, {
        pinnedNtlmIdentities: [pin],
        login: { method: 'ntlm', domain: 'PATCHDECK', username: 'alice', password: wrong },
      }),
    ).catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.kind).toBe('auth-failed');
    expect(error.message).toBe('WIN1 refused the Windows credentials (wrong user or password).');
    expect(JSON.stringify({ m: error.message, s: error.stderr, d: error.details })).not.toContain(wrong);
    expect((await endpoint.requests()).filter((r) => !r.refused)).toEqual([]);
  });

  it('survives w:TimedOut: Receive is issued again and the output arrives', async () => {
    const endpoint = await replay(path.join(SCENARIOS, 'receive_timed_out.yml'));
    const session = await trustedSession(endpoint);
    expect(await session.run('cmd.exe /c echo hi')).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    await session.close();
    const actions = (await endpoint.requests())
      .filter((r) => !r.refused)
      .map((r) => r.action.replace(/^.*\//, ''));
    expect(actions).toEqual(['Create', 'Command', 'Receive', 'Receive', 'Signal', 'Delete']);
  });

  it('a bad command id (w:InvalidSelectors) fails clearly, never hangs', async () => {
    const endpoint = await replay(path.join(SCENARIOS, 'receive_invalid_selectors.yml'));
    const session = await trustedSession(endpoint);
    const error = (await session.run('cmd.exe /c echo hi').catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('command-failed');
    expect(error.message).toContain(
      'WIN1 could not read the command output: the command is no longer known to the PC (its shell was closed) (0x8033805B',
    );
    await session.close();
  });

  it('w:InvalidParameter with its Win32 code is a classified error', async () => {
    const endpoint = await replay(path.join(SCENARIOS, 'receive_invalid_parameter.yml'));
    const session = await trustedSession(endpoint);
    const error = (await session.run('cmd.exe /c echo hi').catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('command-failed');
    expect(error.message).toContain('Win32 error 87');
    await session.close();
  });

  it('unicode through the UTF-8 code page, and stderr with the exit code', async () => {
    const unicode = await replay(path.join(WSMAN, 'test_winrs_unicode.yml'));
    const a = await trustedSession(unicode);
    expect(await a.run('powershell.exe Write-Host こんにちは')).toEqual({
      stdout: 'こんにちは\n',
      stderr: '',
      code: 0,
    });
    await a.close();
    const rc = await replay(path.join(WSMAN, 'test_winrs_stderr_rc.yml'));
    const b = await trustedSession(rc);
    expect(await b.run('cmd.exe /c echo out && echo err>&2 && exit 1')).toEqual({
      stdout: 'out \r\n',
      stderr: 'err \r\n',
      code: 1,
    });
    await b.close();
  });

  it('a large output over several Receives, and the cap when it is exceeded', async () => {
    const big = await replay(path.join(SCENARIOS, 'large_output.yml'));
    const session = await trustedSession(big);
    const result = await session.run('cmd.exe /c type big.txt');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\r\n').filter((l) => l !== '');
    expect(lines.length).toBe(6000);
    expect(result.stdout.length).toBeGreaterThan(200_000);
    await session.close();
    const capped = await replay(path.join(SCENARIOS, 'large_output.yml'));
    const small = await trustedSession(capped, { maxOutputBytes: 100_000 });
    const error = (await small.run('cmd.exe /c type big.txt').catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('output-too-large');
    expect(error.message).toMatch(/^WIN1: the command printed more than 98 KiB/);
    // The strict replay answers only the recorded order, so it refuses the Signal: the message says so.
    expect(error.message).toMatch(
      / Patchdeck's request to stop the command on the PC failed, so it may still be running there\.$/,
    );
    await small.close();
    const sent = (await capped.requests())
      .filter((r) => !r.refused)
      .map((r) => r.action.replace(/^.*\//, ''));
    expect(sent.slice(0, 3)).toEqual(['Create', 'Command', 'Receive']);
    expect(sent).toContain('Signal');
  });

  it('connection refused names `winrm quickconfig`', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = (await WinrmSession.connect({
      ...optionsFor({ port, url: '', stop: async () => {}, requests: async () => [] }),
    }).catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe(
      `WIN1 refused the WinRM connection on port ${port}: WinRM is not enabled on the PC: run \`winrm quickconfig\` in an administrator prompt there.`,
    );
  });
});

/** A scripted PC behind the endpoint's backend mode: it echoes the script it received on stdin. */
function startScriptedPc(): Promise<{
  url: string;
  stdin: Buffer[];
  receives(): number;
  close(): Promise<void>;
}> {
  const stdin: Buffer[] = [];
  let pending: Buffer | null = null;
  let receives = 0;
  const clixml =
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">' +
    '<S S="Error">Write-Error : ünïcødé failure_x000D__x000A_</S></Objs>';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const q = parseRequest(body);
      let reply = '';
      if (q.action === ACTIONS.get) reply = configResponse(q.messageId, { maxEnvelopeSizeKb: 40 });
      else if (q.action === ACTIONS.create)
        reply = createShellResponse(q.messageId, '11111111-2222-4333-8444-555555555555');
      else if (q.action === ACTIONS.command)
        reply = commandResponse(q.messageId, 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE');
      else if (q.action === ACTIONS.send) {
        stdin.push(q.stdin ?? Buffer.alloc(0));
        reply = sendResponse(q.messageId);
      } else if (q.action === ACTIONS.receive) {
        // Like Windows, it keeps each reply under the MaxEnvelopeSize the client announced.
        pending ??= Buffer.from(Buffer.concat(stdin).toString('ascii').trim(), 'base64');
        const room = Math.floor((q.maxEnvelopeSize ?? 153_600) / 2);
        const part = pending.subarray(0, room);
        pending = pending.subarray(room);
        reply = receiveResponse(q.messageId, q.commandId ?? '', {
          stdout: part,
          ...(pending.length === 0 ? { stderr: Buffer.from(clixml, 'utf8'), done: { exitCode: 0 } } : {}),
        });
        receives++;
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
        stdin,
        receives: () => receives,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

describeTestbed('WinRM client: PowerShell through stdin, HTTPS and Identify on the test bed', () => {
  let certDir = '';
  beforeAll(() => {
    userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: PASSWORD }]);
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-client-cert-'));
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
        '-keyout',
        path.join(certDir, 'key.pem'),
        '-out',
        path.join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  });
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });
  afterAll(() => {
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('streams a long multi-line script through stdin in sealed Sends and decodes CLIXML stderr', async () => {
    const pc = await startScriptedPc();
    try {
      const endpoint = await startWinrmEndpoint({ mode: { backend: pc.url }, acceptor: { userFile } });
      endpoints.push(endpoint);
      // No MaxEnvelopeSize given: the session asks the PC (a Get of winrm/config) and uses its 40 KiB.
      const session = await trustedSession(endpoint, { maxEnvelopeSize: undefined });
      expect(session.maxEnvelopeSize).toBe(40 * 1024);
      const script = Array.from({ length: 3000 }, (_, i) => `Write-Output "line ${i} ✓"`).join('\r\n');
      const result = await session.runPowerShell(script);
      await session.close();
      expect(result.stdout).toBe(script);
      expect(result.stderr).toBe('Write-Error : ünïcødé failure');
      expect(result.code).toBe(0);
      expect(pc.stdin.length).toBeGreaterThan(2);
      expect(pc.receives()).toBeGreaterThan(2);
      const log = (await endpoint.requests()).filter((r) => !r.refused);
      expect(log.every((r) => r.encrypted)).toBe(true);
      expect(log.filter((r) => r.action === ACTIONS.send).length).toBe(pc.stdin.length);
      expect(log[0]!.action).toBe(ACTIONS.get);
    } finally {
      await pc.close();
    }
  });

  it('a connection dropped mid-command fails that command clearly; the next one authenticates a new connection', async () => {
    let dropped = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const q = parseRequest(Buffer.concat(chunks));
        let answer: object;
        if (q.action === ACTIONS.receive && dropped === 0) {
          dropped++;
          answer = { drop: true };
        } else if (q.action === ACTIONS.create)
          answer = {
            status: 200,
            body: createShellResponse(q.messageId, '11111111-2222-4333-8444-555555555555'),
          };
        else if (q.action === ACTIONS.command)
          answer = {
            status: 200,
            body: commandResponse(q.messageId, 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE'),
          };
        else if (q.action === ACTIONS.receive)
          answer = {
            status: 200,
            body: receiveResponse(q.messageId, q.commandId ?? '', {
              stdout: Buffer.from('back\r\n'),
              done: { exitCode: 0 },
            }),
          };
        else if (q.action === ACTIONS.signal) answer = { status: 200, body: signalResponse(q.messageId) };
        else answer = { status: 200, body: deleteResponse(q.messageId) };
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const backend = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const endpoint = await startWinrmEndpoint({ mode: { backend }, acceptor: { userFile } });
      endpoints.push(endpoint);
      const session = await trustedSession(endpoint);
      const error = (await session.run('wuauclt /detectnow').catch((e: unknown) => e)) as RemoteError;
      expect(error.kind).toBe('unreachable');
      expect(error.message).toBe('WIN1 closed the WinRM connection.');
      expect(session.isOpen).toBe(true);
      expect(await session.run('echo back')).toEqual({ stdout: 'back\r\n', stderr: '', code: 0 });
      await session.close();
      const log = (await endpoint.requests()).filter((r) => !r.refused && r.status !== 0);
      expect(new Set(log.map((r) => r.connection)).size).toBeGreaterThan(1);
      expect(log.every((r) => r.encrypted)).toBe(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('HTTPS: an unpinned certificate blocks before any credential; pinned, NTLM with channel binding and Basic run', async () => {
    const https = { cert: path.join(certDir, 'cert.pem'), key: path.join(certDir, 'key.pem') };
    const der = Buffer.from(
      fs
        .readFileSync(https.cert, 'utf8')
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    );
    const fingerprint = certificateFingerprint(der);
    const endpoint = await replay(path.join(WSMAN, 'test_winrs_standard.yml'), {
      https,
      basicUsers: userFile,
    });
    const base = optionsFor(endpoint, { https: true });
    const unknown = (await WinrmSession.connect(base).catch((e: unknown) => e)) as RemoteError;
    expect(unknown.kind).toBe('host-key-unknown');
    expect(unknown.details.presented).toMatchObject({ type: 'x509-certificate', fingerprint });
    expect((unknown.details.presented as { publicKey: string }).publicKey).toMatch(
      /^-----BEGIN CERTIFICATE-----\n/,
    );
    expect(await endpoint.requests()).toEqual([]);

    const session = await WinrmSession.connect({ ...base, pinnedCertificates: [fingerprint] });
    expect(session.identity).toMatchObject({ type: 'x509-certificate', fingerprint });
    expect(await session.run('cmd.exe /c echo hi')).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    await session.close();
    const log = (await endpoint.requests()).filter((r) => !r.refused);
    expect(log.map((r) => r.action)).toEqual(STANDARD_ACTIONS);
    expect(log.every((r) => r.tls)).toBe(true);

    const basic = await replay(path.join(WSMAN, 'test_winrs_standard.yml'), { https, basicUsers: userFile });
    const viaBasic = await WinrmSession.connect({
      ...optionsFor(basic, { https: true, pinnedCertificates: [fingerprint] }),
      login: { method: 'basic', domain: '', username: 'alice', password: PASSWORD },
    });
    expect((await viaBasic.run('cmd.exe /c echo hi')).stdout).toBe('hi\r\n');
    await viaBasic.close();
  });

  it('Basic over plain HTTP is refused before anything is sent', async () => {
    const error = (await WinrmSession.connect({
      ...optionsFor({ port: 1, url: '', stop: async () => {}, requests: async () => [] }),
      login: { method: 'basic', domain: '', username: 'alice', password: PASSWORD },
    }).catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('auth-failed');
    expect(error.message).toContain('only over HTTPS');
  });

  it('WS-Man Identify answers without credentials; a PC that refuses it gives null', async () => {
    const yes = await startWinrmEndpoint({
      mode: { replay: path.join(WSMAN, 'test_winrs_standard.yml') },
      acceptor: { userFile },
      identify: 'OS: 10.0.17763 SP: 0.0 Stack: 3.0',
    });
    endpoints.push(yes);
    const answer = await wsmanIdentify(
      { host: '127.0.0.1', port: yes.port, https: false },
      { timeoutMs: 5_000 },
    );
    expect(answer).toMatchObject({ productVersion: 'OS: 10.0.17763 SP: 0.0 Stack: 3.0' });
    expect(answer!.vendor).toMatch(/Microsoft/);
    const no = await startWinrmEndpoint({
      mode: { replay: path.join(WSMAN, 'test_winrs_standard.yml') },
      acceptor: { userFile },
      identify: '',
    });
    endpoints.push(no);
    expect(
      await wsmanIdentify({ host: '127.0.0.1', port: no.port, https: false }, { timeoutMs: 5_000 }),
    ).toBeNull();
  });
});

const describeDc = describeWithTestbed({ dc: true });

describeDc('WinRM client against the Samba AD DC (through winbind)', () => {
  let dc: DomainController;
  beforeAll(async () => {
    dc = await startDomainController();
  }, 240_000);
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });
  afterAll(async () => {
    await dc?.stop();
  });

  it('a domain account authenticates and runs the sealed session; a wrong password is refused', async () => {
    const endpoint = await startWinrmEndpoint({
      mode: { replay: path.join(WSMAN, 'test_winrs_standard.yml') },
      acceptor: 'domain',
    });
    endpoints.push(endpoint);
    const login = {
      method: 'ntlm' as const,
      domain: 'PATCHDECK',
      username: 'alice',
      password: dc.users.alice,
    };
    const session = await trustedSession(endpoint, { login });
    expect(await session.run('cmd.exe /c echo hi')).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    await session.close();
    const pin = session.identity.fingerprint;
    const wrong = (await WinrmSession.connect(
      optionsFor(endpoint, { pinnedNtlmIdentities: [pin], login: { ...login, password: 'Not-Alice-1!' } }),
    ).catch((e: unknown) => e)) as RemoteError;
    expect(wrong.kind).toBe('auth-failed');
  });
});
