import type { Database } from 'better-sqlite3';
import { normalizeMac } from '../discovery';
import type { Clock, ClockTimer } from '../util';
import type { Gateway, GatewayReader } from './gateway';

/** How often the open workspace notes the network it is on (and once when it is opened). */
export const NETWORK_WATCH_EVERY_MS = 5 * 60 * 1000;
/** A workspace keeps at most this many gateway MACs (the least recently seen go first). */
export const NETWORKS_KEPT = 200;

/** Notes that this workspace was open on the network behind `gateway` (first and last seen). */
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

export interface NetworkWatch {
  /** Resolves when the read in flight (if any) has been recorded; for tests and shutdown. */
  settled(): Promise<void>;
  stop(): void;
}

/**
 * Notes the gateway now and every `everyMs` on `clock` while the workspace is open. The timer is
 * unref'd (it never keeps the process alive), a read that finishes after stop() writes nothing,
 * and a failing read or write is reported to `onError` and tried again next time.
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
  const tick = (): void => {
    inFlight = inFlight.then(async () => {
      if (stopped) return;
      try {
        const gateway = await options.read();
        if (gateway && !stopped)
          recordGateway(options.db, gateway, new Date(options.clock.now()).toISOString());
      } catch (error) {
        options.onError?.(error);
      }
    });
  };
  tick();
  const timer: ClockTimer = options.clock.setInterval(tick, options.everyMs ?? NETWORK_WATCH_EVERY_MS);
  timer.unref?.();
  return {
    settled: () => inFlight,
    stop() {
      stopped = true;
      options.clock.clearInterval(timer);
    },
  };
}
