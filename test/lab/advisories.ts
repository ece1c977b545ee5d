// Advisories for the lab's own Debian packages, written in the publishers' real formats: OSV
// records as osv.dev serves Debian's (ecosystem "Debian:12", SOURCE package names, DSA-style ids;
// see test/fixtures/advisories/osv-samples) and one Debian Security Tracker JSON
// ({source: {CVE: {description, scope, releases: {codename: {status, repositories, fixed_version,
// urgency}}}}}; see test/fixtures/advisories/debian-tracker). The full tracker and OSV exports
// cannot be fetched here, so these stand in for them and give the Debian lab hosts an exact answer.
//
// The CVE ids are real ones borrowed so that the real KEV and EPSS files have something to say
// about lab packages (CVE-2023-4911 is known-exploited; the CVE-2026-9000x ids are in neither
// file); the advisories themselves, their ids (DSA-9xxx) and versions are the lab's.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEB_PACKAGES, debSourceOf } from './recipe';

/** One OSV record's worth: a source package fixed in one version. */
export interface LabOsvAdvisory {
  id: string;
  source: string;
  fixed: string;
  cves: string[];
  published: string;
  summary: string;
}

/** One (source, CVE) of the tracker, bookworm's entry. */
export interface LabTrackerEntry {
  source: string;
  cve: string;
  status: 'resolved' | 'open' | 'undetermined';
  /** resolved only; '0' = not affected. */
  fixedVersion?: string;
  urgency: string;
  description: string;
}

/**
 * What the lab publishes, case by case (host profiles `several` and `sources`, recipe.ts):
 * - acme-tool 1.0-1 → 1.0-1+deb12u1: DSA-9001-1 fixes CVE-2023-4911 (KEV); the tracker says the
 *   same (one CVE, two feeds: counted once) and lists an `unimportant` CVE that is skipped.
 * - acme-codec (binaries libacme-codec1 and acme-codec-tools) → 4.2-1+deb12u1: DSA-9002-1, by
 *   source name; an `undetermined` tracker CVE is skipped.
 * - acme-backport 2.0-1~bpo12+1 → 2.0-2~bpo12+1: DSA-9003-1 fixed in 2.0-2~bpo12+1 counts;
 *   DSA-9004-1 fixed in 2.0-2 does not (2.0-2~bpo12+1 < 2.0-2: the backport does not reach it).
 * - acme-lib: an open CVE with no fix (listed apart as unfixed; the acme-lib update fixes nothing).
 * - acme-daemon: resolved with fixed_version "0" (not affected: skipped everywhere).
 * - acme-base: an open but `unimportant` CVE (skipped).
 * - acme-firmware and acme-held: security updates that no advisory names.
 */
export const LAB_OSV_ADVISORIES: LabOsvAdvisory[] = [
  {
    id: 'DSA-9001-1',
    source: 'acme-tool',
    fixed: '1.0-1+deb12u1',
    cves: ['CVE-2023-4911'],
    published: '2026-01-12T00:00:00Z',
    summary: 'acme-tool - security update',
  },
  {
    id: 'DSA-9002-1',
    source: 'acme-codec',
    fixed: '4.2-1+deb12u1',
    cves: ['CVE-2024-6387', 'CVE-2023-38545'],
    published: '2026-01-13T00:00:00Z',
    summary: 'acme-codec - security update',
  },
  {
    id: 'DSA-9003-1',
    source: 'acme-backport',
    fixed: '2.0-2~bpo12+1',
    cves: ['CVE-2022-0778'],
    published: '2026-01-14T00:00:00Z',
    summary: 'acme-backport - security update',
  },
  {
    id: 'DSA-9004-1',
    source: 'acme-backport',
    fixed: '2.0-2',
    cves: ['CVE-2026-90004'],
    published: '2026-01-15T00:00:00Z',
    summary: 'acme-backport - security update',
  },
];

