// The lab office: N real SSH hosts in network namespaces on one machine, with real package
// managers, pending updates, fault controls and ground truth. Tests and benchmarks import this;
// `npm run lab` (cli.ts) is a thin wrapper over it. Needs root.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { removeBuildDir, withBuildLock } from './cachelock';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  deleteBridge,
  deleteNetwork,
  ensureBridge,
  ensureNetwork,
  execInHost,
  freshDisk,
  installHostKeys,
  isHostProcess,
  isMounted,
  killHost,
  listLabNetns,
  listLabVeths,
  newHostRecord,
  nsenterArgs,
  releaseDisk,
  runtimeKeyDir,
  sshdPid,
  startHostProcess,
  waitForSsh,
} from './hosts';
import { ensureImage, pruneImages, type ImageKind } from './image';
import type { LabHost, LabInventory } from './inventory';
import { cachedHostKeyDir, ensureLabKey, generateHostKeys, readHostKeys } from './keys';
import { ensureLayer, HOST_INIT, kindOf, layerDir } from './layers';
import {
  BRIDGE,
  CACHE_DIR,
  GATEWAY,
  KNOWN_HOSTS_FILE,
  LAB_KEY_FILE,
  LAB_LOCK_FILE,
  MAX_HOSTS,
  NETWORK,
  OPERATOR_PASSWORD,
  RUN_DIR,
} from './paths';
import {
  APT_STATES,
  HOST_PROFILES,
  isAptProfile,
  hostProfileFor,
  LAB_PROFILES,
  patchesFor,
  pendingFor,
  type HostProfile,
  type LabProfile,
} from './recipe';
import { ensureRepo, repoDir } from './repo';
import { ensureZypperRepo, zypperRepoDir } from './zypper-repo';
import { almaRepoDir, ensureAlmaRepo } from './alma-repo';
import { mapLimit, run, sleep, tryRun } from './sh';
import { hostDir, readState, saveState, type HostRecord, type LabState } from './state';
import { ensureWindowsLikePorts, stopWindowsLikePorts } from './services';

export type { LabHost, LabInventory, LabUser } from './inventory';
export type { PendingUpdate, HostProfile, LabProfile } from './recipe';
export { HOST_PROFILES, LAB_PROFILES } from './recipe';
export { KNOWN_HOSTS_FILE, LAB_KEY_FILE, OPERATOR_PASSWORD } from './paths';
export { WINDOWS_LIKE_PORTS, windowsLikeHosts } from './services';

/** Exactly these hosts (by name) also listen on Windows-like ports (test/lab/services.ts). */
export function windowsLikePorts(names: readonly string[]): Promise<{ host: string; address: string }[]> {
  return exclusive(() => ensureWindowsLikePorts(names));
}

let lockDepth = 0;
/** One lab operation at a time on this machine (re-entrant within a process). */
async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  if (lockDepth > 0) return fn();
  requireRoot();
  return withBuildLock(LAB_LOCK_FILE, async () => {
    lockDepth++;
    try {
      return await fn();
    } finally {
      lockDepth--;
    }
  });
}

/**
 * Holds the lab for a whole session (a benchmark, the crash loop): this process's lab operations go
 * ahead, while another process's up, down or reset waits until `fn` ends instead of tearing the lab
 * down or resetting hosts under it.
 */
export function holdLab<T>(fn: () => Promise<T>): Promise<T> {
  return exclusive(fn);
}

