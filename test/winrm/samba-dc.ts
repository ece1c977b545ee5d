// A Samba AD domain controller on loopback for the WinRM test bed: realm PATCHDECK.TEST, domain PATCHDECK.
//
// Network safety: it listens on `lo` only (interfaces = lo, bind interfaces only), its file server (smbd), DNS server, DNS
// updates and NetBIOS services are off, `dns forwarder` is 127.0.0.1 (set before the first start), and
// krb5.conf names the KDC by address: the DC never sends a packet off the machine.
//
// It is single-instance per machine: winbindd's socket is the shared /run/samba/winbindd/pipe that wbinfo
// and gss-ntlmssp use. Commands that start it hold `flock /tmp/patchdeck-samba.lock`; inside vitest,
// withSambaLock() serialises test files with a PID lock file of its own (/tmp/patchdeck-samba-dc.lock: a
// second flock on the flock file would deadlock under a `flock … npx vitest` wrapper holding it).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const DC_REALM = 'PATCHDECK.TEST' as const;
export const DC_DOMAIN = 'PATCHDECK' as const;
/** Test-only passwords of the test domain (they meet AD's complexity rule). */
export const DC_USERS = { alice: 'Alice-Pa55word!', bob: 'Bob-Pa55word!' } as const;
const ADMIN_PASSWORD = 'Admin-Pa55word!';
const WEB_SERVICE = { user: 'websvc', password: 'Websvc-Pa55word!', spn: 'HTTP/win1.patchdeck.test' };
const SAMBA = '/usr/sbin/samba';
const STAMP_VERSION = 3;
const LOCK_FILE = '/tmp/patchdeck-samba-dc.lock';
const READY_TIMEOUT_MS = 90_000;

export interface DomainController {
  realm: typeof DC_REALM;
  domain: typeof DC_DOMAIN;
  users: { alice: string; bob: string };
  dir: string;
  /** krb5.conf naming the KDC on 127.0.0.1 (KRB5_CONFIG) and the keytab of HTTP/win1.patchdeck.test. */
  krb5Conf: string;
  httpKeytab: string;
  pid: number;
  stop(): Promise<void>;
}

function dcDir(): string {
  return process.env.PATCHDECK_SAMBA_DC_DIR ?? '/tmp/patchdeck-samba-dc';
}

function run(cmd: string, args: string[], timeoutMs = 120_000): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.slice(-4000) };
}

function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (!r.ok) throw new Error(`${cmd} ${args[0] ?? ''} failed: ${r.out.trim()}`);
  return r.out;
}

function exeOf(pid: number): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function provisioned(dir: string): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, 'patchdeck-provisioned.json'), 'utf8')) as {
      version?: number;
    };
    return (
      stamp.version === STAMP_VERSION &&
      fs.existsSync(path.join(dir, 'etc', 'smb.conf')) &&
      fs.existsSync(path.join(dir, 'private', 'sam.ldb'))
    );
  } catch {
    return false;
  }
}

/** smb.conf changes made before the first start: loopback only, nothing that talks off the machine. */
function hardenConfig(conf: string, dir: string): void {
  const kept = fs
    .readFileSync(conf, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(dns forwarder|log file|logging|server services|pid directory)\s*=/i.test(l));
  const at = kept.findIndex((l) => l.trim() === '[global]');
  if (at < 0) throw new Error(`no [global] section in ${conf}`);
  kept.splice(
    at + 1,
    0,
    '\tdns forwarder = 127.0.0.1',
    '\tserver services = -s3fs -dns -dnsupdate -nbt -wrepl',
    '\tdns update command = /bin/true',
    '\tspn update command = /bin/true',
    `\tpid directory = ${path.join(dir, 'run')}`,
    `\tlog file = ${path.join(dir, 'log', 'log.%m')}`,
    '\tlogging = file',
    '\tprefork children = 1',
    '\tinterfaces = lo',
    '\tbind interfaces only = yes',
  );
  // interfaces / bind interfaces only were given at provisioning too; keep one copy of each.
  const seen = new Set<string>();
  const lines = kept.filter((l) => {
    const m = /^\s*(interfaces|bind interfaces only)\s*=/i.exec(l);
    if (!m?.[1]) return true;
    const key = m[1].toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  fs.writeFileSync(conf, lines.join('\n'));
}

function provision(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'log'), { recursive: true });
  must('samba-tool', [
    'domain',
    'provision',
    `--targetdir=${dir}`,
    `--realm=${DC_REALM}`,
    `--domain=${DC_DOMAIN}`,
    '--server-role=dc',
    '--dns-backend=SAMBA_INTERNAL',
    '--host-ip=127.0.0.1',
    '--option=interfaces=lo',
    '--option=bind interfaces only=yes',
    '--option=dns forwarder=127.0.0.1',
    `--option=pid directory=${path.join(dir, 'run')}`,
    `--adminpass=${ADMIN_PASSWORD}`,
  ]);
  const conf = path.join(dir, 'etc', 'smb.conf');
  hardenConfig(conf, dir);
  const s = ['-s', conf];
  for (const [user, password] of Object.entries(DC_USERS)) {
    must('samba-tool', ['user', 'create', user, password, ...s]);
    must('samba-tool', ['user', 'setexpiry', user, '--noexpiry', ...s]);
  }
  must('samba-tool', ['user', 'create', WEB_SERVICE.user, WEB_SERVICE.password, ...s]);
  must('samba-tool', ['user', 'setexpiry', WEB_SERVICE.user, '--noexpiry', ...s]);
  must('samba-tool', ['spn', 'add', WEB_SERVICE.spn, WEB_SERVICE.user, ...s]);
  must('samba-tool', [
    'domain',
    'exportkeytab',
    path.join(dir, 'http.keytab'),
    `--principal=${WEB_SERVICE.spn}`,
    ...s,
  ]);
  fs.writeFileSync(
    path.join(dir, 'krb5.conf'),
    [
      '[libdefaults]',
      `  default_realm = ${DC_REALM}`,
      '  dns_lookup_realm = false',
      '  dns_lookup_kdc = false',
      '  rdns = false',
      '[realms]',
      `  ${DC_REALM} = {`,
      '    kdc = 127.0.0.1',
      '  }',
      '[domain_realm]',
      `  .patchdeck.test = ${DC_REALM}`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'patchdeck-provisioned.json'), JSON.stringify({ version: STAMP_VERSION }));
}

