import type { Database } from 'better-sqlite3';
import { learnableName, mayReplaceName, nameUsedByOtherHost, type NameSource } from './host-names';
import { now, parseJsonArray } from './time';

/** Networks the admin saved, and scans (one discovery run each) with what they saw. */
export interface SavedNetwork {
  id: number;
  name: string;
  targets: string;
  exclude: string;
  ports: string | null;
}

export function listNetworks(db: Database): SavedNetwork[] {
  return db
    .prepare('SELECT id, name, targets, exclude, ports FROM networks ORDER BY name')
    .all() as SavedNetwork[];
}

export function saveNetwork(
  db: Database,
  input: { name: string; targets: string; exclude?: string; ports?: string | null },
): SavedNetwork {
  const at = now();
  db.prepare(
    `INSERT INTO networks (name, targets, exclude, ports, created_at, updated_at) VALUES (@name, @targets, @exclude, @ports, @at, @at)
     ON CONFLICT(name) DO UPDATE SET targets = excluded.targets, exclude = excluded.exclude, ports = excluded.ports, updated_at = excluded.updated_at`,
  ).run({
    name: input.name,
    targets: input.targets,
    exclude: input.exclude ?? '',
    ports: input.ports ?? null,
    at,
  });
  return db
    .prepare('SELECT id, name, targets, exclude, ports FROM networks WHERE name = ?')
    .get(input.name) as SavedNetwork;
}

export function deleteNetwork(db: Database, id: number): boolean {
  return db.prepare('DELETE FROM networks WHERE id = ?').run(id).changes > 0;
}

export interface ScanRecord {
  id: number;
  taskId: number | null;
  targets: string;
  ports: number[];
  status: 'running' | 'completed' | 'cancelled' | 'failed' | 'interrupted';
  addressesTotal: number;
  addressesProbed: number;
  hostsFound: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

type Row = Record<string, unknown>;
const toScan = (row: Row): ScanRecord => ({
  id: row.id as number,
  taskId: (row.task_id as number | null) ?? null,
  targets: row.targets as string,
  ports: parseJsonArray<number>(row.ports as string),
  status: row.status as ScanRecord['status'],
  addressesTotal: row.addresses_total as number,
  addressesProbed: row.addresses_probed as number,
  hostsFound: row.hosts_found as number,
  error: (row.error as string | null) ?? null,
  startedAt: row.started_at as string,
  finishedAt: (row.finished_at as string | null) ?? null,
});

/**
 * The addresses a scan was asked to probe, compact: runs of consecutive IPv4 addresses as
 * [first, last] numbers, every other address (IPv6) as its text. A forced /12 is one run.
 */
export interface ScanCoverage {
  v4: [number, number][];
  other: string[];
}

function ipv4Number(address: string): number | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/u.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

export function coverageOf(addresses: readonly string[]): ScanCoverage {
  const numbers: number[] = [];
  const other = new Set<string>();
  for (const a of addresses) {
    const n = ipv4Number(a);
    if (n === null) other.add(a.toLowerCase());
    else numbers.push(n);
  }
  numbers.sort((a, b) => a - b);
  const v4: [number, number][] = [];
  for (const n of numbers) {
    const last = v4[v4.length - 1];
    if (last && n <= last[1] + 1) last[1] = Math.max(last[1], n);
    else v4.push([n, n]);
  }
  return { v4, other: [...other] };
}

/** Whether the coverage holds the address (binary search over the IPv4 runs). */
export function coverageHolds(coverage: ScanCoverage, address: string): boolean {
  const n = ipv4Number(address);
  if (n === null) return coverage.other.includes(address.toLowerCase());
  let lo = 0;
  let hi = coverage.v4.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = coverage.v4[mid]!;
    if (n < first) hi = mid - 1;
    else if (n > last) lo = mid + 1;
    else return true;
  }
  return false;
}

function parseCoverage(text: unknown): ScanCoverage | null {
  if (typeof text !== 'string') return null;
  try {
    const value = JSON.parse(text) as Partial<ScanCoverage>;
    if (!Array.isArray(value.v4) || !Array.isArray(value.other)) return null;
    return { v4: value.v4, other: value.other };
  } catch {
    return null;
  }
}

/**
 * Completed scans that recorded what they covered, newest first: the only scans that may call a
 * host "not seen". Bounded: a host none of the last `limit` completed scans covered is unknown.
 */