export class LabNeedsRootError extends Error {
  constructor() {
    super('the lab needs root (it creates network namespaces, a bridge and mounts): run it with sudo');
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function requireRoot(): void {
  if (!isRoot()) throw new LabNeedsRootError();
}

export interface LabUpOptions {
  hosts?: number;
  profile?: LabProfile;
  log?: (line: string) => void;
}

const concurrency = 4;

/**
 * Start the lab (idempotent: the same hosts/profile again only restarts what is not running;
 * a different size or profile tears the old lab down first). On failure everything created is removed.
 */
export function labUp(opts: LabUpOptions = {}): Promise<LabInventory> {
  return exclusive(() => _labUp(opts));
}

async function _labUp(opts: LabUpOptions = {}): Promise<LabInventory> {
  requireRoot();
  const n = opts.hosts ?? 3;
  const profile = opts.profile ?? 'mixed';
  const log = opts.log ?? (() => undefined);
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new Error(`--hosts must be 1..${MAX_HOSTS}`);
  if (!(LAB_PROFILES as readonly string[]).includes(profile))
    throw new Error(`unknown profile ${profile}; one of ${LAB_PROFILES.join(', ')}`);

  const existing = readState();
  if (existing && existing.hostCount === n && existing.profile === profile && existing.hosts.length === n) {
    log(`lab already up with ${n} hosts (${profile}); making sure every host runs`);
    for (const h of existing.hosts) if (!isHostProcess(h)) await startHost(h.name);
    return labStatus();
  }
  if (existing) {
    log('a lab of another size or profile is up: taking it down first');
    await labDown();
  }
  await pruneCache();
  try {
    return await freshUp(n, profile, log);
  } catch (e) {
    log(`up failed, cleaning up: ${(e as Error).message}`);
    await labDown().catch((d: Error) => log(`clean-up also failed: ${d.message}`));
    throw e;
  }
}

async function freshUp(n: number, profile: LabProfile, log: (s: string) => void): Promise<LabInventory> {
  const t0 = Date.now();
  const hosts = Array.from({ length: n }, (_, i) => newHostRecord(i, hostProfileFor(profile, i, n)));
  const profiles = [...new Set(hosts.map((h) => h.profile))];
  const kinds = [...new Set(profiles.map(kindOf))];

  await ensureLabKey();
  const repos = await ensureRepo(log);
  const repoFor: Record<ImageKind, string> = {
    apt: repos.apt,
    dnf: repos.rpm,
    // Built (a few seconds) only for a lab that has a zypper host.
    zypper: kinds.includes('zypper') ? await ensureZypperRepo(repos.rpm, log) : zypperRepoDir(),
  };
  // Built (a few seconds) only for a lab that has an alma host.
  const profileRepos: Partial<Record<HostProfile, string>> = profiles.includes('alma')
    ? { alma: await ensureAlmaRepo(log) }
    : {};
  const images = Object.fromEntries(
    await Promise.all(kinds.map(async (k) => [k, await ensureImage(k, log)] as const)),
  ) as Partial<Record<ImageKind, string>>;
  const lowers: Partial<Record<HostProfile, string>> = {};
  for (const p of profiles) {
    const kind = kindOf(p);
    const layer = await ensureLayer(p, images[kind] as string, profileRepos[p] ?? repoFor[kind]);
    lowers[p] = `${layer}:${images[kind]}`;
  }
  const missingKeys = hosts.filter(
    (h) => !existsSync(path.join(cachedHostKeyDir(h.name), 'ssh_host_rsa_key.pub')),
  );
  if (missingKeys.length)
    log(`generating host keys for ${missingKeys.length} new host(s) (cached for next time)…`);
  await mapLimit(missingKeys, 2, (h) => generateHostKeys(cachedHostKeyDir(h.name), h.name));
  const t1 = Date.now();

  const state: LabState = {
    version: 1,
    profile,
    hostCount: n,
    bridge: true,
    lowers,
    repos: repoFor,
    profileRepos,
    hosts,
  };
  await mkdir(RUN_DIR, { recursive: true });
  await saveState(state);
  await ensureBridge();
  await mapLimit(hosts, concurrency, async (h) => {
    await mkdir(hostDir(h.name), { recursive: true });
    await ensureNetwork(h, true);
    await freshDisk(h, state);
    await startHostProcess(h, state);
    await saveState(state);
  });
  await Promise.all(hosts.map((h) => waitForSsh(h)));
  await writeKnownHosts(state);
  log(
    `${n} host(s) up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${((Date.now() - t1) / 1000).toFixed(1)} s starting hosts)`,
  );
  return labStatus();
}

/** With no lab up, remove cached images, archives and layers whose recipe is no longer current. */
async function pruneCache(): Promise<void> {
  await pruneImages();
  const prune = async (dir: string, keep: Set<string>) => {
    if (!existsSync(dir)) return;
    for (const d of readdirSync(dir))
      if (!keep.has(d) && !d.endsWith('.lock')) await removeBuildDir(path.join(dir, d));
  };
  await prune(
    path.join(CACHE_DIR, 'repo'),
    new Set([path.basename(repoDir()), path.basename(zypperRepoDir()), path.basename(almaRepoDir())]),
  );
  await prune(path.join(CACHE_DIR, 'layers'), new Set(HOST_PROFILES.map((p) => path.basename(layerDir(p)))));
}

/** Tear everything down: hosts (by recorded PID), veths, namespaces, mounts, bridge, runtime dir. */
export function labDown(log: (s: string) => void = () => undefined): Promise<void> {
  return exclusive(() => _labDown(log));
}

async function _labDown(log: (s: string) => void): Promise<void> {
  requireRoot();
  const state = readState();
  const problems: string[] = [];
  // Listeners run inside hosts' namespaces: ended by their recorded PIDs before the hosts go.
  await stopWindowsLikePorts().catch((e: Error) => problems.push(`Windows-like ports: ${e.message}`));
  if (state) {
    await mapLimit(state.hosts, concurrency, async (h) => {
      try {
        await killLockHolder(h);
        await killHost(h);
        await deleteNetwork(h.netns, h.veth);
        await releaseDisk(h);
      } catch (e) {
        problems.push((e as Error).message);
      }
    });
  }
  // Leftovers of a crashed run are found by the lab's own name prefixes; processes are never
  // killed this way (only by recorded PID), so a namespace that still has processes is reported.
  for (const veth of await listLabVeths()) await tryRun('ip', ['link', 'del', veth]);
  for (const ns of listLabNetns()) {
    const pids = (await tryRun('ip', ['netns', 'pids', ns])).stdout.trim();
    if (pids) problems.push(`namespace ${ns} still has processes the lab did not record: ${pids}`);
    else await tryRun('ip', ['netns', 'del', ns]);
  }
  for (const target of labMounts().reverse()) {
    const r = await tryRun('umount', [target]);
    if (r.code !== 0) problems.push(`umount ${target}: ${r.stderr.trim()}`);
  }
  await deleteBridge();
  if (problems.length === 0) await rm(RUN_DIR, { recursive: true, force: true });
  if (state) log(`lab down (${state.hosts.length} host(s))`);
  if (problems.length) throw new Error(`lab down left things behind:\n${problems.join('\n')}`);
}

/** Mount points of the lab in the machine's mount namespace (per-host disks). */
export function labMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((t) => t === RUN_DIR || t.startsWith(`${RUN_DIR}/`));
}

/** Everything the lab may have left on the machine; all empty after labDown(). */
export async function labLeftovers(): Promise<{
  netns: string[];
  links: string[];
  mounts: string[];
  processes: number[];
}> {
  const links = [...(await listLabVeths())];
  if ((await tryRun('ip', ['link', 'show', 'dev', BRIDGE])).code === 0) links.push(BRIDGE);
  // Only looked at, never killed: host root processes are recognised by the init script they run.
  const processes: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const st = readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\)\s+/, '')[0];
      // By script name, so leftovers of a lab started from another checkout are found too.
      if (cmd.includes(`/${path.basename(HOST_INIT)}`) && st !== 'Z' && st !== 'X') processes.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return { netns: listLabNetns(), links, mounts: labMounts(), processes };
}

