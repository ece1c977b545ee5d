import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace } from '../db';
import { ManualClock } from '../util';
import type { Gateway } from './gateway';
import { NETWORK_WATCH_EVERY_MS, NETWORKS_KEPT, recordGateway, startNetworkWatch } from './networks';

type Row = { gateway_mac: string; gateway_address: string | null; first_seen: string; last_seen: string };

describe('the networks a workspace was open on', () => {
  it('keeps first and last sighting per gateway MAC, normalised', () => {
    const db = createMemoryWorkspace();
    recordGateway(db, { address: '192.168.1.1', mac: '3C-37-86-5E-AA-01' }, '2026-11-01T10:00:00.000Z');
    recordGateway(db, { address: '192.168.1.254', mac: '3c:37:86:5e:aa:01' }, '2026-11-02T10:00:00.000Z');
    recordGateway(db, { address: '10.0.0.1', mac: 'not a mac' }, '2026-11-02T10:00:00.000Z');
    expect(db.prepare('SELECT * FROM workspace_networks').all()).toEqual([
      {
        gateway_mac: '3c:37:86:5e:aa:01',
        gateway_address: '192.168.1.254',
        first_seen: '2026-11-01T10:00:00.000Z',
        last_seen: '2026-11-02T10:00:00.000Z',
      },
    ]);
  });

  it('keeps the most recently seen networks only', () => {
    const db = createMemoryWorkspace();
    for (let i = 0; i < NETWORKS_KEPT + 3; i++) {
      const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
      recordGateway(db, { address: '10.0.0.1', mac }, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString());
    }
    const rows = db.prepare('SELECT gateway_mac FROM workspace_networks').all() as Row[];
    expect(rows).toHaveLength(NETWORKS_KEPT);
    expect(rows.some((r) => r.gateway_mac === '02:00:00:00:00:00')).toBe(false);
  });

  it('learns a gateway only when told; on open and on the clock it only refreshes a known one', async () => {
    const db = createMemoryWorkspace();
    const clock = new ManualClock('2026-11-01T09:00:00.000Z');
    let gateway: Gateway | null = { address: '192.168.1.1', mac: '3c:37:86:5e:aa:01' };
    let reads = 0;
    const watch = startNetworkWatch({
      db,
      clock,
      read: async () => {
        reads++;
        return gateway;
      },
    });
    const rows = (): Row[] =>
      db.prepare('SELECT * FROM workspace_networks ORDER BY gateway_mac').all() as Row[];
    // Open on a network, for as long as you like: nothing learned.
    await watch.settled();
    expect(reads).toBe(1);
    clock.advance(NETWORK_WATCH_EVERY_MS);
    await watch.settled();
    expect(reads).toBe(2);
    expect(rows()).toEqual([]);
    // Evidence: this network is learned.
    watch.learn();
    await watch.settled();
    expect(rows().map((r) => [r.gateway_mac, r.first_seen, r.last_seen])).toEqual([
      ['3c:37:86:5e:aa:01', '2026-11-01T09:05:00.000Z', '2026-11-01T09:05:00.000Z'],
    ]);
    // The clock refreshes its last sighting; another network on the clock is not learned.
    clock.advance(NETWORK_WATCH_EVERY_MS - 1);
    await watch.settled();
    expect(reads).toBe(3);
    clock.advance(1);
    await watch.settled();
    expect(rows().map((r) => [r.first_seen, r.last_seen])).toEqual([
      ['2026-11-01T09:05:00.000Z', '2026-11-01T09:10:00.000Z'],
    ]);
    gateway = { address: '10.1.0.1', mac: '02:aa:bb:cc:dd:ee' };
    clock.advance(NETWORK_WATCH_EVERY_MS);
    await watch.settled();
    expect(rows().map((r) => r.gateway_mac)).toEqual(['3c:37:86:5e:aa:01']);
    gateway = null;
    watch.learn();
    await watch.settled();
    expect(rows()).toHaveLength(1);
    watch.stop();
    expect(clock.pending).toBe(0);
  });

  it('a read that finishes after stop writes nothing, and a failing read is reported, not thrown', async () => {
    const db = createMemoryWorkspace();
    const clock = new ManualClock('2026-11-01T09:00:00.000Z');
    let finish: (g: Gateway) => void = () => undefined;
    const watch = startNetworkWatch({
      db,
      clock,
      read: () => new Promise<Gateway>((resolve) => (finish = resolve)),
    });
    watch.learn();
    watch.stop();
    finish({ address: '192.168.1.1', mac: '3c:37:86:5e:aa:01' });
    await watch.settled();
    expect(db.prepare('SELECT COUNT(*) AS n FROM workspace_networks').get()).toEqual({ n: 0 });

    const errors: unknown[] = [];
    const failing = startNetworkWatch({
      db,
      clock,
      read: () => Promise.reject(new Error('route table unreadable')),
      onError: (error) => errors.push(error),
    });
    await failing.settled();
    expect(String(errors[0])).toMatch(/unreadable/u);
    failing.stop();
  });
});