/** A samba left running from our dir by a crashed run (its pid file is in our dir): ours to stop. */
async function stopStale(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'run', 'samba.pid');
  const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : 0);
  if (pid > 0 && exeOf(pid) === SAMBA) await stopSamba(pid);
}

/** Another winbindd (e.g. the system's) would own /run/samba/winbindd/pipe and answer for a wrong domain. */
function foreignWinbindd(): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (exeOf(pid) === '/usr/sbin/winbindd') return pid;
  }
  return null;
}

async function stopSamba(pid: number): Promise<void> {
  if (exeOf(pid) !== SAMBA) return; // not (or no longer) our samba: never signal a stranger
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 15_000;
  while (alive(pid) && exeOf(pid) === SAMBA && Date.now() < deadline) await sleep(100);
  // Its children (winbindd, smbd, the prefork workers) are in the process group we created for it.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    return; // the group is already gone
  }
  // Wait for the group to be gone, so that a DC started next finds its ports and /run/samba free.
  const groupDeadline = Date.now() + 10_000;
  while (Date.now() < groupDeadline) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function startOnce(dir: string): Promise<DomainController> {
  await stopStale(dir);
  const other = foreignWinbindd();
  if (other !== null) {
    throw new Error(
      `a winbindd is already running (PID ${other}); the test DC needs /run/samba to itself: stop that service first`,
    );
  }
  const conf = path.join(dir, 'etc', 'smb.conf');
  const log = fs.openSync(path.join(dir, 'log', 'samba.stdout'), 'w');
  const child = spawn(SAMBA, ['-s', conf, '-i', '--debug-stdout'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error('samba did not start');
  child.unref();
  const stop = () => stopSamba(pid);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || !alive(pid)) {
      const tail = fs.readFileSync(path.join(dir, 'log', 'samba.stdout'), 'utf8').slice(-2000);
      throw new Error(`samba exited before it was ready: ${tail}`);
    }
    const r = run('wbinfo', ['-a', `${DC_DOMAIN}\\alice%${DC_USERS.alice}`], 10_000);
    if (r.ok && r.out.includes('challenge/response password authentication succeeded')) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the DC did not authenticate alice within ${READY_TIMEOUT_MS} ms: ${r.out.trim()}`);
    }
    await sleep(300);
  }
  return {
    realm: DC_REALM,
    domain: DC_DOMAIN,
    users: { ...DC_USERS },
    dir,
    krb5Conf: path.join(dir, 'krb5.conf'),
    httpKeytab: path.join(dir, 'http.keytab'),
    pid,
    stop,
  };
}

/**
 * Starts the test DC (provisioning it once into a cached dir, again if that dir is broken) and resolves
 * when winbind authenticates alice. The caller holds the Samba lock (withSambaLock or the flock wrapper).
 */
export async function startDomainController(): Promise<DomainController> {
  const dir = dcDir();
  if (!provisioned(dir)) provision(dir);
  try {
    return await startOnce(dir);
  } catch (e) {
    if (String(e).includes('winbindd is already running')) throw e;
    provision(dir); // a cached dir that no longer starts: start again from scratch, once
    return startOnce(dir);
  }
}

function lockOwner(): number | null {
  try {
    return Number(fs.readFileSync(LOCK_FILE, 'utf8').split(' ')[0] ?? '0');
  } catch {
    return null;
  }
}

/** Takes the machine-wide test DC lock; resolves to its release. Stale locks (dead owner) are taken over. */
export async function acquireSambaLock(timeoutMs = 15 * 60_000): Promise<() => void> {
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, token, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = lockOwner();
      if (owner === null) continue; // released between our open and our read
      if (!owner || !alive(owner)) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`the test DC lock ${LOCK_FILE} is held by PID ${owner}`, { cause: e });
      }
      await sleep(500);
    }
  }
  return () => {
    try {
      if (fs.readFileSync(LOCK_FILE, 'utf8') === token) fs.rmSync(LOCK_FILE, { force: true });
    } catch {
      /* already gone */
    }
  };
}

/**
 * withSambaLock(): file-level, for a vitest file (holds the lock from beforeAll to afterAll).
 * withSambaLock(fn): runs fn holding the lock.
 */
export function withSambaLock(): void;
export function withSambaLock<T>(fn: () => Promise<T>): Promise<T>;
export function withSambaLock<T>(fn?: () => Promise<T>): void | Promise<T> {
  if (fn) {
    return acquireSambaLock().then(async (release) => {
      try {
        return await fn();
      } finally {
        release();
      }
    });
  }
  let release: (() => void) | null = null;
  beforeAll(async () => {
    release = await acquireSambaLock();
  }, 16 * 60_000);
  afterAll(() => {
    release?.();
  });
}
