/**
 * Hands the session (SSH or WinRM) a host's plan-time dry run used over to the run that follows in the same
 * process (`patchdeck patch --yes`, or an approval soon after planning), so a host is connected
 * once per patch instead of twice. A parked session is only handed out for the same host, the
 * same job credential, while its host key is still pinned, and while it is still connected;
 * otherwise the run connects afresh exactly as before. Unused sessions close after a short idle.
 */
import type { Database } from 'better-sqlite3';
import type { Host } from '../api';
import { listTrustedKeys } from '../db';
import { systemClock, type Clock, type ClockTimer } from '../util';
import { sessionFingerprint, type StepSession } from './phases/context';

/** How long a parked session waits for its run (the desktop app's approval usually takes longer: it reconnects). */
export const PARK_IDLE_MS = 30_000;

interface Parked {
  session: StepSession;
  credentialId: number | null;
  address: string | null;
  port: number;
  timer: ClockTimer;
  clock: Clock;
}

const pools = new WeakMap<Database, Map<number, Parked>>();

function poolOf(db: Database): Map<number, Parked> {
  let pool = pools.get(db);
  if (!pool) pools.set(db, (pool = new Map()));
  return pool;
}

/** Keeps an open session for the host's run; replaces (and closes) any older one. */
export function parkSession(
  db: Database,
  host: Host,
  credentialId: number | null,
  session: StepSession,
  idleMs = PARK_IDLE_MS,
  clock: Clock = systemClock,
): void {
  if (!session.isOpen) return void session.close();
  const pool = poolOf(db);
  const old = pool.get(host.id);
  if (old) {
    old.clock.clearTimeout(old.timer);
    if (old.session !== session) void old.session.close();
  }
  const timer = clock.setTimeout(() => {
    if (pool.get(host.id)?.session === session) pool.delete(host.id);
    void session.close();
  }, idleMs);
  timer.unref?.();
  pool.set(host.id, { session, credentialId, address: host.address, port: host.sshPort, timer, clock });
}

/** The host's parked session if it is still usable for this credential and pinned key; the caller owns it. */
export function takeSession(db: Database, host: Host, credentialId: number | null): StepSession | null {
  const pool = pools.get(db);
  const parked = pool?.get(host.id);
  if (!pool || !parked) return null;
  pool.delete(host.id);
  parked.clock.clearTimeout(parked.timer);
  const pinned = listTrustedKeys(db, host.id).some(
    (k) => k.fingerprint === sessionFingerprint(parked.session),
  );
  if (
    parked.session.isOpen &&
    pinned &&
    parked.credentialId === credentialId &&
    parked.address === host.address &&
    parked.port === host.sshPort
  )
    return parked.session;
  void parked.session.close();
  return null;
}

/** Closes every parked session of this workspace (end of a CLI command, workspace close). */
export function closeParkedSessions(db: Database): void {
  const pool = pools.get(db);
  if (!pool) return;
  for (const parked of pool.values()) {
    parked.clock.clearTimeout(parked.timer);
    void parked.session.close();
  }
  pool.clear();
}
