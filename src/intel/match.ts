import type { FindingCveRow, KnownAdvisory, SnapshotPackageRow } from '../db';
import type { VersionScheme } from './types';
import { compareVersions } from './version';

/**
 * Which CVEs a pending update fixes, and why. A finding (installed → available) fixes an
 * advisory's CVE when, in the host's ecosystem, a 'fixed' row names the finding's binary (feeds
 * that name binaries: AlmaLinux, Rocky, SUSE; binary versions) or its source package (Debian,
 * Ubuntu, Alpine, the tracker; source versions, the binary's when the source is unknown) and
 * installed < fixed ≤ available. Pure: the caller hands in the snapshot rows it loaded.
 */

export interface MatchableFinding {
  package: string;
  installedVersion: string | null;
  availableVersion: string;
  sourcePackage: string | null;
  sourceInstalledVersion: string | null;
  sourceAvailableVersion: string | null;
  /** Advisory and CVE ids the package manager reported for this update. */
  advisories: string[];
}

export interface MatchOptions {
  /** Count tracker rows of urgency 'unimportant' too (off by default, as the best scanners do). */
  includeUnimportant?: boolean;
}

export interface MatchResult {
  /** Evidence rows, one per (CVE, advisory). */
  evidence: FindingCveRow[];
  /** Sorted, unique. */
  cves: string[];
  /** The snapshot advisories this finding fixes (their ratings decide its severity). */
  advisories: {
    advisoryRowId: number;
    advisoryId: string;
    severity: SnapshotPackageRow['severity'];
    cvssScore: number | null;
  }[];
  /** Advisory ids the package manager reported that the snapshot does not know. */
  unmatchedAdvisories: string[];
}

const CVE_ID = /^CVE-\d{4}-\d{4,7}$/;

/** RHSA-, ALSA- and RLSA-2023:6077 are one advisory (AlmaLinux and Rocky rebuild Red Hat's); the key they share. */
export function advisoryKey(id: string): string {
  const upper = id.trim().toUpperCase();
  const m = /^(?:RH|AL|RL)(SA|BA|EA)-(\d{4}:\d{1,7})$/.exec(upper);
  return m ? `EL${m[1]}-${m[2]}` : upper;
}

/** The ids to look up in the snapshot for one reported id (the same EL advisory under each rebuilder's prefix). */
export function advisoryLookupIds(id: string): string[] {
  const upper = id.trim().toUpperCase();
  const m = /^(RH|AL|RL)(SA|BA|EA)-(\d{4}:\d{1,7})$/.exec(upper);
  if (!m) return [upper];
  return ['RH', 'AL', 'RL'].map((p) => `${p}${m[2]}-${m[3]}`);
}

/** An rpm release of a module build ("module_el9.2.0", "module+el9.2.0+…"): compared only with module builds. */
function isModuleBuild(evr: string): boolean {
  return /module[_+]el\d/.test(evr);
}

/** The leading number of an EVR's version part (after the epoch): a module stream's major version. */
function majorOf(evr: string): string {
  const colon = evr.indexOf(':');
  const version = colon >= 0 ? evr.slice(colon + 1) : evr;
  return /^(\d*)/.exec(version)![1]!;
}

/** Module builds compare with module builds of the same major version only, normal builds with normal builds. */
function comparableRpm(a: string, b: string): boolean {
  const ma = isModuleBuild(a);
  if (ma !== isModuleBuild(b)) return false;
  return !ma || majorOf(a) === majorOf(b);
}

/** The tracker's urgency without its "not confirmed" stars ('low**' → 'low'). */
export function plainUrgency(urgency: string | null): string | null {
  return urgency === null ? null : urgency.replace(/\*+$/, '').trim().toLowerCase();
}

/** A row the matching leaves out by default: not affected, undetermined, or of 'unimportant' urgency. */
export function skippedRow(row: SnapshotPackageRow, options: MatchOptions = {}): boolean {
  if (row.status === 'not-affected' || row.status === 'undetermined') return true;
  return !options.includeUnimportant && plainUrgency(row.urgency) === 'unimportant';
}

/** Whether installed < fixed ≤ available (and installed ≥ introduced when the row says so). */
function fixesBetween(
  scheme: VersionScheme,
  row: SnapshotPackageRow,
  installed: string,
  available: string,
): boolean {
  const fixed = row.fixed;
  if (row.status !== 'fixed' || fixed === null || fixed === '') return false;
  if (scheme === 'rpm' && !(comparableRpm(installed, fixed) && comparableRpm(fixed, available))) return false;
  if (compareVersions(scheme, installed, fixed) >= 0) return false;
  if (compareVersions(scheme, fixed, available) > 0) return false;
  const introduced = row.introduced;
  if (introduced && introduced !== '0') {
    if (scheme === 'rpm' && !comparableRpm(introduced, installed)) return false;
    if (compareVersions(scheme, installed, introduced) < 0) return false;
  }
  return true;
}

