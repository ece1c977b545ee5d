import type { Migration } from './types';

/**
 * Issue 13, which updates matter and by when.
 *
 * - The advisory snapshot: every imported file (`advisory_sources`: publisher, the feed's own date,
 *   sha256, record count), the distro advisories it carried (`advisories`, one per OSV record,
 *   Debian tracker source × CVE, or CSAF document) and what each one fixes where
 *   (`advisory_packages`: ecosystem, package name and whether the feed names source or binary
 *   packages, the fixed version or none yet, the tracker's status and urgency). KEV and EPSS are
 *   whole catalogues: `kev_entries` and `epss_scores`, replaced by each import of a newer file.
 * - What a host has: each pending update's source package and versions (`findings.source_*`), and
 *   the installed set with source names (`audit_packages`) so that unfixed CVEs can be listed;
 *   several versions of one name and arch are normal on rpm (kernels), so the version is in the key.
 * - What the snapshot says about each finding: its CVEs with the evidence (`finding_cves`), and the
 *   summary the Updates page sorts and filters on (`findings.cves`, `kev`, `epss`, `tier`,
 *   `first_seen_at`, `due_at`), written by the enrichment after each audit and each import.
 *   `audits.intel_counts` keeps each audit's open findings per tier as judged then (the trend).
 * - The `advisories` placeholder of migration 001 (never written by any release) is replaced.
 * - `finding_exceptions`: accepted or deferred findings, CVEs, packages or host × package, with a
 *   reason, an owner and an expiry.
 */
export const migration013: Migration = {
  version: 13,
  name: 'advisories',
  up(db) {
    db.exec(`
      DROP TABLE advisories;
      CREATE TABLE advisory_sources (
        id INTEGER PRIMARY KEY,
        feed TEXT NOT NULL CHECK (feed IN ('kev','epss','osv','debian-tracker','csaf')),
        publisher TEXT NOT NULL,
        file_name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        published_at TEXT,
        imported_at TEXT NOT NULL,
        record_count INTEGER NOT NULL,
        ecosystems TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(ecosystems)),
        details TEXT CHECK (details IS NULL OR json_valid(details)),
        superseded_at TEXT
      ) STRICT;
      CREATE INDEX advisory_sources_feed ON advisory_sources(feed, superseded_at);
      CREATE INDEX advisory_sources_sha256 ON advisory_sources(feed, sha256);

      CREATE TABLE advisories (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES advisory_sources(id),
        feed TEXT NOT NULL,
        advisory_id TEXT NOT NULL,
        summary TEXT,
        severity TEXT CHECK (severity IS NULL OR severity IN ('critical','high','medium','low','none')),
        vendor_severity TEXT,
        cvss_vector TEXT,
        cvss_score REAL,
        published_at TEXT,
        modified_at TEXT,
        cves TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(cves)),
        url TEXT,
        withdrawn INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed, advisory_id)
      ) STRICT;

      CREATE TABLE advisory_packages (
        advisory INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
        ecosystem TEXT NOT NULL,
        package TEXT NOT NULL,
        name_kind TEXT NOT NULL CHECK (name_kind IN ('source','binary')),
        introduced TEXT,
        fixed TEXT,
        status TEXT NOT NULL CHECK (status IN ('fixed','open','not-affected','undetermined')),
        urgency TEXT
      ) STRICT;
      CREATE INDEX advisory_packages_lookup ON advisory_packages(ecosystem, package);
      CREATE INDEX advisory_packages_advisory ON advisory_packages(advisory);

      CREATE TABLE kev_entries (
        cve TEXT PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES advisory_sources(id),
        vendor TEXT,
        product TEXT,
        name TEXT,
        date_added TEXT,
        due_date TEXT,
        ransomware INTEGER NOT NULL DEFAULT 0
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE epss_scores (
        cve TEXT PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES advisory_sources(id),
        epss REAL NOT NULL,
        percentile REAL NOT NULL
      ) STRICT, WITHOUT ROWID;

      ALTER TABLE findings ADD COLUMN source_package TEXT;
      ALTER TABLE findings ADD COLUMN source_installed_version TEXT;
      ALTER TABLE findings ADD COLUMN source_available_version TEXT;
      ALTER TABLE findings ADD COLUMN cves TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(cves));
      ALTER TABLE findings ADD COLUMN kev INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE findings ADD COLUMN epss REAL;
      ALTER TABLE findings ADD COLUMN tier TEXT CHECK (tier IS NULL OR tier IN ('kev','critical','high','medium','low'));
      ALTER TABLE findings ADD COLUMN first_seen_at TEXT;
      ALTER TABLE findings ADD COLUMN due_at TEXT;
      ALTER TABLE findings ADD COLUMN intel_at TEXT;
      ALTER TABLE audits ADD COLUMN intel_counts TEXT CHECK (intel_counts IS NULL OR json_valid(intel_counts));

      CREATE TABLE finding_cves (
        finding_id INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
        cve TEXT NOT NULL,
        -- advisories and advisory_sources rows are never deleted (an import updates them in
        -- place), so these two are plain ids: a foreign-key check per evidence row cost the
        -- enrichment a fifth of its time.
        advisory INTEGER,
        advisory_id TEXT NOT NULL,
        feed TEXT NOT NULL,
        source_id INTEGER,
        ecosystem TEXT,
        matched_name TEXT NOT NULL,
        name_kind TEXT NOT NULL CHECK (name_kind IN ('source','binary','package-manager')),
        fixed_version TEXT,
        PRIMARY KEY (finding_id, cve, advisory_id)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE audit_packages (
        audit_id INTEGER NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        arch TEXT NOT NULL DEFAULT '',
        version TEXT NOT NULL,
        source_name TEXT,
        source_version TEXT,
        PRIMARY KEY (audit_id, name, arch, version)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX audit_packages_source ON audit_packages(source_name);

      CREATE TABLE finding_exceptions (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL CHECK (scope IN ('finding','cve','package','host-package')),
        decision TEXT NOT NULL CHECK (decision IN ('accept','defer')),
        host_id INTEGER REFERENCES hosts(id) ON DELETE CASCADE,
        package TEXT,
        available_version TEXT,
        cve TEXT,
        reason TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        removed_at TEXT,
        removed_by TEXT,
        CHECK ((scope = 'finding' AND host_id IS NOT NULL AND package IS NOT NULL AND available_version IS NOT NULL)
            OR (scope = 'cve' AND cve IS NOT NULL)
            OR (scope = 'package' AND package IS NOT NULL)
            OR (scope = 'host-package' AND host_id IS NOT NULL AND package IS NOT NULL))
      ) STRICT;
      CREATE INDEX finding_exceptions_active ON finding_exceptions(removed_at, expires_at);
    `);
  },
};