export function listCompletedCoverage(db: Database, limit = 200): CoverageView {
  // Read for every host shown (scans.results asks host by host), so parsed once per set of scans:
  // a scan's coverage never changes, and the set changes only when a scan completes.
  const { n, top, total } = db
    .prepare(
      `SELECT count(*) AS n, max(id) AS top, total(id) AS total FROM scans WHERE status = 'completed' AND coverage IS NOT NULL`,
    )
    .get() as { n: number; top: number | null; total: number };
  const key = `${n}:${top}:${total}:${limit}`;
  const cached = coverageCache.get(db);
  if (cached?.key === key) return cached.view;
  const view = readCompletedCoverage(db, limit);
  coverageCache.set(db, { key, view });
  return view;
}

type CoverageView = { scanId: number; coverage: ScanCoverage }[];
const coverageCache = new WeakMap<Database, { key: string; view: CoverageView }>();

function readCompletedCoverage(db: Database, limit: number): CoverageView {
  const rows = db
    .prepare(
      `SELECT id, coverage FROM scans WHERE status = 'completed' AND coverage IS NOT NULL ORDER BY id DESC LIMIT ?`,
    )
    .all(limit) as { id: number; coverage: string }[];
  return rows.flatMap((r) => {
    const coverage = parseCoverage(r.coverage);
    return coverage ? [{ scanId: r.id, coverage }] : [];
  });
}

