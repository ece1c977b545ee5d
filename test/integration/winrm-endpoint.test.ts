import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  SYSTEM_PYTHON,
  describeWithTestbed,
  startWinrmEndpoint,
  testbedPythonEnv,
  writeNtlmUserFile,
  type EndpointRequest,
  type WinrmEndpoint,
} from '../winrm/endpoint';
import { startDomainController, withSambaLock, type DomainController } from '../winrm/samba-dc';
import {
  ACTIONS,
  commandResponse,
  createShellResponse,
  deleteResponse,
  parseRequest,
  receiveResponse,
  sendResponse,
  signalResponse,
} from '../winrm/soap-replies';

/**
 * The WinRM test bed is faithful, not tuned to Patchdeck's client: python3-winrm, an independent client,
 * runs a fully sealed cmd shell (message_encryption='always') against the endpoint, which authenticates it
 * with a real NTLM acceptor (gss-ntlmssp: standalone user file, then the Samba DC through winbind) and
 * answers with the replies a real Windows Server recorded. A wrong password and a plaintext client fail.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const STANDARD = path.join(ROOT, 'test/fixtures/winrm/wsman/test_winrs_standard.yml');
const SCENARIOS = path.join(ROOT, 'test/fixtures/winrm/scenarios');
const PASSWORD = 'Standalone-Pa55!';
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
  encryption: 'always' | 'never' | 'auto';
  transport?: 'ntlm' | 'basic';
  ca?: string;
  arguments?: string[];
  /** base64 chunks, one rsp:Send each */
  stdin?: string[];
}): Promise<ClientResult> {
  const input = JSON.stringify({ arguments: ['/c', 'echo', 'hi'], ...options, command: 'cmd.exe' });
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

/** SPNEGO/Kerberos login with python-gssapi (an empty POST, as WinRM clients start); prints status and mutual check. */
const KERBEROS_LOGIN = [
  'import sys, base64, gssapi, http.client',
  "name = gssapi.Name('HTTP/win1.patchdeck.test@PATCHDECK.TEST', gssapi.NameType.kerberos_principal)",
  'flags = gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.integrity',
  "ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=gssapi.OID.from_int_seq('1.3.6.1.5.5.2'), flags=flags)",
  "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=30)",
  "c.request('POST', '/wsman', body=b'', headers={'Authorization': 'Negotiate ' + base64.b64encode(ctx.step()).decode()})",
  'r = c.getresponse(); r.read()',
  "ctx.step(base64.b64decode(r.getheader('WWW-Authenticate', '').split(' ', 1)[1]))",
  "print(r.status, 'mutual ok' if ctx.complete else 'mutual missing')",
].join('\n');

const processed = (log: EndpointRequest[]) => log.filter((r) => !r.refused);

const describeTestbed = describeWithTestbed({ winrmClient: true });
const describeWithDc = describeWithTestbed({ winrmClient: true, dc: true });

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

/** One raw HTTP exchange on its own connection: the status (0 when the endpoint closed without answering). */
function rawPost(port: number, headers: Record<string, string>, body: Buffer | string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/wsman', method: 'POST', agent: false, headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(0) : reject(e),
    );
    req.end(body);
  });
}

