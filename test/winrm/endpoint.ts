// The WinRM test bed's endpoint: starts test/winrm/endpoint.py (Debian's python3, gss-ntlmssp) on loopback.
//
// What works (see endpoint.py's docstring for the wire details):
// - replay mode ({ replay: 'test/fixtures/winrm/wsman/x.yml' }): the recorded Windows replies in recorded
//   order, RelatesTo = the request's MessageID, recorded faults with HTTP 500, every reply sealed;
// - backend mode ({ backend: 'http://127.0.0.1:N' }): each decrypted SOAP request is POSTed to the backend,
//   which answers JSON { status, body } or { drop: true };
// - acceptor 'domain' (the Samba DC of samba-dc.ts, through winbind) or { userFile } (NTLM_USER_FILE lines
//   DOMAIN:user:password, no DC needed);
// - NTLM per TCP connection (raw NTLMSSP under `Negotiate` or `NTLM`, SPNEGO-wrapped under `Negotiate`);
// - HTTPS ({ https: { cert, key } }): plain SOAP inside TLS, NTLM with channel bindings (a wrong binding is
//   refused; a missing one too with strictChannelBinding), Basic;
// - `port` to come back on the same port (a PC rebooting): stop() then start again with { port }.
// - WS-Man Identify: a POST with header `WSMANIDENTIFY: unauthenticated` is answered without authentication
//   (requests() shows it as action 'Identify', encrypted false: Windows answers it in plain text too).
// - maxEnvelopeSize: a longer SOAP request gets HTTP 413 unprocessed (what Windows does over its quota);
// - Kerberos logins through SPNEGO with `kerberos` (the DC's krb5.conf and HTTP keytab), not Kerberos-sealed bodies;
// - derived replay scenarios may mark messages `optional: true` / `repeat: true` (see endpoint.py).
// A plaintext SOAP body over HTTP — also one sent on the first, unauthenticated leg of the handshake — is
// recorded (requests(): encrypted false, refused true) and refused with HTTP 400 (401 on the auth legs).
// Clients should authenticate with an empty POST first, then send sealed bodies (what Windows expects).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'vitest';

export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(import.meta.dirname, 'endpoint.py');
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export type EndpointMode = { replay: string } | { backend: string };
export type EndpointAcceptor = 'domain' | { userFile: string };

export interface WinrmEndpointOptions {
  mode: EndpointMode;
  acceptor: EndpointAcceptor;
  https?: { cert: string; key: string };
  /** Listen on this loopback address (127.0.0.0/8; default 127.0.0.1), e.g. 5985 of a PC's own address. */
  address?: string;
  /** Listen on this port (0 or absent: any free port). */
  port?: number;
  /** HTTPS Basic users (NTLM_USER_FILE format); default: the acceptor's user file. */
  basicUsers?: string;
  /** HTTPS: refuse an NTLM login without channel bindings (Windows' CbtHardeningLevel=Strict). A wrong binding is always refused. */
  strictChannelBinding?: boolean;
  /** The host's MaxEnvelopeSize in bytes: a longer SOAP request (after decryption) gets HTTP 413, unprocessed. */
  maxEnvelopeSize?: number;
  /** Kerberos through SPNEGO (`Negotiate` with a Kerberos token): the DC's krb5.conf and the keytab of HTTP/…; login only (no Kerberos-sealed bodies). */
  kerberos?: { krb5Conf: string; keytab: string };
  /** ProductVersion of the unauthenticated WS-Man Identify answer; '' refuses Identify (HTTP 401). */
  identify?: string;
}

export interface EndpointRequest {
  /** wsa:Action of the SOAP body ('' when it could not be read, e.g. a body that did not decrypt; 'Identify'). */
  action: string;
  /** The body came in MS-WSMV multipart/encrypted framing. */
  encrypted: boolean;
  /** The connection was HTTPS. */
  tls: boolean;
  /** HTTP status the endpoint answered (0: the connection was dropped on the backend's word). */
  status: number;
  /** The body was not processed (plaintext, sent before authentication, undecryptable, auth failure). */
  refused: boolean;
  reason: string;
  /** Number of the TCP connection (1, 2, …) in accept order. */
  connection: number;
}