// ---------------------------------------------------------------------------------------------
// Inventory

const OS = {
  apt: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  dnf: { id: 'rocky', versionId: '9.3', prettyName: 'Rocky Linux 9.3 (Blue Onyx)' },
  zypper: { id: 'opensuse-leap', versionId: '15.5', prettyName: 'openSUSE Leap 15.5' },
} as const;
const ALMA_OS = { id: 'almalinux', versionId: '9.4', prettyName: 'AlmaLinux 9.4 (Seafoam Ocelot)' };

function linkUp(dev: string): boolean {
  try {
    return (parseInt(readFileSync(`/sys/class/net/${dev}/flags`, 'utf8'), 16) & 1) === 1;
  } catch {
    return false;
  }
}

function hostInventory(h: HostRecord): LabHost {
  const running = isHostProcess(h);
  const keys = readHostKeys(h.rekeyed ? runtimeKeyDir(h) : cachedHostKeyDir(h.name));
  const apt = isAptProfile(h.profile) ? APT_STATES[h.profile] : null;
  return {
    name: h.name,
    address: h.address,
    mac: h.mac,
    netns: h.netns,
    state: !running ? 'stopped' : linkUp(h.veth) ? 'up' : 'cut',
    os: h.profile === 'alma' ? { ...ALMA_OS } : { ...OS[h.kind] },
    packageManager: h.kind,
    emulated: h.kind !== 'apt',
    profile: h.profile,
    openPorts: [22],
    users: [
      { name: 'admin', auth: 'key', keyFile: LAB_KEY_FILE, sudo: 'nopasswd' },
      { name: 'operator', auth: 'password', password: OPERATOR_PASSWORD, sudo: 'password' },
    ],
    hostKeys: keys.map((k) => ({ type: k.type, fingerprint: k.fingerprint })),
    rebootRequired: (apt?.rebootRequiredPkgs?.length ?? 0) > 0,
    interrupted: apt?.halfConfigured ? [apt.halfConfigured.name] : [],
    pending: pendingFor(h.profile),
    patches: patchesFor(h.profile),
  };
}

