import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { isIP } from 'node:net';

export interface PingResult {
  alive: boolean;
  ttl: number | null;
  rttMs: number | null;
}

const PING_PATHS = ['/usr/bin/ping', '/bin/ping', '/sbin/ping', '/usr/sbin/ping'];

/** Parses "0\t2147483647" from /proc/sys/net/ipv4/ping_group_range. */
export function parsePingGroupRange(text: string): { from: number; to: number } | null {
  const m = /^\s*(\d+)\s+(\d+)\s*$/u.exec(text);
  return m ? { from: Number(m[1]), to: Number(m[2]) } : null;
}

/**
 * Whether this process may send ICMP echo: Node has no ICMP sockets, so it takes the system
 * `ping` and either an unprivileged ping socket (our gid inside ping_group_range) or root
 * (raw socket). Reads local files only.
 */
export async function icmpAvailability(): Promise<{
  available: boolean;
  reason: string;
  ping: string | null;
}> {
  let ping: string | null = null;
  for (const p of PING_PATHS) {
    try {
      await access(p, constants.X_OK);
      ping = p;
      break;
    } catch {
      // try the next
    }
  }
  if (!ping) return { available: false, reason: 'no ping program found', ping: null };
  if (process.platform !== 'linux') return { available: true, reason: `using ${ping}`, ping };
  const gid = process.getgid?.() ?? -1;
  const range = parsePingGroupRange(
    await readFile('/proc/sys/net/ipv4/ping_group_range', 'utf8').catch(() => ''),
  );
  if (range && gid >= range.from && gid <= range.to)
    return { available: true, reason: `unprivileged ping sockets allowed for gid ${gid}`, ping };
  if (process.getuid?.() === 0) return { available: true, reason: 'running as root (raw ICMP socket)', ping };
  return {
    available: false,
    reason: `unprivileged ping sockets are not allowed for gid ${gid} (net.ipv4.ping_group_range = ${range ? `${range.from} ${range.to}` : 'unknown'})`,
    ping,
  };
}

/** Reads the first reply line of iputils/BSD ping: "ttl=64 time=0.045 ms". */
export function parsePingOutput(text: string): PingResult {
  const ttl = /ttl[=:](\d+)/iu.exec(text);
  const time = /time[=<]([\d.]+)\s*ms/iu.exec(text);
  const alive = ttl !== null;
  return { alive, ttl: ttl ? Number(ttl[1]) : null, rttMs: time ? Number(time[1]) : null };
}

/** One echo through `ping -c1 -W<s> -n`; killed on abort. Never rejects. */
export function pingOnce(
  address: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<PingResult | null> {
  if (isIP(address) === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    const child = spawn('ping', ['-c1', '-W', seconds, '-n', address], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 4096) out += d.toString('latin1');
    });
    child.on('error', () => resolve(null));
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(code === 0 ? parsePingOutput(out) : { alive: false, ttl: null, rttMs: null });
    });
  });
}
