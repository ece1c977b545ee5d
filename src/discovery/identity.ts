import { normalizeAddress } from './ip';
import { isUnicastMac, normalizeMac } from './neighbours';

/** What one scan learned that can identify a machine. */
export interface HostObservation {
  address: string;
  mac?: string | null;
  /** SSH host-key fingerprints ("SHA256:…"). */
  hostKeyFingerprints?: string[];
  names?: string[];
}

/** A host already in the workspace, with every identifier seen for it so far. */
export interface KnownHost {
  id: string | number;
  macs?: string[];
  hostKeyFingerprints?: string[];
  names?: string[];
  addresses?: string[];
}

export interface HostMatch {
  hostId: string | number;
  by: 'mac' | 'host-key' | 'name' | 'address';
}

function normName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/u, '');
}

/**
 * Finds the known host an observation belongs to, trying MAC, then SSH host key, then name,
 * then address. A weaker match is refused when both sides carry a stronger identifier and it
 * differs: a new machine that got an old machine's DHCP address (different MAC) is a new host.
 */
export function matchHost(observation: HostObservation, known: readonly KnownHost[]): HostMatch | null {
  const mac = observation.mac ? normalizeMac(observation.mac) : null;
  const obsMac = mac && isUnicastMac(mac) ? mac : null;
  const obsKeys = new Set(observation.hostKeyFingerprints ?? []);
  const obsNames = new Set((observation.names ?? []).map(normName).filter(Boolean));
  const obsAddress = normalizeAddress(observation.address) ?? observation.address;

  const macsOf = (h: KnownHost): Set<string> =>
    new Set((h.macs ?? []).map((m) => normalizeMac(m)).filter((m): m is string => m !== null));
  const conflictsOn = (h: KnownHost, level: 'mac' | 'host-key'): boolean => {
    if (level === 'mac') {
      const macs = macsOf(h);
      return obsMac !== null && macs.size > 0 && !macs.has(obsMac);
    }
    const keys = h.hostKeyFingerprints ?? [];
    return obsKeys.size > 0 && keys.length > 0 && !keys.some((k) => obsKeys.has(k));
  };

  if (obsMac) {
    const hit = known.find((h) => macsOf(h).has(obsMac));
    if (hit) return { hostId: hit.id, by: 'mac' };
  }
  if (obsKeys.size > 0) {
    const hit = known.find(
      (h) => (h.hostKeyFingerprints ?? []).some((k) => obsKeys.has(k)) && !conflictsOn(h, 'mac'),
    );
    if (hit) return { hostId: hit.id, by: 'host-key' };
  }
  if (obsNames.size > 0) {
    const hit = known.find(
      (h) =>
        (h.names ?? []).some((n) => obsNames.has(normName(n))) &&
        !conflictsOn(h, 'mac') &&
        !conflictsOn(h, 'host-key'),
    );
    if (hit) return { hostId: hit.id, by: 'name' };
  }
  const hit = known.find(
    (h) =>
      (h.addresses ?? []).some((a) => (normalizeAddress(a) ?? a) === obsAddress) &&
      !conflictsOn(h, 'mac') &&
      !conflictsOn(h, 'host-key'),
  );
  return hit ? { hostId: hit.id, by: 'address' } : null;
}