describeTestbed('WinRM endpoint against hostile requests', () => {
  let endpoint: WinrmEndpoint;
  beforeAll(async () => {
    endpoint = await startWinrmEndpoint({ mode: { replay: STANDARD }, acceptor: { userFile: userFile() } });
  });
  afterAll(async () => {
    await endpoint?.stop();
  });

  it('answers garbage tokens, oversized and unframed bodies with an error and keeps serving', async () => {
    const soap = { 'Content-Type': 'application/soap+xml;charset=UTF-8' };
    expect(await rawPost(endpoint.port, { ...soap, Authorization: 'Negotiate %%%not-base64%%%' }, '')).toBe(
      400,
    );
    const junk = Buffer.from('NTLMSSP\0\x03\0\0\0' + 'A'.repeat(64), 'latin1').toString('base64');
    expect(await rawPost(endpoint.port, { ...soap, Authorization: `Negotiate ${junk}` }, '')).toBe(401);
    const big = await rawPost(endpoint.port, soap, Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect([0, 413]).toContain(big);
    const unframed = await rawPost(
      endpoint.port,
      { 'Content-Type': 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"' },
      '--Encrypted Boundary\r\nnonsense',
    );
    expect(unframed).toBe(401); // no context on this connection: a login is asked for, nothing decrypted
    expect(await alice(endpoint.url)).toMatchObject({ ok: true, stdout: 'hi\r\n' });
    expect((await endpoint.requests()).filter((q) => !q.refused).map((q) => q.action)).toEqual(
      STANDARD_ACTIONS,
    );
  });
});

describeWithDc('WinRM endpoint with the Samba AD DC as acceptor', () => {
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

  it("Kerberos: alice's ticket from the DC's KDC logs in through SPNEGO, with mutual authentication", async () => {
    const krb = await startWinrmEndpoint({
      mode: { replay: STANDARD },
      acceptor: 'domain',
      kerberos: { krb5Conf: dc.krb5Conf, keytab: dc.httpKeytab },
    });
    try {
      const ccache = `FILE:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pd-krb-')), 'ccache')}`;
      const env = testbedPythonEnv({ KRB5_CONFIG: dc.krb5Conf, KRB5CCNAME: ccache });
      const kinit = spawnSync('kinit', ['alice@PATCHDECK.TEST'], {
        input: `${dc.users.alice}\n`,
        env,
        timeout: 30_000,
      });
      expect(kinit.status).toBe(0);
      const r = spawnSync(SYSTEM_PYTHON, ['-c', KERBEROS_LOGIN, String(krb.port)], {
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('200 mutual ok');
    } finally {
      await krb.stop();
    }
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

function userFile(): string {
  return writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password: PASSWORD }]);
}

const alice = (url: string, extra: Partial<Parameters<typeof pywinrm>[0]> = {}) =>
  pywinrm({ url, username: 'PATCHDECK\\alice', password: PASSWORD, encryption: 'always', ...extra });

describeTestbed('WinRM endpoint replaying the derived scenarios', () => {
  const started: WinrmEndpoint[] = [];
  const replay = async (file: string) => {
    const e = await startWinrmEndpoint({
      mode: { replay: path.join(SCENARIOS, file) },
      acceptor: { userFile: userFile() },
    });
    started.push(e);
    return e;
  };
  afterAll(async () => {
    await Promise.all(started.map((e) => e.stop()));
  });

  it('w:TimedOut goes out with HTTP 500 in a shape python3-winrm recognises: it receives again', async () => {
    const e = await replay('receive_timed_out.yml');
    expect(await alice(e.url)).toEqual({ ok: true, stdout: 'hi\r\n', stderr: '', code: 0 });
    const receives = (await e.requests()).filter((q) => q.action === ACTIONS.receive);
    expect(receives.map((q) => q.status)).toEqual([500, 200]);
  });

  it('w:InvalidSelectors ends the session as a WinRM error naming the shell', async () => {
    const e = await replay('receive_invalid_selectors.yml');
    const r = await alice(e.url);
    expect(r).toMatchObject({ ok: false, error: 'WinRMError' });
    expect(r.ok ? '' : r.message).toContain('2150858843');
  });

  it('a large output over three Receives arrives whole', async () => {
    const e = await replay('large_output.yml');
    const r = await alice(e.url);
    expect(r.ok).toBe(true);
    const lines = r.ok ? r.stdout.split('\r\n').filter(Boolean) : [];
    expect(lines).toHaveLength(6000);
    expect(lines[5999]).toBe('line 006000 of a long listing from WIN1');
    expect((await e.requests()).filter((q) => q.action === ACTIONS.receive)).toHaveLength(3);
  });

  it('a new TCP connection is not authenticated by an earlier one', async () => {
    const e = await replay('receive_timed_out.yml');
    expect((await alice(e.url)).ok).toBe(true);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: e.port,
          path: '/wsman',
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'application/soap+xml;charset=UTF-8' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('<s:Envelope/>');
    });
    expect(status).toBe(401);
  });
});

/** A fake PC: echoes the command's arguments after `/c echo`, or drops the connection when told. */
function startFakePc(): Promise<{
  url: string;
  dropReceives: (on: boolean) => void;
  close: () => Promise<void>;
}> {
  let drop = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const q = parseRequest(Buffer.concat(chunks));
      let body = '';
      if (q.action === ACTIONS.create) body = createShellResponse(q.messageId, 'SHELL-1');
      else if (q.action === ACTIONS.command) {
        // python3-winrm sends the arguments as one rsp:Arguments text, Windows' own winrs as several
        const words = [q.command ?? '', ...(q.arguments ?? [])].join(' ').split(' ');
        lastOutput = `${words.slice(words.indexOf('echo') + 1).join(' ')}\r\n`;
        body = commandResponse(q.messageId, 'COMMAND-1');
      } else if (q.action === ACTIONS.send) {
        stdin.push(q.stdin ?? Buffer.alloc(0));
        if (q.stdinEnd) lastOutput = Buffer.concat(stdin).toString('utf8');
        body = sendResponse(q.messageId);
      } else if (q.action === ACTIONS.receive) {
        if (drop) {
          res.end(JSON.stringify({ drop: true }));
          return;
        }
        body = receiveResponse(q.messageId, 'COMMAND-1', {
          stdout: Buffer.from(lastOutput),
          done: { exitCode: 0 },
        });
      } else if (q.action === ACTIONS.signal) body = signalResponse(q.messageId);
      else if (q.action === ACTIONS.delete) body = deleteResponse(q.messageId);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body ? { status: 200, body } : { status: 500, body: '' }));
    });
  });
  let lastOutput = '';
  const stdin: Buffer[] = [];
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        dropReceives: (on) => (drop = on),
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

