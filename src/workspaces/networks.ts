import type { Database } from 'better-sqlite3';
import { normalizeMac } from '../discovery';
import type { Clock, ClockTimer } from '../util';
import type { Gateway, GatewayReader } from './gateway';

/** How often the open workspace refreshes the last sighting of a network it already knows. */
export const NETWORK_WATCH_EVERY_MS = 5 * 60 * 1000;
/** A workspace keeps at most this many gateway MACs (the least recently seen go first). */
export const NETWORKS_KEPT = 200;

/**
 * Learns that the network behind `gateway` is this workspace's client's (first and last seen).
 * Called only on evidence (work in this workspace reached one of its own hosts), never merely
 * because the workspace is open: a laptop opened at the contractor's own office must not teach
 * every client's workspace the office's gateway.
 */
export function recordGateway(db: Database, gateway: Gateway, at: string): void {
  const mac = normalizeMac(gateway.mac);
  if (!mac) return;
  db.transaction(() => {
    db.prepare(
      `INSERT INTO workspace_networks (gateway_mac, gateway_address, first_seen, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT(gateway_mac) DO UPDATE SET gateway_address = excluded.gateway_address, last_seen = excluded.last_seen`,
    ).run(mac, gateway.address, at, at);
    db.prepare(
      `DELETE FROM workspace_networks WHERE gateway_mac NOT IN
         (SELECT gateway_mac FROM workspace_networks ORDER BY last_seen DESC LIMIT ${NETWORKS_KEPT})`,
    ).run();
  })();
}

/** Moves the last sighting of a gateway this workspace already knows; teaches nothing new. */
export function refreshGateway(db: Database, gateway: Gateway, at: string): boolean {
  const mac = normalizeMac(gateway.mac);
  if (!mac) return false;
  return (
    db
      .prepare('UPDATE workspace_networks SET gateway_address = ?, last_seen = ? WHERE gateway_mac = ?')
      .run(gateway.address, at, mac).changes > 0
  );
}

export interface NetworkWatch {
  /**
   * Reads the gateway now and learns it: the caller has evidence that this is the workspace's
   * client's network (an audit or a scan in it reached one of its own hosts).
   */
  learn(): void;
  /** Resolves when the reads in flight (if any) have been recorded; for tests and shutdown. */
  settled(): Promise<void>;
  stop(): void;
}

/**
 * While the workspace is open: learns the gateway when told to (`learn`), and on open and every
 * `everyMs` on `clock` only refreshes the last sighting of a gateway it has already learned, so
 * being open somewhere never teaches a network. The timer is unref'd (it never keeps the process
 * alive), a read that finishes after stop() writes nothing, and a failing read or write is
 * reported to `onError` and tried again next time.
 */
export function startNetworkWatch(options: {
  db: Database;
  read: GatewayReader;
  clock: Clock;
  everyMs?: number;
  onError?: (error: unknown) => void;
}): NetworkWatch {
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const note = (learn: boolean): void => {
    inFlight = inFlight.then(async () => {
      if (stopped) return;
      try {
        const gateway = await options.read();
        if (!gateway || stopped) return;
        const at = new Date(options.clock.now()).toISOString();
        if (learn) recordGateway(options.db, gateway, at);
        else refreshGateway(options.db, gateway, at);
      } catch (error) {
        options.onError?.(error);
      }
    });
  };
  note(false);
  const timer: ClockTimer = options.clock.setInterval(
    () => note(false),
    options.everyMs ?? NETWORK_WATCH_EVERY_MS,
  );
  timer.unref?.();
  return {
    learn: () => note(true),
    settled: () => inFlight,
    stop() {
      stopped = true;
      options.clock.clearInterval(timer);
    },
  };
}