/** The lab's ground truth. Hosts are empty when the lab is down. */
export function labStatus(): LabInventory {
  const state = readState();
  return {
    network: NETWORK,
    gateway: GATEWAY,
    bridge: BRIDGE,
    keyFile: LAB_KEY_FILE,
    knownHostsFile: KNOWN_HOSTS_FILE,
    hosts: state ? state.hosts.map(hostInventory) : [],
  };
}

async function writeKnownHosts(state: LabState): Promise<void> {
  const lines = state.hosts.flatMap((h) =>
    readHostKeys(h.rekeyed ? runtimeKeyDir(h) : cachedHostKeyDir(h.name)).map(
      (k) => `${h.address} ${k.publicKey}`,
    ),
  );
  await writeFile(KNOWN_HOSTS_FILE, lines.join('\n') + '\n', { mode: 0o644 });
}

// ---------------------------------------------------------------------------------------------
// Per-host controls

function load(name: string): { state: LabState; h: HostRecord } {
  requireRoot();
  const state = readState();
  if (!state) throw new Error('the lab is not up');
  const h = state.hosts.find((x) => x.name === name || x.address === name);
  if (!h) throw new Error(`no lab host ${name} (hosts: ${state.hosts.map((x) => x.name).join(' ')})`);
  return { state, h };
}

/** Power the host off: its whole process tree (sshd, sessions, mounts) goes; its disk stays. */
export function stopHost(name: string): Promise<void> {
  return exclusive(() => _stopHost(name));
}

async function _stopHost(name: string): Promise<void> {
  const { state, h } = load(name);
  await killHost(h);
  await saveState(state);
}

/** Power the host on again (a reboot: /run, and so /run/reboot-required, starts empty). */
export function startHost(name: string): Promise<void> {
  return exclusive(() => _startHost(name));
}

async function _startHost(name: string): Promise<void> {
  const { state, h } = load(name);
  if (isHostProcess(h)) return;
  await mkdir(hostDir(h.name), { recursive: true });
  await ensureNetwork(h);
  if (!isMounted(path.join(hostDir(h.name), 'disk'))) await freshDisk(h, state);
  await startHostProcess(h, state);
  await saveState(state);
  await waitForSsh(h);
}

/** Recreate the host from its profile: fresh disk, cached identity, running. */
export function resetHost(name: string): Promise<void> {
  return exclusive(() => _resetHost(name));
}

async function _resetHost(name: string): Promise<void> {
  const { state, h } = load(name);
  await killLockHolder(h);
  await killHost(h);
  h.rekeyed = false;
  await rm(runtimeKeyDir(h), { recursive: true, force: true });
  await ensureNetwork(h);
  await freshDisk(h, state);
  await startHostProcess(h, state);
  await saveState(state);
  await writeKnownHosts(state);
  await waitForSsh(h);
}

/** Pull the cable: the host keeps running but its link on the bridge goes down. */
export function cutHost(name: string): Promise<void> {
  return exclusive(() => _cutHost(name));
}

async function _cutHost(name: string): Promise<void> {
  const { h } = load(name);
  await run('ip', ['link', 'set', h.veth, 'down']);
}

export function uncutHost(name: string): Promise<void> {
  return exclusive(() => _uncutHost(name));
}

async function _uncutHost(name: string): Promise<void> {
  const { h } = load(name);
  await run('ip', ['link', 'set', h.veth, 'up']);
}

// dpkg and apt take fcntl locks; this holds both the way a running unattended-upgrade would.
const LOCK_SCRIPT = String.raw`
use Fcntl qw(F_SETLK F_WRLCK SEEK_SET O_RDWR O_CREAT);
$0 = "unattended-upgr";
my @held;
for my $f ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock") {
  sysopen(my $fh, $f, O_RDWR | O_CREAT, 0640) or die "open $f: $!\n";
  my $lock = pack("s s x4 q q i x4", F_WRLCK, SEEK_SET, 0, 0, 0);
  fcntl($fh, F_SETLK, $lock) or die "lock $f: $!\n";
  push @held, $fh;
}
$| = 1;
print "locked\n";
sleep 3600 while 1;
`;

function nsOf(pid: number, ns: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return null;
  }
}

function isLockHolder(h: HostRecord, pid: number | null): pid is number {
  if (!pid) return false;
  const sshd = sshdPid(h);
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return !!sshd && cmd.startsWith('unattended-upgr') && nsOf(pid, 'pid') === nsOf(sshd, 'pid');
  } catch {
    return false;
  }
}

/** Hold /var/lib/dpkg/lock-frontend and /var/lib/dpkg/lock inside the host (apt hosts). */
export function lockDpkg(name: string): Promise<void> {
  return exclusive(() => _lockDpkg(name));
}