describeTestbed('WinRM endpoint with a small MaxEnvelopeSize', () => {
  let endpoint: WinrmEndpoint;
  beforeAll(async () => {
    endpoint = await startWinrmEndpoint({
      mode: { replay: STANDARD },
      acceptor: { userFile: userFile() },
      maxEnvelopeSize: 3000,
    });
  });
  afterAll(async () => {
    await endpoint?.stop();
  });

  it('refuses a sealed request longer than it with HTTP 413 and does not process it', async () => {
    const r = await alice(endpoint.url, { arguments: ['/c', 'echo', 'x'.repeat(4000)] });
    expect(r).toMatchObject({ ok: false, error: 'WinRMTransportError' });
    expect(r.ok ? '' : r.message).toContain('413');
    const log = await endpoint.requests();
    expect(log.map((q) => [q.action, q.status, q.refused])).toEqual([
      [ACTIONS.create, 200, false],
      [ACTIONS.command, 413, true],
    ]);
  });
});

describeTestbed('WinRM endpoint in backend mode (a fake PC behind real sealing)', () => {
  let pc: Awaited<ReturnType<typeof startFakePc>>;
  let endpoint: WinrmEndpoint | null = null;
  const users = userFile();
  beforeAll(async () => {
    pc = await startFakePc();
  });
  afterAll(async () => {
    await endpoint?.stop();
    await pc?.close();
  });

  it('forwards each decrypted request and seals the answer; a drop closes the connection; the PC comes back on its port', async () => {
    endpoint = await startWinrmEndpoint({ mode: { backend: pc.url }, acceptor: { userFile: users } });
    expect(await alice(endpoint.url, { arguments: ['/c', 'echo', 'from', 'the', 'backend'] })).toEqual({
      ok: true,
      stdout: 'from the backend\r\n',
      stderr: '',
      code: 0,
    });
    expect((await endpoint.requests()).every((q) => q.encrypted && !q.refused)).toBe(true);

    pc.dropReceives(true);
    const dropped = await alice(endpoint.url);
    expect(dropped.ok).toBe(false);
    expect(
      (await endpoint.requests()).some((q) => q.action === ACTIONS.receive && q.reason === 'dropped'),
    ).toBe(true);

    // stdin in two Sends: the fake PC answers with what it read (parsed from python3-winrm's own Send bodies)
    pc.dropReceives(false);
    const piped = await alice(endpoint.url, {
      arguments: ['/c', 'more'],
      stdin: [
        Buffer.from('first half, ').toString('base64'),
        Buffer.from('second half\r\n').toString('base64'),
      ],
    });
    expect(piped).toMatchObject({ ok: true, stdout: 'first half, second half\r\n' });
    expect((await endpoint.requests()).filter((q) => q.action === ACTIONS.send && q.encrypted)).toHaveLength(
      2,
    );

    // the PC reboots: away, then back on the same port
    const { port } = endpoint;
    await endpoint.stop();
    endpoint = null;
    pc.dropReceives(false);
    const away = await alice(`http://127.0.0.1:${port}/wsman`);
    expect(away).toMatchObject({ ok: false, error: 'ConnectionError' });
    endpoint = await startWinrmEndpoint({ mode: { backend: pc.url }, acceptor: { userFile: users }, port });
    expect(endpoint.port).toBe(port);
    expect(await alice(endpoint.url, { arguments: ['/c', 'echo', 'back'] })).toMatchObject({
      ok: true,
      stdout: 'back\r\n',
    });
  });
});

