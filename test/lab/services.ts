// Windows-like listening ports on some lab hosts (135, 139, 445, 3389 and a WinRM-over-HTTP.sys
// 5985), so that a discovery benchmark reads banners a Windows PC would show, not only sshd's.
// One listener process per chosen host (winlike-listener.mjs), started inside that host's network
// and PID namespaces, bound to the host's lab address only. Its PID is recorded in the lab's
// runtime dir and `lab down` ends it by that PID; a host that stops takes its listener with it
// (it lives in the host's PID namespace). Every argument is an argv element, never a shell string.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { LAB_DIR, RUN_DIR } from './paths';
import { sshdPid } from './hosts';
import { sleep } from './sh';
import { readState, type HostRecord } from './state';

export const WINDOWS_LIKE_PORTS = [135, 139, 445, 3389, 5985] as const;
const SERVICES_FILE = path.join(RUN_DIR, 'services.json');
const LISTENER = path.join(LAB_DIR, 'winlike-listener.mjs');

interface ServiceRecord {
  host: string;
  address: string;
  /** The listener (node), as the machine's PID namespace numbers it. */
  pid: number;
}

function readRecords(): ServiceRecord[] {
  if (!existsSync(SERVICES_FILE)) return [];
  try {
    return JSON.parse(readFileSync(SERVICES_FILE, 'utf8')) as ServiceRecord[];
  } catch {
    return [];
  }
}

function isListener(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(LISTENER);
  } catch {
    return false;
  }
}

/** The hosts that run Windows-like listeners now (by name), with their addresses. */
export function windowsLikeHosts(): { host: string; address: string }[] {
  return readRecords()
    .filter((r) => isListener(r.pid))
    .map(({ host, address }) => ({ host, address }));
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(/\s+/u)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function canConnect(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function startOne(h: HostRecord): Promise<ServiceRecord> {
  const target = sshdPid(h);
  if (!target) throw new Error(`${h.name} is not running: cannot start its Windows-like ports`);
  // --net and --pid of the host's current boot: bound to its address, ended when the host ends.
  const child = spawn(
    'nsenter',
    [`--target=${target}`, '--net', '--pid', '--', process.execPath, LISTENER, h.address],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const nsenterPid = child.pid;
  if (!nsenterPid) throw new Error(`${h.name}: nsenter did not start`);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const end = Date.now() + 10_000;
  while (!output.includes('ready')) {
    if (child.exitCode !== null || Date.now() > end)
      throw new Error(`${h.name}: Windows-like listener did not start: ${output.trim().slice(-500)}`);
    await sleep(10);
  }
  const pid = children(nsenterPid).find(isListener);
  if (!pid) throw new Error(`${h.name}: the listener's PID was not found under nsenter ${nsenterPid}`);
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
  for (const port of WINDOWS_LIKE_PORTS)
    if (!(await canConnect(h.address, port)))
      throw new Error(`${h.name}: port ${port} does not answer after the listener said ready`);
  return { host: h.name, address: h.address, pid };
}

/**
 * Makes exactly `names` run Windows-like listeners (idempotent: a host that runs one keeps it, a
 * host not named loses it). The caller holds the lab (holdLab/labUp's lock is not taken here).
 */
export async function ensureWindowsLikePorts(
  names: readonly string[],
): Promise<{ host: string; address: string }[]> {
  const state = readState();
  if (!state) throw new Error('the lab is down');
  const wanted = new Set(names);
  const records = readRecords().filter((r) => isListener(r.pid));
  const keep: ServiceRecord[] = [];
  for (const r of records) {
    if (wanted.has(r.host)) keep.push(r);
    else await stopOne(r);
  }
  const running = new Set(keep.map((r) => r.host));
  try {
    for (const h of state.hosts) {
      if (!wanted.has(h.name) || running.has(h.name)) continue;
      keep.push(await startOne(h));
      // Recorded after each start, so that `lab down` after a crash still finds every listener.
      await writeFile(SERVICES_FILE, JSON.stringify(keep, null, 2));
    }
  } finally {
    await writeFile(SERVICES_FILE, JSON.stringify(keep, null, 2));
  }
  const unknown = names.filter((n) => !state.hosts.some((h) => h.name === n));
  if (unknown.length) throw new Error(`no such lab host: ${unknown.join(', ')}`);
  return keep.map(({ host, address }) => ({ host, address }));
}

async function stopOne(r: ServiceRecord): Promise<void> {
  if (!isListener(r.pid)) return;
  process.kill(r.pid, 'SIGTERM');
  const end = Date.now() + 3000;
  while (isListener(r.pid) && Date.now() < end) await sleep(20);
  if (isListener(r.pid)) process.kill(r.pid, 'SIGKILL');
}

/** Ends every recorded listener by its PID (called by `lab down` before the hosts go). */
export async function stopWindowsLikePorts(): Promise<void> {
  for (const r of readRecords()) await stopOne(r);
  await rm(SERVICES_FILE, { force: true });
}