export interface WinrmEndpoint {
  port: number;
  url: string;
  stop(): Promise<void>;
  requests(): Promise<EndpointRequest[]>;
}

/** Environment for Debian's python3 and python3-winrm: no proxy, MD4 through OpenSSL's legacy provider. */
export function testbedPythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) {
    delete env[k];
  }
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  delete env.NTLM_USER_FILE;
  env.NO_PROXY = '127.0.0.1,localhost';
  env.no_proxy = '127.0.0.1,localhost';
  env.OPENSSL_CONF = legacyOpensslConf();
  return { ...env, ...extra };
}

let opensslConf: string | null = null;
/** An OpenSSL config that activates the default and legacy providers (python's hashlib MD4 for NTLM). */
export function legacyOpensslConf(): string {
  if (opensslConf && fs.existsSync(opensslConf)) return opensslConf;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-openssl-'));
  const file = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(
    file,
    [
      'openssl_conf = openssl_init',
      '[openssl_init]',
      'providers = provider_sect',
      '[provider_sect]',
      'default = default_sect',
      'legacy = legacy_sect',
      '[default_sect]',
      'activate = 1',
      '[legacy_sect]',
      'activate = 1',
      '',
    ].join('\n'),
  );
  opensslConf = file;
  return file;
}

/** Writes an NTLM_USER_FILE (DOMAIN:user:password per line) for a standalone acceptor; mode 0600. */
export function writeNtlmUserFile(
  users: Array<{ domain: string; username: string; password: string }>,
): string {
  for (const u of users) {
    if (
      [u.domain, u.username].some((s) => s.includes(':') || /[\r\n]/.test(s)) ||
      /[\r\n]/.test(u.password)
    ) {
      throw new Error('NTLM user file fields cannot hold ":" (domain, user) or line breaks');
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-winrm-users-'));
  const file = path.join(dir, 'users');
  fs.writeFileSync(file, users.map((u) => `${u.domain}:${u.username}:${u.password}\n`).join(''), {
    mode: 0o600,
  });
  return file;
}

/**
 * What the test bed lacks on this machine ([] when complete). `dc` adds the Samba AD DC's needs.
 * Tests fail on a non-empty list when CI=true (nothing may skip there) and skip, saying why, elsewhere.
 */
export function missingTestbedParts(options: { dc?: boolean; winrmClient?: boolean } = {}): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(SYSTEM_PYTHON)) return [`${SYSTEM_PYTHON} (Debian's python3)`];
  const modules = ['gssapi', 'yaml', ...(options.winrmClient ? ['winrm', 'requests_ntlm'] : [])];
  for (const m of modules) {
    const r = spawnSync(SYSTEM_PYTHON, ['-c', `import ${m}`], { env: testbedPythonEnv(), timeout: 20_000 });
    if (r.status !== 0)
      missing.push(`python module ${m} (apt-get install python3-${m === 'yaml' ? 'yaml' : m})`);
  }
  const mechs = fs.existsSync('/etc/gss/mech.d') ? fs.readdirSync('/etc/gss/mech.d') : [];
  if (!mechs.some((f) => f.includes('ntlmssp'))) missing.push('gss-ntlmssp (apt-get install gss-ntlmssp)');
  if (options.dc) {
    if (process.getuid && process.getuid() !== 0) missing.push('root (samba runs the test DC as root)');
    for (const bin of ['/usr/sbin/samba', '/usr/bin/samba-tool', '/usr/bin/wbinfo', '/usr/sbin/winbindd']) {
      if (!fs.existsSync(bin)) missing.push(`${bin} (apt-get install samba winbind)`);
    }
    if (!fs.existsSync('/usr/share/samba/setup/ad-schema')) {
      missing.push('samba-ad-provision (apt-get install samba-ad-provision)');
    }
    if (!fs.existsSync('/usr/lib/x86_64-linux-gnu/samba/vfs/acl_xattr.so') && !hasVfsModule()) {
      missing.push('samba-vfs-modules (apt-get install samba-vfs-modules)');
    }
  }
  return missing;
}

