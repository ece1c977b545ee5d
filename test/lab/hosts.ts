// One lab host: its network namespace and veth on the bridge, its per-host disk (a small tmpfs
// holding the overlay's upper dir), and its root process (unshare → host-init.sh → sshd).
// Processes are only ever ended by the PIDs recorded in the state file, after checking that the
// PID still belongs to the lab (its command line names host-init.sh and the host).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { cachedHostKeyDir, HOST_KEY_TYPES, labPublicKey } from './keys';
import { HOST_INIT, kindOf, repoMountPoint } from './layers';
import { BRIDGE, FIRST_HOST_OCTET, GATEWAY, NETNS_PREFIX, VETH_PREFIX } from './paths';
import { hostDir, saveState, type HostRecord, type LabState } from './state';
import { run, sleep, tryRun } from './sh';

export const DISK_SIZE = '128m';
const PATH_ENV = '/usr/sbin:/usr/bin:/sbin:/bin';

export function hostName(i: number): string {
  return `lab${String(i + 1).padStart(2, '0')}`;
}

export function newHostRecord(i: number, profile: HostRecord['profile']): HostRecord {
  const name = hostName(i);
  const octet = FIRST_HOST_OCTET + i;
  return {
    name,
    index: i,
    address: `198.18.0.${octet}`,
    // Locally administered, stable across down/up: discovery identifies hosts by MAC first.
    mac: `02:50:44:4c:00:${octet.toString(16).padStart(2, '0')}`,
    netns: `${NETNS_PREFIX}${name}`,
    veth: `${VETH_PREFIX}${name}`,
    profile,
    kind: kindOf(profile),
    pid: null,
    lockPid: null,
    rekeyed: false,
    diskMounted: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Network

export async function ensureBridge(): Promise<void> {
  const exists = (await tryRun('ip', ['link', 'show', 'dev', BRIDGE])).code === 0;
  if (!exists) await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  const addrs = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', BRIDGE]);
  if (!addrs.stdout.includes(`${GATEWAY}/24`))
    await run('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
}

export async function deleteBridge(): Promise<void> {
  if ((await tryRun('ip', ['link', 'show', 'dev', BRIDGE])).code === 0)
    await run('ip', ['link', 'del', BRIDGE]);
}

export function listLabNetns(): string[] {
  const dir = '/run/netns';
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.startsWith(NETNS_PREFIX));
}

export async function listLabVeths(): Promise<string[]> {
  const r = await tryRun('ip', ['-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .map((l) => l.match(/^\d+:\s+([^:@\s]+)/)?.[1])
    .filter((n): n is string => !!n && n.startsWith(VETH_PREFIX));
}

export async function ensureNetwork(h: HostRecord, fresh = false): Promise<void> {
  if (fresh && existsSync(`/run/netns/${h.netns}`)) {
    throw new Error(`${h.netns} already exists (another lab run?): run \`npm run lab -- down\` first`);
  }
  if (fresh && (await tryRun('ip', ['link', 'show', 'dev', h.veth])).code !== 0) {
    // A new host: two `ip -batch` runs instead of eight `ip` processes (the checks below cannot
    // find anything yet), which is most of what starting 200 hosts costs. Same commands, same order.
    await run('ip', ['-batch', '-'], {
      input:
        `netns add ${h.netns}\n` +
        `link add ${h.veth} type veth peer name eth0 address ${h.mac} netns ${h.netns}\n` +
        `link set ${h.veth} master ${BRIDGE} up\n`,
    });
    await run('ip', ['-n', h.netns, '-batch', '-'], {
      input: `addr add ${h.address}/24 dev eth0\nlink set lo up\nlink set eth0 up\n`,
    });
    return;
  }
  if (!existsSync(`/run/netns/${h.netns}`)) await run('ip', ['netns', 'add', h.netns]);
  if ((await tryRun('ip', ['link', 'show', 'dev', h.veth])).code !== 0) {
    await run('ip', [
      'link',
      'add',
      h.veth,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'address',
      h.mac,
      'netns',
      h.netns,
    ]);
  }
  await run('ip', ['link', 'set', h.veth, 'master', BRIDGE, 'up']);
  const addrs = await run('ip', ['-n', h.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  if (!addrs.stdout.includes(`${h.address}/24`))
    await run('ip', ['-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', h.netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', h.netns, 'link', 'set', 'eth0', 'up']);
}

export async function deleteNetwork(netns: string, veth: string): Promise<void> {
  // Netns deletion is asynchronous and can leave the veth behind: delete the veth first.
  if ((await tryRun('ip', ['link', 'show', 'dev', veth])).code === 0)
    await tryRun('ip', ['link', 'del', veth]);
  if (existsSync(`/run/netns/${netns}`)) await run('ip', ['netns', 'del', netns]);
}

// ---------------------------------------------------------------------------------------------
// Processes

function cmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

function procState(pid: number): string | null {
  try {
    return (
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\)\s+/, '')
        .split(' ')[0] ?? null
    );
  } catch {
    return null;
  }
}

/** True when pid is alive (not a zombie) and is the root process the lab started for this host. */
export function isHostProcess(h: HostRecord, pid: number | null = h.pid): boolean {
  if (!pid) return false;
  const st = procState(pid);
  if (!st || st === 'Z' || st === 'X') return false;
  const c = cmdline(pid);
  // Match the init script by name, not by absolute path: a lab started from another checkout of
  // the repository (a CI clone, a worktree) must still be recognised and taken down.
  return (
    !!c &&
    c.includes('unshare') &&
    c.includes(`/${path.basename(HOST_INIT)}`) &&
    readEnvHostname(pid) === h.name
  );
}

function readEnvHostname(pid: number): string | null {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.find((e) => e.startsWith('LAB_HOSTNAME='))?.slice('LAB_HOSTNAME='.length) ?? null;
  } catch {
    return null;
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * The host's sshd (PID 1 of its current boot), seen from the machine's namespace: unshare →
 * host-init.sh (boots the host, and again when it reboots) → unshare → sshd. Null while it reboots.
 */
export function sshdPid(h: HostRecord): number | null {
  if (!isHostProcess(h)) return null;
  let level = [h.pid as number];
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    level = level.flatMap(children);
    // The listener retitles itself ("sshd: /usr/sbin/sshd -D -e [listener] …"); its sessions sit deeper.
    const sshd = level.find((c) => (cmdline(c) ?? '').includes('sshd'));
    if (sshd) return sshd;
  }
  return null;
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const st = procState(pid);
    if (!st || st === 'Z' || st === 'X') return true;
    await sleep(20);
  }
  return false;
}

async function netnsPids(netns: string): Promise<number[]> {
  if (!existsSync(`/run/netns/${netns}`)) return [];
  const r = await tryRun('ip', ['netns', 'pids', netns]);
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

const pidFile = (h: HostRecord) => path.join(hostDir(h.name), 'pid');

/** The PID recorded for the host: in the state file, or in the pid file its wrapper wrote. */
export function recordedPid(h: HostRecord): number | null {
  if (h.pid) return h.pid;
  try {
    return Number(readFileSync(pidFile(h), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/**
 * Kill the host's root process by its recorded PID (state file, then pid file) and wait until its
 * namespace is empty. A root process of this same host that a crashed or concurrent run left in
 * the namespace is recognised by what it runs (host-init.sh for this host name) and ended too;
 * anything else in the namespace is left alone and reported.
 */
export async function killHost(h: HostRecord): Promise<void> {
  const candidates = new Set<number>();
  for (const p of [h.pid, recordedPid({ ...h, pid: null })]) if (p) candidates.add(p);
  for (const p of await netnsPids(h.netns)) candidates.add(p);
  for (const pid of candidates) {
    if (!isHostProcess(h, pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      // Killing an earlier candidate (the outer root process) already took this one down.
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') continue;
      throw error;
    }
    if (!(await waitGone(pid, 10_000))) throw new Error(`${h.name}: process ${pid} did not exit`);
  }
  h.pid = null;
  h.lockPid = null;
  await rm(pidFile(h), { force: true });
  // --kill-child takes the host's PID 1 down, and the kernel then kills the rest of its PID
  // namespace; wait for that so the netns can be deleted and the mounts are gone.
  const end = Date.now() + 10_000;
  while ((await netnsPids(h.netns)).length > 0) {
    if (Date.now() > end)
      throw new Error(`${h.name}: processes still in ${h.netns}: ${(await netnsPids(h.netns)).join(' ')}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Disk and root filesystem

const diskDir = (h: HostRecord) => path.join(hostDir(h.name), 'disk');
export const upperDir = (h: HostRecord) => path.join(diskDir(h), 'upper');
export const runtimeKeyDir = (h: HostRecord) => path.join(hostDir(h.name), 'keys');

export function isMounted(target: string): boolean {
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === target);
}

/** A fresh per-host disk: a tmpfs (so fill-disk fills something small) holding upper and work dirs. */
export async function freshDisk(h: HostRecord, state: LabState): Promise<void> {
  const disk = diskDir(h);
  await mkdir(disk, { recursive: true });
  if (isMounted(disk)) await run('umount', [disk]);
  h.diskMounted = true;
  await saveState(state);
  await run('mount', ['-t', 'tmpfs', '-o', `size=${DISK_SIZE},mode=0755`, `pdlab-disk-${h.name}`, disk]);
  await mkdir(path.join(disk, 'work'));
  await mkdir(path.join(hostDir(h.name), 'root'), { recursive: true });
  await writeUpperFiles(h);
}

export async function releaseDisk(h: HostRecord): Promise<void> {
  const disk = diskDir(h);
  if (isMounted(disk)) await run('umount', [disk]);
  h.diskMounted = false;
}

async function writeFileMode(file: string, content: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, content, { mode });
  await chmod(file, mode);
}

/** Files that make this host itself, written into its fresh upper dir before the overlay is mounted. */
async function writeUpperFiles(h: HostRecord): Promise<void> {
  const up = upperDir(h);
  for (const d of ['etc', 'etc/ssh', 'etc/ssh/authorized_keys']) {
    await mkdir(path.join(up, d), { recursive: true });
    await chmod(path.join(up, d), 0o755);
    await chown(path.join(up, d), 0, 0);
  }
  await writeFileMode(path.join(up, 'etc/hostname'), `${h.name}\n`, 0o644);
  await writeFileMode(
    path.join(up, 'etc/hosts'),
    `127.0.0.1\tlocalhost\n${h.address}\t${h.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    0o644,
  );
  await writeFileMode(path.join(up, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`, 0o444);
  await writeFileMode(path.join(up, 'etc/ssh/authorized_keys/admin'), `${labPublicKey()}\n`, 0o644);
  await installHostKeys(h, h.rekeyed ? runtimeKeyDir(h) : cachedHostKeyDir(h.name));
}

/** Copy host keys into the host's upper dir (in place, so a running sshd re-reads them on SIGHUP). */
export async function installHostKeys(h: HostRecord, fromDir: string): Promise<void> {
  const sshDir = path.join(upperDir(h), 'etc/ssh');
  for (const t of HOST_KEY_TYPES) {
    const f = `ssh_host_${t}_key`;
    await writeFileMode(path.join(sshDir, f), readFileSync(path.join(fromDir, f), 'utf8'), 0o600);
    await writeFileMode(
      path.join(sshDir, `${f}.pub`),
      readFileSync(path.join(fromDir, `${f}.pub`), 'utf8'),
      0o644,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Start

export async function startHostProcess(h: HostRecord, state: LabState): Promise<void> {
  if (isHostProcess(h)) return;
  const lower = state.lowers[h.profile];
  if (!lower) throw new Error(`${h.name}: no layer for profile ${h.profile}`);
  const dir = hostDir(h.name);
  const log = openSync(path.join(dir, 'host.log'), 'a');
  try {
    // The wrapper shell writes its own PID (which exec keeps for unshare) before anything
    // exists in the host, so even a run killed right after spawn leaves a recorded PID.
    const child = spawn(
      'sh',
      [
        '-c',
        'echo $$ > "$LAB_PIDFILE" && exec ip netns exec "$LAB_NETNS" unshare --mount --uts --pid --fork --kill-child --propagation private sh "$LAB_INIT"',
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          PATH: PATH_ENV,
          LAB_PIDFILE: pidFile(h),
          LAB_NETNS: h.netns,
          LAB_INIT: HOST_INIT,
          LAB_HOSTNAME: h.name,
          LAB_LOWER: lower,
          LAB_UPPER: upperDir(h),
          LAB_WORK: path.join(diskDir(h), 'work'),
          LAB_ROOT: path.join(dir, 'root'),
          LAB_REPO: state.profileRepos?.[h.profile] ?? state.repos[h.kind],
          LAB_REPO_AT: repoMountPoint(h.kind),
        },
      },
    );
    if (!child.pid) throw new Error(`${h.name}: could not start its root process`);
    child.unref();
    h.pid = child.pid;
  } finally {
    closeSync(log);
  }
}

/** Wait until the host's sshd answers with an SSH banner. */
export async function waitForSsh(h: HostRecord, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    const banner = await readBanner(h.address, 1000).catch((e: Error) => {
      last = e.message;
      return '';
    });
    if (banner.startsWith('SSH-2.0-')) return;
    // Not isHostProcess: for a moment after spawn the PID is still the wrapper shell or `ip netns exec`.
    const st = h.pid ? procState(h.pid) : null;
    if (h.pid && (!st || st === 'Z' || st === 'X')) {
      const logText = readFileSync(path.join(hostDir(h.name), 'host.log'), 'utf8')
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n');
      throw new Error(`${h.name}: root process exited before sshd answered:\n${logText}`);
    }
    await sleep(50);
  }
  throw new Error(`${h.name}: sshd on ${h.address}:22 did not answer within ${timeoutMs} ms (${last})`);
}

export function readBanner(address: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: address, port: 22 });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.split('\n')[0] as string);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Run a command inside the host (its mount, UTS, IPC, network and PID namespaces, chrooted to its root). */
export function nsenterArgs(h: HostRecord): string[] {
  const pid = sshdPid(h);
  if (!pid) throw new Error(`${h.name} is not running`);
  return ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '-r', '-w'];
}

export async function execInHost(h: HostRecord, argv: string[], okCodes = [0]) {
  return run('nsenter', [...nsenterArgs(h), ...argv], {
    okCodes,
    env: { PATH: PATH_ENV, LC_ALL: 'C', HOME: '/root' },
  });
}