export const LAB_TRACKER: LabTrackerEntry[] = [
  {
    source: 'acme-tool',
    cve: 'CVE-2023-4911',
    status: 'resolved',
    fixedVersion: '1.0-1+deb12u1',
    urgency: 'high',
    description: 'lab: acme-tool buffer overflow (fixed in 1.0-1+deb12u1, also DSA-9001-1)',
  },
  {
    source: 'acme-tool',
    cve: 'CVE-2023-5678',
    status: 'resolved',
    fixedVersion: '1.0-1+deb12u1',
    urgency: 'unimportant',
    description: 'lab: acme-tool minor issue Debian rates unimportant',
  },
  {
    source: 'acme-codec',
    cve: 'CVE-2024-2961',
    status: 'undetermined',
    urgency: 'not yet assigned',
    description: 'lab: acme-codec issue still being looked at',
  },
  {
    source: 'acme-lib',
    cve: 'CVE-2026-90001',
    status: 'open',
    urgency: 'low',
    description: 'lab: acme-lib issue with no fix yet',
  },
  {
    source: 'acme-daemon',
    cve: 'CVE-2026-90002',
    status: 'resolved',
    fixedVersion: '0',
    urgency: 'not yet assigned',
    description: 'lab: acme-daemon never had the vulnerable code (not affected)',
  },
  {
    source: 'acme-base',
    cve: 'CVE-2026-90003',
    status: 'open',
    urgency: 'unimportant',
    description: 'lab: acme-base open issue Debian rates unimportant',
  },
];

/** The version of a source in bookworm (its first version in the recipe), as the tracker's `repositories` shows. */
function bookwormVersionOf(source: string): string {
  const pkg = DEB_PACKAGES.find((p) => debSourceOf(p) === source);
  if (!pkg) throw new Error(`the lab has no source package ${source}`);
  return pkg.versions[0]!.version;
}

/** An OSV record in osv.dev's layout for Debian (as DSA-3029-1 in the fixtures). */
export function osvRecord(a: LabOsvAdvisory): object {
  const num = a.id.replace(/^DSA-(\d+)-\d+$/, '$1');
  return {
    id: a.id,
    summary: a.summary,
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: a.source },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: a.fixed }] }],
      },
    ],
    aliases: a.cves,
    published: a.published,
    modified: a.published,
    details: `\nThe Patchdeck lab fixed ${a.cves.join(', ')} in ${a.source}.\n\nFor the stable distribution (bookworm), this problem has been fixed in\nversion ${a.fixed}.\n`,
    references: [{ type: 'ADVISORY', url: `https://www.debian.org/security/2026/dsa-${num}` }],
  };
}

/** The tracker JSON: bookworm's entry for each (source, CVE), plus sid's (which names no host's release). */
export function trackerJson(entries: LabTrackerEntry[] = LAB_TRACKER): object {
  const out: Record<string, Record<string, object>> = {};
  for (const e of entries) {
    const inBookworm = bookwormVersionOf(e.source);
    const bookworm: Record<string, unknown> = {
      status: e.status,
      repositories: { bookworm: inBookworm },
      ...(e.fixedVersion !== undefined ? { fixed_version: e.fixedVersion } : {}),
      urgency: e.urgency,
    };
    const sid = {
      status: 'resolved',
      repositories: { sid: '99.0-1' },
      fixed_version: '99.0-1',
      urgency: e.urgency,
    };
    (out[e.source] ??= {})[e.cve] = {
      description: e.description,
      scope: 'remote',
      releases: { bookworm, sid },
    };
  }
  return out;
}

/** Writes `osv/<id>.json` for each record and `debian-tracker.json` under dir; returns their paths. */
export async function writeLabAdvisories(dir: string): Promise<{ osv: string[]; tracker: string }> {
  await mkdir(path.join(dir, 'osv'), { recursive: true });
  const osv: string[] = [];
  for (const a of LAB_OSV_ADVISORIES) {
    const file = path.join(dir, 'osv', `${a.id}.json`);
    await writeFile(file, JSON.stringify(osvRecord(a), null, 2) + '\n');
    osv.push(file);
  }
  const tracker = path.join(dir, 'debian-tracker.json');
  await writeFile(tracker, JSON.stringify(trackerJson(), null, 2) + '\n');
  return { osv, tracker };
}