async function _lockDpkg(name: string): Promise<void> {
  const { state, h } = load(name);
  if (h.kind !== 'apt') throw new Error(`${h.name} is a ${h.kind} host: lock-dpkg applies to apt hosts`);
  if (isLockHolder(h, h.lockPid)) return;
  const child = spawn('nsenter', [...nsenterArgs(h), 'perl', '-e', LOCK_SCRIPT], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });
  const nsenterPid = child.pid as number;
  const ready = await new Promise<string>((resolve) => {
    let out = '';
    const done = (s: string) => resolve(s);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) done('ok');
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => done(out || 'exited'));
    setTimeout(() => done('timeout'), 10_000);
  });
  if (ready !== 'ok') throw new Error(`${h.name}: could not take the dpkg lock: ${ready}`);
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  let perl: number | null = null;
  for (let i = 0; i < 50 && !perl; i++) {
    const kids = readFileSync(`/proc/${nsenterPid}/task/${nsenterPid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    perl = kids.find((k) => isLockHolder(h, k)) ?? null;
    if (!perl) await sleep(20);
  }
  if (!perl) throw new Error(`${h.name}: lock holder not found`);
  h.lockPid = perl;
  await saveState(state);
}

async function killLockHolder(h: HostRecord): Promise<void> {
  if (isLockHolder(h, h.lockPid)) {
    process.kill(h.lockPid, 'SIGKILL');
    for (let i = 0; i < 250 && isLockHolder(h, h.lockPid); i++) await sleep(20);
  }
  h.lockPid = null;
}

export function unlockDpkg(name: string): Promise<void> {
  return exclusive(() => _unlockDpkg(name));
}

async function _unlockDpkg(name: string): Promise<void> {
  const { state, h } = load(name);
  await killLockHolder(h);
  await saveState(state);
}

const FILL_FILE = '/var/tmp/.patchdeck-lab-fill';

/** Fill the host's disk (its overlay's upper dir, a small tmpfs) until writes fail with ENOSPC. */
export function fillDisk(name: string): Promise<void> {
  return exclusive(() => _fillDisk(name));
}

async function _fillDisk(name: string): Promise<void> {
  const { h } = load(name);
  await execInHost(h, ['dd', 'if=/dev/zero', `of=${FILL_FILE}`, 'bs=1M', 'status=none'], [0, 1]);
}

/** Undo fillDisk. */
export function unfillDisk(name: string): Promise<void> {
  return exclusive(() => _unfillDisk(name));
}

async function _unfillDisk(name: string): Promise<void> {
  const { h } = load(name);
  await execInHost(h, ['rm', '-f', FILL_FILE]);
}

/** Give the host new SSH host keys (as if reinstalled). Until down or reset-host; known_hosts follows. */
export function rekeyHost(name: string): Promise<{ type: string; fingerprint: string }[]> {
  return exclusive(() => _rekeyHost(name));
}

async function _rekeyHost(name: string): Promise<{ type: string; fingerprint: string }[]> {
  const { state, h } = load(name);
  const dir = runtimeKeyDir(h);
  await rm(dir, { recursive: true, force: true });
  await generateHostKeys(dir, h.name, true);
  h.rekeyed = true;
  await saveState(state);
  const sshd = sshdPid(h);
  await installHostKeys(h, dir);
  if (sshd) {
    // sshd re-executes itself on SIGHUP and loads the new keys.
    process.kill(sshd, 'SIGHUP');
    await sleep(200);
    await waitForSsh(h);
  }
  await writeKnownHosts(state);
  return readHostKeys(dir).map((k) => ({ type: k.type, fingerprint: k.fingerprint }));
}

/** Run a command as root inside a host without SSH (tests use it to look at the ground). */
export async function execOnHost(name: string, argv: string[], okCodes = [0]) {
  const { h } = load(name);
  return execInHost(h, argv, okCodes);
}

/** ssh command line for a host, as printed by `up`. */
export function sshCommand(address: string, user = 'admin'): string {
  return `ssh -i ${LAB_KEY_FILE} -o UserKnownHostsFile=${KNOWN_HOSTS_FILE} -o StrictHostKeyChecking=yes ${user}@${address}`;
}

/** PIDs of the hosts' root processes as recorded (stopped hosts have none). */
export function labPids(): number[] {
  return (readState()?.hosts ?? []).map((h) => h.pid).filter((p): p is number => p !== null);
}

export function hostNames(): string[] {
  return readState()?.hosts.map((h) => h.name) ?? [];
}
