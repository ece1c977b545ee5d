/**
 * A scan as a task: check the targets, sweep them, record every live host in the workspace (its
 * names, services, OS guess and the SSH host key it showed, for review), and conclude honestly.
 * The contract's discovery calls are thin doors onto these functions.
 */
import type { Database } from 'better-sqlite3';
import type { EventBus } from '../api';
import type { CallResult, ParsedArgs } from '../api';
import { Host } from '../api';
import {
  finishScan,
  getHost,
  knownHostIdentities,
  listScanHostIds,
  readSettings,
  recordHostKeySighting,
  recordScanHost,
  saveNetwork,
  startScan as recordScanStart,
  updateScanProgress,
  type ObservedHost,
} from '../db';
import { learnableName, nameRank } from '../db';
import { probeHostKey, wsmanIdentify } from '../remote';
import type { TaskRunner } from '../tasks';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';
import { matchHost } from './identity';
import { parsePorts } from './ports';
import { sweep, type HostResult } from './sweep';
import { formatCount, parseTargets, type ParsedTargets } from './targets';
import type { ServiceInfo } from './tcp';

/** What a scan needs of the workspace it records into. */
export interface ScanDeps {
  db: Database;
  tasks: TaskRunner;
  events: EventBus;
}

function describeService(service: ServiceInfo): { service: string; banner: string | null } {
  switch (service.kind) {
    case 'ssh':
      return { service: 'ssh', banner: service.identification.raw };
    case 'http':
      return {
        service: service.winrm ? 'winrm' : service.tls ? 'https' : 'http',
        banner: [service.status, service.server].filter(Boolean).join(' ') || null,
      };
    case 'rdp':
      return { service: 'rdp', banner: service.selected ? `RDP (${service.selected})` : 'RDP' };
    case 'smb':
      return {
        service: 'smb',
        banner: `SMB${service.version}${service.dialect ? ` ${service.dialect}` : ''}`,
      };
    case 'vnc':
      return { service: 'vnc', banner: service.version };
    default:
      return { service: 'unknown', banner: service.note };
  }
}

/**
 * Turns a sweep result into what the workspace stores; every remote string is sanitised. The
 * host's name is the best-ranked name that is a plain host name (src/db/host-names.ts).
 */
export function observedFromResult(result: HostResult): ObservedHost {
  const ranked = [...result.names]
    .map((n) => ({ name: sanitizeText(n.name, { maxLength: 253 }), source: n.source }))
    .sort((a, b) => nameRank(b.source) - nameRank(a.source));
  const names = ranked.map((n) => n.name);
  const best = ranked.find((n) => learnableName(n.name, n.source) !== null) ?? null;
  const services = result.openPorts.map((port) => {
    const info = result.services.find((s) => s.port === port);
    const described = info ? describeService(info) : { service: null, banner: null };
    return {
      port,
      state: 'open',
      service: described.service,
      banner: described.banner ? sanitizeText(described.banner, { maxLength: 200 }) : null,
    };
  });
  const family = result.os.family;
  return {
    address: result.address,
    name: best?.name ?? null,
    nameSource: best?.source,
    names,
    mac: result.mac,
    macVendor: result.macVendor ? sanitizeText(result.macVendor, { maxLength: 100 }) : null,
    osFamily: family === 'unknown' ? null : family,
    osName: result.os.distribution ?? (family === 'unknown' ? null : result.os.name),
    osVersion: result.os.version,
    osConfidence: result.os.confidence,
    osEvidence: result.os.evidence.map((e) => sanitizeText(e, { maxLength: 300 })),
    management:
      result.management === 'both'
        ? ['ssh', 'winrm']
        : result.management === 'none'
          ? []
          : [result.management],
    services,
    openPorts: result.openPorts,
    result: {
      aliveBy: result.aliveBy,
      openPorts: result.openPorts,
      rttMs: result.rttMs,
      notes: result.notes,
      os: result.os,
    },
  };
}