function selfSignedCertificate(): { cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync(
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
      '-addext',
      'subjectAltName=DNS:win1.patchdeck.test,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert, key };
}

/** requests_ntlm's handshake alone (an empty POST), with or without channel bindings: the HTTP status. */
function ntlmLoginStatus(url: string, ca: string, sendCbt: boolean): number {
  const script = [
    'import sys, requests, requests_ntlm',
    's = requests.Session(); s.trust_env = False; s.verify = sys.argv[2]',
    's.auth = requests_ntlm.HttpNtlmAuth(sys.argv[3], sys.argv[4], send_cbt=sys.argv[5] == "1")',
    'print(s.post(sys.argv[1], data=b"", timeout=30).status_code)',
  ].join('\n');
  const r = spawnSync(
    SYSTEM_PYTHON,
    ['-c', script, url, ca, 'PATCHDECK\\alice', PASSWORD, sendCbt ? '1' : '0'],
    {
      encoding: 'utf8',
      env: testbedPythonEnv(),
      timeout: 60_000,
    },
  );
  if (r.status !== 0) throw new Error(`requests_ntlm failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

describeTestbed('WinRM endpoint over HTTPS', () => {
  const tls = selfSignedCertificate();
  const started: WinrmEndpoint[] = [];
  const start = async (strictChannelBinding = false) => {
    const e = await startWinrmEndpoint({
      mode: { replay: STANDARD },
      acceptor: { userFile: userFile() },
      https: tls,
      strictChannelBinding,
    });
    started.push(e);
    return e;
  };
  afterAll(async () => {
    await Promise.all(started.map((e) => e.stop()));
  });

  it('python3-winrm runs the session with NTLM and channel bindings, plain SOAP inside TLS', async () => {
    const e = await start();
    expect(e.url.startsWith('https://127.0.0.1:')).toBe(true);
    expect(await alice(e.url, { encryption: 'auto', ca: tls.cert })).toMatchObject({
      ok: true,
      stdout: 'hi\r\n',
      code: 0,
    });
    const done = (await e.requests()).filter((q) => !q.refused);
    expect(done.map((q) => q.action)).toEqual(STANDARD_ACTIONS);
    expect(done.every((q) => q.tls && !q.encrypted)).toBe(true);
  });

  it('python3-winrm runs the session with Basic (a local account)', async () => {
    const e = await start();
    const r = await pywinrm({
      url: e.url,
      username: 'alice',
      password: PASSWORD,
      encryption: 'auto',
      transport: 'basic',
      ca: tls.cert,
    });
    expect(r).toMatchObject({ ok: true, stdout: 'hi\r\n', code: 0 });
    const wrong = await pywinrm({
      url: e.url,
      username: 'alice',
      password: 'nope',
      encryption: 'auto',
      transport: 'basic',
      ca: tls.cert,
    });
    expect(wrong).toMatchObject({ ok: false, error: 'InvalidCredentialsError' });
  });

  it('strict channel binding refuses an NTLM login without bindings and accepts one with them', async () => {
    const e = await start(true);
    expect(ntlmLoginStatus(e.url, tls.cert, false)).toBe(401);
    expect(ntlmLoginStatus(e.url, tls.cert, true)).toBe(200);
    expect((await e.requests()).some((q) => q.reason === 'authentication failed: no channel binding')).toBe(
      true,
    );
  });
});

describeTestbed('WinRM endpoint: unauthenticated WS-Man Identify', () => {
  let endpoint: WinrmEndpoint;
  beforeAll(async () => {
    endpoint = await startWinrmEndpoint({
      mode: { replay: STANDARD },
      acceptor: { userFile: userFile() },
      identify: 'OS: 10.0.20348 SP: 0.0 Stack: 3.0',
    });
  });
  afterAll(async () => {
    await endpoint?.stop();
  });

  it('answers Identify without a login, as Windows does', async () => {
    const body =
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>';
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: endpoint.port,
          path: '/wsman',
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'application/soap+xml;charset=UTF-8', WSMANIDENTIFY: 'unauthenticated' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>');
    expect(reply.text).toContain(
      '<wsmid:ProductVersion>OS: 10.0.20348 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>',
    );
  });
});
