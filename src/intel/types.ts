/**
 * What the feed readers (src/intel/feeds) hand the snapshot store (src/intel/snapshot.ts). Every
 * reader is streaming: it yields records one at a time from a file or stream, never the whole
 * document, and throws a `FeedError` for a truncated or hostile file (the store then writes
 * nothing of that file).
 */

export type FeedKind = 'kev' | 'epss' | 'osv' | 'debian-tracker' | 'csaf';

/** How versions compare in an ecosystem. */
export type VersionScheme = 'dpkg' | 'rpm' | 'apk';

/** Whether a feed names the source package (Debian, Ubuntu, Alpine) or binary packages (AlmaLinux, Rocky, SUSE). */
export type NameKind = 'source' | 'binary';

/** The distro's own rating, normalised; `none` for a bug-fix advisory rated "None". */
export type AdvisorySeverity = 'critical' | 'high' | 'medium' | 'low' | 'none';

/** What a file is and says about itself, known after reading it through. */
export interface FeedFileFacts {
  feed: FeedKind;
  /** 'CISA', 'FIRST', 'AlmaLinux', 'Debian', 'Ubuntu', 'Rocky Linux', 'SUSE', 'Alpine', 'Red Hat'. */
  publisher: string;
  /** The feed's own date (KEV dateReleased, EPSS score_date, newest OSV `modified`, CSAF current_release_date); ISO. */
  publishedAt: string | null;
  recordCount: number;
  /** Canonical ecosystems the file carried (OSV, tracker, CSAF); [] for KEV and EPSS. */
  ecosystems: string[];
  /** Small extra facts: KEV catalogVersion, EPSS model_version. */
  details: Record<string, string>;
}

export interface KevRecord {
  cve: string;
  vendor: string | null;
  product: string | null;
  name: string | null;
  dateAdded: string | null;
  dueDate: string | null;
  ransomware: boolean;
}

export interface EpssRecord {
  cve: string;
  epss: number;
  percentile: number;
}

export interface AffectedPackage {
  /** Canonical ecosystem (`canonicalEcosystem`), e.g. 'AlmaLinux:9', 'Debian:12'. */
  ecosystem: string;
  package: string;
  nameKind: NameKind;
  introduced: string | null;
  /** Null: no fix yet (status 'open'), or not affected. */
  fixed: string | null;
  status: 'fixed' | 'open' | 'not-affected' | 'undetermined';
  /** The Debian tracker's urgency ('unimportant', 'low', 'medium', 'high', 'not yet assigned'), or null. */
  urgency: string | null;
}

/** One distro advisory: an OSV record, a Debian tracker (source × CVE) entry, or a CSAF document. */
export interface AdvisoryRecord {
  feed: 'osv' | 'debian-tracker' | 'csaf';
  /** 'ALSA-2023:6077', 'DSA-3029-1', 'UBUNTU-CVE-2025-38094'; the tracker uses 'DEBIAN:<CVE>:<source>'. */
  advisoryId: string;
  summary: string | null;
  severity: AdvisorySeverity | null;
  /** The publisher's own word ("Important", "unimportant", "medium"), sanitised. */
  vendorSeverity: string | null;
  /** The strongest CVSS vector the record gives (v4 over v3.1 over v3.0), and its base score. */
  cvssVector: string | null;
  cvssScore: number | null;
  publishedAt: string | null;
  modifiedAt: string | null;
  /** Every CVE id the record names: id, aliases, related, upstream, and reference URLs; sorted, unique. */
  cves: string[];
  url: string | null;
  withdrawn: boolean;
  affected: AffectedPackage[];
}

export type FeedItem =
  | { kind: 'kev'; record: KevRecord }
  | { kind: 'epss'; record: EpssRecord }
  | { kind: 'advisory'; record: AdvisoryRecord };

/** A feed reader: records as they are read, then the file's facts (the generator's return value). */
export type FeedReader = AsyncGenerator<FeedItem, FeedFileFacts, void>;

/** A file that is not what it claims, truncated, too large or hostile. The message is for an admin. */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'FeedError';
  }
}