export function startScan(
  db: Database,
  input: {
    taskId: number | null;
    targets: string;
    ports: number[];
    total: number;
    networkId?: number | null;
    /** Every address the scan will probe (after exclusions). */
    addresses?: readonly string[];
  },
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO scans (task_id, network_id, targets, ports, status, addresses_total, coverage, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)`,
      )
      .run(
        input.taskId,
        input.networkId ?? null,
        input.targets,
        JSON.stringify(input.ports),
        input.total,
        input.addresses ? JSON.stringify(coverageOf(input.addresses)) : null,
        now(),
      ).lastInsertRowid,
  );
}

export function updateScanProgress(db: Database, scanId: number, probed: number, found: number): void {
  db.prepare('UPDATE scans SET addresses_probed = ?, hosts_found = ? WHERE id = ?').run(
    probed,
    found,
    scanId,
  );
}

export function finishScan(
  db: Database,
  scanId: number,
  status: 'completed' | 'cancelled' | 'failed',
  error?: string,
): void {
  db.prepare('UPDATE scans SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(
    status,
    error ?? null,
    now(),
    scanId,
  );
}

export function markInterruptedScans(db: Database): number {
  return db
    .prepare(`UPDATE scans SET status = 'interrupted', finished_at = ? WHERE status = 'running'`)
    .run(now()).changes;
}

export function getScan(db: Database, id: number): ScanRecord | null {
  const row = db.prepare('SELECT * FROM scans WHERE id = ?').get(id) as Row | undefined;
  return row ? toScan(row) : null;
}

export function listScans(db: Database, limit = 50): ScanRecord[] {
  return (db.prepare('SELECT * FROM scans ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(toScan);
}

/** Identifiers of every known host, for matching a new observation (MAC, host key, name, address). */
export function knownHostIdentities(
  db: Database,
): { id: number; macs: string[]; hostKeyFingerprints: string[]; names: string[]; addresses: string[] }[] {
  const hosts = db.prepare('SELECT id, name, mac, names FROM hosts').all() as {
    id: number;
    name: string;
    mac: string | null;
    names: string;
  }[];
  const addresses = db.prepare('SELECT host_id, address FROM host_addresses').all() as {
    host_id: number;
    address: string;
  }[];
  const keys = db.prepare(`SELECT host_id, fingerprint FROM host_keys WHERE status = 'trusted'`).all() as {
    host_id: number;
    fingerprint: string;
  }[];
  const byHost = <T extends { host_id: number }>(rows: T[], pick: (r: T) => string) => {
    const map = new Map<number, string[]>();
    for (const r of rows) map.set(r.host_id, [...(map.get(r.host_id) ?? []), pick(r)]);
    return map;
  };
  const addressMap = byHost(addresses, (r) => r.address);
  const keyMap = byHost(keys, (r) => r.fingerprint);
  return hosts.map((h) => ({
    id: h.id,
    macs: h.mac ? [h.mac] : [],
    hostKeyFingerprints: keyMap.get(h.id) ?? [],
    names: [h.name, ...parseJsonArray<string>(h.names)],
    addresses: addressMap.get(h.id) ?? [],
  }));
}

export interface ObservedHost {
  address: string;
  /** The best name the scan found for the host (its source in `nameSource`). */
  name: string | null;
  /** Where `name` came from; a name from an unnamed source counts as 'scan'. */
  nameSource?: NameSource;
  names: string[];
  mac: string | null;
  macVendor: string | null;
  osFamily: string | null;
  osName: string | null;
  osVersion: string | null;
  osConfidence: number;
  osEvidence: string[];
  management: string[];
  services: { port: number; state: string; service: string | null; banner: string | null }[];
  openPorts: number[];
  result: unknown;
}

/**
 * Records one host a scan saw: updates the matched host (or creates one), its address, open
 * ports and the scan's own row — in one transaction. An OS guess replaces a stored one only
 * when it is at least as confident (an audit's answer, confidence 1, is never overridden).
 */
export function recordScanHost(
  db: Database,
  scanId: number,
  observed: ObservedHost,
  matchedHostId: number | null,
  options: { addToInventory: boolean },
): { hostId: number; isNew: boolean } {
  return db.transaction(() => {
    const at = now();
    let hostId = matchedHostId;
    const isNew = hostId === null;
    const nameSource: NameSource = observed.nameSource ?? 'scan';
    const learnable = observed.name === null ? null : learnableName(observed.name, nameSource);
    const learned = learnable !== null && nameUsedByOtherHost(db, learnable, hostId) ? null : learnable;
    if (hostId === null) {
      hostId = Number(
        db
          .prepare(
            `INSERT INTO hosts (name, name_source, address, in_inventory, first_seen, last_seen, first_scan_id, last_scan_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            learned ?? observed.address,
            learned === null ? 'address' : nameSource,
            observed.address,
            options.addToInventory ? 1 : 0,
            at,
            at,
            scanId,
            scanId,
            at,
            at,
          ).lastInsertRowid,
      );
    }
    const current = db
      .prepare('SELECT os_confidence, names, in_inventory, name_source FROM hosts WHERE id = ?')
      .get(hostId) as {
      os_confidence: number | null;
      names: string;
      in_inventory: number;
      name_source: NameSource;
    };
    if (!isNew && learned !== null && mayReplaceName(current.name_source, nameSource))
      db.prepare('UPDATE hosts SET name = ?, name_source = ? WHERE id = ?').run(learned, nameSource, hostId);
    const names = [...new Set([...parseJsonArray<string>(current.names), ...observed.names])].slice(0, 20);
    const replaceOs =
      observed.osFamily !== null &&
      (current.os_confidence === null || observed.osConfidence >= current.os_confidence);
    db.prepare(
      `UPDATE hosts SET address = @address, mac = coalesce(@mac, mac), mac_vendor = coalesce(@macVendor, mac_vendor), names = @names,
         management = @management, last_seen = @at, last_scan_id = @scanId, first_seen = coalesce(first_seen, @at),
         first_scan_id = coalesce(first_scan_id, @scanId), in_inventory = @inInventory, updated_at = @at
         ${replaceOs ? ', os_family = @osFamily, os_name = @osName, os_version = @osVersion, os_confidence = @osConfidence, os_evidence = @osEvidence' : ''}
       WHERE id = @hostId`,
    ).run({
      hostId,
      address: observed.address,
      mac: observed.mac,
      macVendor: observed.macVendor,
      names: JSON.stringify(names),
      management: JSON.stringify(observed.management),
      at,
      scanId,
      inInventory: options.addToInventory || current.in_inventory === 1 ? 1 : 0,
      ...(replaceOs
        ? {
            osFamily: observed.osFamily,
            osName: observed.osName,
            osVersion: observed.osVersion,
            osConfidence: observed.osConfidence,
            osEvidence: JSON.stringify(observed.osEvidence),
          }
        : {}),
    });
    db.prepare(
      `INSERT INTO host_addresses (host_id, address, first_seen, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT(host_id, address) DO UPDATE SET last_seen = excluded.last_seen`,
    ).run(hostId, observed.address, at, at);
    db.prepare('DELETE FROM host_services WHERE host_id = ?').run(hostId);
    const insertService = db.prepare(
      'INSERT INTO host_services (host_id, port, state, service, banner, last_seen) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const s of observed.services) insertService.run(hostId, s.port, s.state, s.service, s.banner, at);
    db.prepare(
      `INSERT INTO scan_hosts (scan_id, host_id, address, open_ports, was_new, result, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(scan_id, host_id) DO UPDATE SET result = excluded.result, open_ports = excluded.open_ports`,
    ).run(
      scanId,
      hostId,
      observed.address,
      JSON.stringify(observed.openPorts),
      isNew ? 1 : 0,
      JSON.stringify(observed.result),
      at,
    );
    return { hostId, isNew };
  })();
}

export function listScanHostIds(db: Database, scanId: number): { hostId: number; wasNew: boolean }[] {
  return (
    db.prepare('SELECT host_id, was_new FROM scan_hosts WHERE scan_id = ? ORDER BY address').all(scanId) as {
      host_id: number;
      was_new: number;
    }[]
  ).map((r) => ({ hostId: r.host_id, wasNew: r.was_new === 1 }));
}