function checkSummary(parsed: ParsedTargets): CallResult<'discovery.check'> {
  return {
    addresses: parsed.total,
    first: parsed.addresses.slice(0, 5),
    needsConfirmation: parsed.needsConfirmation,
    refused: parsed.refused,
    forceApplies: parsed.forceApplies,
    errors: parsed.errors.map((e) => (e.token ? `${e.token}: ${e.message}` : e.message)),
    warnings: parsed.warnings,
  };
}

/** What the targets hold, before anything is sent: counts, the first addresses, errors, limits. */
export async function checkScanTargets(
  request: ParsedArgs<'discovery.check'>,
): Promise<CallResult<'discovery.check'>> {
  return checkSummary(
    await parseTargets(request.targets, { exclude: request.exclude, force: request.force }),
  );
}

/**
 * Starts a scan as a task, after refusing targets that hold errors, too many addresses or none;
 * above a /22 only with `confirm`. Answers at once with the task, the scan and its address count.
 */
export async function startScan(
  deps: ScanDeps,
  request: ParsedArgs<'discovery.start'>,
): Promise<CallResult<'discovery.start'>> {
  const { db, tasks, events } = deps;
  const settings = readSettings(db);
  const parsed = await parseTargets(request.targets, { exclude: request.exclude, force: request.force });
  if (parsed.errors.length) {
    const shown = checkSummary(parsed).errors.slice(0, 3).join('; ');
    throw new PatchdeckError('bad-request', `Cannot scan these targets: ${shown}`);
  }
  // parseTargets reports a refusal as an error too (above); this is the same words, in case.
  if (parsed.refused) {
    throw new PatchdeckError(
      'bad-request',
      parsed.forceApplies
        ? `The targets hold ${formatCount(parsed.total)} addresses, more than a /16. Narrow them, or force the sweep.`
        : `The targets hold ${formatCount(parsed.total)} addresses; Patchdeck sweeps at most a /12, forced or not. Narrow them.`,
    );
  }
  if (parsed.needsConfirmation && !request.confirm) {
    throw new PatchdeckError(
      'conflict',
      `That is ${formatCount(parsed.total)} addresses (more than a /22). Confirm to scan them all.`,
    );
  }
  if (parsed.addresses.length === 0)
    throw new PatchdeckError('bad-request', 'The targets leave no address to scan.');
  let ports: number[];
  try {
    ports = request.ports ? parsePorts(request.ports) : settings.discoveryPorts;
  } catch (error) {
    throw new PatchdeckError('bad-request', error instanceof Error ? error.message : String(error));
  }
  if (request.saveAs)
    saveNetwork(db, {
      name: request.saveAs,
      targets: request.targets,
      exclude: request.exclude,
      ports: request.ports ?? null,
    });
  const total = parsed.addresses.length;
  let scanId = 0;
  const { task } = tasks.start(
    {
      kind: 'discovery',
      title: `Discover ${request.targets.slice(0, 60)}`,
      params: { targets: request.targets, ports },
    },
    async (ctx) => {
      const known = knownHostIdentities(db);
      const pinnedTypes = new Map(
        (
          db
            .prepare(
              `SELECT a.address, k.key_type FROM host_keys k JOIN host_addresses a ON a.host_id = k.host_id
               WHERE k.status = 'trusted' AND k.key_type NOT IN ('x509-certificate', 'ntlm-identity')
               ORDER BY k.id`,
            )
            .all() as { address: string; key_type: string }[]
        ).map((r) => [r.address, r.key_type]),
      );
      const runSweep: typeof sweep = async (...args) => {
        try {
          return await sweep(...args);
        } catch (error) {
          finishScan(db, scanId, 'failed', error instanceof Error ? error.message : String(error));
          throw error;
        }
      };
      const summary = await runSweep(
        parsed.addresses,
        {
          ports,
          connectTimeoutMs: request.timeoutMs ?? settings.discoveryTimeoutMs,
          reverseDns: request.reverseDns === false ? false : undefined,
          names: parsed.names,
          // Each live host is asked by unicast for the name it announces over mDNS (no multicast).
          mdnsNames: 'all',
          // The key exchange only: no user name that exists, no credential, nothing sent.
          // Ask first for the type already pinned for that address, so a host that also has
          // another key type does not look changed.
          sshHostKey: (address, port, signal) =>
            probeHostKey(address, port, {
              timeoutMs: 3000,
              signal,
              preferredType: pinnedTypes.get(address),
            }).catch(() => null),
          // WS-Man Identify is the one call WinRM answers without a login: no credential, and
          // HTTPS checks no certificate here (nothing secret is sent).
          wsmanIdentify: (address, port, https, signal) =>
            wsmanIdentify({ host: address, port, https }, { timeoutMs: 3000, signal }).catch(() => null),
        },
        {
          signal: ctx.signal,
          onProgress: (p) => {
            ctx.progress(p.probed, p.total, `${p.found} hosts found`);
            updateScanProgress(db, scanId, p.probed, p.found);
          },
          // mDNS answers arrive after the sweep: the host is recorded again with its new names.
          onHostUpdate: (result) => record(result),
          onHost: (result) => record(result),
        },
      );
      function record(result: HostResult): void {
        const observed = observedFromResult(result);
        const seenKey = result.sshHostKey;
        // The key is recorded for review, not used to match: a rekeyed host must show up as
        // "key changed" on the host it is, not as a new machine.
        const match = matchHost(
          { address: observed.address, mac: observed.mac, names: observed.names },
          known,
        );
        const { hostId, isNew } = recordScanHost(db, scanId, observed, match ? Number(match.hostId) : null, {
          addToInventory: request.addToInventory === true,
        });
        if (seenKey)
          recordHostKeySighting(db, {
            hostId,
            type: seenKey.type,
            fingerprint: seenKey.fingerprint,
            publicKey: seenKey.publicKey,
            source: 'scan',
            address: observed.address,
          });
        // WinRM over HTTPS: the certificate the scan's check saw (no login), for review like an
        // SSH key, so the PC can be trusted before its first audit.
        for (const s of result.services)
          if (s.kind === 'http' && s.certificate?.presented)
            recordHostKeySighting(db, {
              hostId,
              type: 'x509-certificate',
              fingerprint: s.certificate.presented.fingerprint,
              publicKey: s.certificate.presented.pem,
              source: 'scan',
              address: observed.address,
            });
        if (isNew)
          known.push({
            id: hostId,
            macs: observed.mac ? [observed.mac] : [],
            hostKeyFingerprints: [],
            names: observed.names,
            addresses: [observed.address],
          });
        events.emit('discovery.host', { scanId, hostId, address: observed.address, isNew });
      }
      updateScanProgress(db, scanId, summary.probed, summary.hosts.length);
      finishScan(db, scanId, summary.status === 'cancelled' ? 'cancelled' : 'completed');
      events.emit('entity.changed', { entity: 'scans', ids: [scanId] });
      events.emit('entity.changed', { entity: 'hosts' });
      const found = `${summary.hosts.length} host${summary.hosts.length === 1 ? '' : 's'}`;
      ctx.conclude({
        summary:
          summary.status === 'cancelled'
            ? `cancelled after ${formatCount(summary.probed)} of ${formatCount(total)} addresses; found ${found}`
            : `found ${found} in ${formatCount(total)} address${total === 1 ? '' : 'es'}`,
      });
      if (summary.status === 'cancelled') throw new PatchdeckError('cancelled', 'Cancelled by the user.');
      return { scanId, hosts: summary.hosts.length, durationMs: Math.round(summary.durationMs) };
    },
    (taskId) => {
      scanId = recordScanStart(db, {
        taskId,
        targets: request.targets,
        ports,
        total,
        addresses: parsed.addresses,
      });
    },
  );
  return { taskId: task.id, scanId, addresses: total };
}

/** The hosts one scan saw, each as it is now, marked when the scan found it new. */
export function listScanResults(db: Database, scanId: number): CallResult<'scans.results'> {
  return listScanHostIds(db, scanId).flatMap(({ hostId, wasNew }) => {
    const host = getHost(db, hostId);
    return host ? [{ ...Host.parse(host), wasNew }] : [];
  });
}