/**
 * describe() for suites that need the test bed: runs them when it is complete; otherwise, with CI=true,
 * a failing test names what is missing (nothing may skip in CI); elsewhere the suite skips and says why.
 */
export function describeWithTestbed(
  options: { dc?: boolean; winrmClient?: boolean } = {},
): (name: string, body: () => void) => void {
  const missing = missingTestbedParts(options);
  if (missing.length === 0) return (name, body) => describe(name, body);
  if (process.env.CI === 'true') {
    return (name) =>
      describe(name, () => {
        it('has the WinRM test bed installed', () => {
          throw new Error(`the WinRM test bed is incomplete: ${missing.join('; ')}`);
        });
      });
  }
  return (name, body) => {
    console.warn(`skipping "${name}": the WinRM test bed lacks ${missing.join('; ')}`);
    describe.skip(name, body);
  };
}

function hasVfsModule(): boolean {
  const r = spawnSync('sh', ['-c', 'ls /usr/lib/*/samba/vfs/acl_xattr.so'], { timeout: 5_000 });
  return r.status === 0;
}

export async function startWinrmEndpoint(options: WinrmEndpointOptions): Promise<WinrmEndpoint> {
  const args = [SCRIPT, '--exit-with-stdin', '--port', String(options.port ?? 0)];
  if (options.address) args.push('--address', options.address);
  if ('replay' in options.mode) args.push('--replay', path.resolve(options.mode.replay));
  else args.push('--backend', options.mode.backend);
  args.push('--acceptor', options.acceptor === 'domain' ? 'domain' : path.resolve(options.acceptor.userFile));
  if (options.https) args.push('--cert', options.https.cert, '--key', options.https.key);
  if (options.basicUsers) args.push('--basic-users', options.basicUsers);
  if (options.strictChannelBinding) args.push('--strict-cbt');
  if (options.maxEnvelopeSize) args.push('--max-envelope', String(options.maxEnvelopeSize));
  if (options.identify !== undefined) args.push('--identify', options.identify);

  // stdin stays open and unused: the endpoint exits when it closes, so a killed test leaves no endpoint behind.
  const kerberos: Record<string, string> = options.kerberos
    ? { KRB5_CONFIG: options.kerberos.krb5Conf, KRB5_KTNAME: `FILE:${options.kerberos.keytab}` }
    : {};
  const child = spawn(SYSTEM_PYTHON, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: testbedPythonEnv(kerberos),
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 64 * 1024) stderr += s;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      fail(new Error(`the WinRM endpoint did not start within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`));
    }, START_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      const m = /^PORT (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      } else if (out.length > 4096) fail(new Error('the WinRM endpoint printed no port'));
    });
    child.once('exit', (code, signal) => {
      fail(new Error(`the WinRM endpoint exited (${code ?? signal}) before listening: ${stderr.trim()}`));
    });
  });
  const scheme = options.https ? 'https' : 'http';
  return {
    port,
    url: `${scheme}://${options.address ?? '127.0.0.1'}:${port}/wsman`,
    stop: () => stopChild(child),
    requests: () => fetchRequests(options.address ?? '127.0.0.1', port, options.https !== undefined),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function fetchRequests(address: string, port: number, tls: boolean): Promise<EndpointRequest[]> {
  // The control page is on the endpoint's own port (so over TLS when the endpoint is HTTPS).
  const get = tls ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(
      {
        host: address,
        port,
        path: '/testbed/requests',
        agent: false,
        timeout: 10_000,
        ...(tls ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as EndpointRequest[]);
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('the endpoint did not answer /testbed/requests')));
    req.on('error', reject);
  });
}