/**
 * The CVEs one finding fixes. `rows` are the snapshot rows of the host's ecosystem naming the
 * finding's binary or source name (others are ignored); `known` the snapshot's advisories whose
 * ids the package manager reported (by `advisoryLookupIds`).
 */
export function matchFinding(
  finding: MatchableFinding,
  ecosystem: string | null,
  scheme: VersionScheme | null,
  rows: readonly SnapshotPackageRow[],
  known: readonly KnownAdvisory[],
  options: MatchOptions = {},
): MatchResult {
  const evidence: FindingCveRow[] = [];
  const cves = new Set<string>();
  const advisories = new Map<number, MatchResult['advisories'][number]>();
  // A new dependency or a zypper patch (nothing installed) fixes nothing by version: there was no
  // vulnerable version to compare. What the package manager reported still counts (below).
  const installed = finding.installedVersion;
  const sourceName = finding.sourcePackage ?? finding.package;
  const sourceAvailable =
    finding.sourcePackage !== null
      ? (finding.sourceAvailableVersion ?? finding.availableVersion)
      : finding.availableVersion;

  if (ecosystem !== null && scheme !== null && installed !== null && installed !== '') {
    const sourceInstalled =
      finding.sourcePackage !== null ? (finding.sourceInstalledVersion ?? installed) : installed;
    for (const row of rows) {
      if (row.ecosystem !== ecosystem || skippedRow(row, options)) continue;
      let name: string;
      let ok: boolean;
      if (row.nameKind === 'binary') {
        name = finding.package;
        ok = row.package === name && fixesBetween(scheme, row, installed, finding.availableVersion);
      } else {
        name = sourceName;
        ok = row.package === name && fixesBetween(scheme, row, sourceInstalled, sourceAvailable);
      }
      if (!ok) continue;
      advisories.set(row.advisoryRowId, {
        advisoryRowId: row.advisoryRowId,
        advisoryId: row.advisoryId,
        severity: row.severity,
        cvssScore: row.cvssScore,
      });
      for (const cve of row.cves) {
        cves.add(cve);
        evidence.push({
          cve,
          advisoryRowId: row.advisoryRowId,
          advisoryId: row.advisoryId,
          feed: row.feed,
          sourceId: row.sourceId,
          ecosystem: row.ecosystem,
          matchedName: name,
          nameKind: row.nameKind,
          fixedVersion: row.fixed,
        });
      }
    }
  }

  // What the package manager itself reported, reconciled with the snapshot.
  const matchedKeys = new Set([...advisories.values()].map((a) => advisoryKey(a.advisoryId)));
  const knownByKey = new Map<string, KnownAdvisory>();
  for (const k of known)
    if (!knownByKey.has(advisoryKey(k.advisoryId))) knownByKey.set(advisoryKey(k.advisoryId), k);
  const unmatched: string[] = [];
  for (const raw of finding.advisories) {
    const id = raw.trim().toUpperCase();
    if (CVE_ID.test(id)) {
      cves.add(id);
      evidence.push({
        cve: id,
        advisoryRowId: null,
        advisoryId: id,
        feed: 'package-manager',
        sourceId: null,
        ecosystem,
        matchedName: finding.package,
        nameKind: 'package-manager',
        fixedVersion: finding.availableVersion,
      });
      continue;
    }
    const key = advisoryKey(id);
    if (matchedKeys.has(key)) continue; // the snapshot's match already counts it: once
    const k = knownByKey.get(key);
    if (!k) {
      unmatched.push(raw);
      continue;
    }
    // The package manager says this update carries an advisory the snapshot knows: its CVEs count,
    // with the package manager as the evidence (the snapshot's own rows did not name this build).
    matchedKeys.add(key);
    advisories.set(k.advisoryRowId, {
      advisoryRowId: k.advisoryRowId,
      advisoryId: k.advisoryId,
      severity: k.severity,
      cvssScore: k.cvssScore,
    });
    for (const cve of k.cves) {
      cves.add(cve);
      evidence.push({
        cve,
        advisoryRowId: k.advisoryRowId,
        advisoryId: k.advisoryId,
        feed: 'package-manager',
        sourceId: k.sourceId,
        ecosystem,
        matchedName: finding.package,
        nameKind: 'package-manager',
        fixedVersion: finding.availableVersion,
      });
    }
  }
  return {
    evidence,
    cves: [...cves].sort(),
    advisories: [...advisories.values()],
    unmatchedAdvisories: unmatched,
  };
}
