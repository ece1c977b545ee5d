import type { Migration } from './types';

/**
 * Issue 15: the current picture of the fleet kept, not recomputed by every query.
 *
 * - `current_audits`: each host's newest SUCCESSFUL audit by when it was taken (started_at, then
 *   id), kept by triggers on `audits` whatever writes them (a live audit, an imported offline
 *   collection dated last week, a bundle, a patch job's verifying audit, a deleted audit or host).
 *   Before, every query computed it with a window over all audits (~25 ms at 20 000 audits).
 * - `findings_package` (every finding ever stored, by name) is replaced by `findings_audit` on
 *   (audit_id, package): written in order as audits arrive, where the old index took a random page
 *   per finding.
 * - `current_findings`: a narrow copy of the current audits' findings with what the Updates page
 *   filters and sorts on (the host's name, the OS label, each sort's rank columns, how many current
 *   findings share the update) and one index per sort, so that a page reads ~200 index entries
 *   instead of sorting every current row. Its column names are the findings' own, so the filter
 *   and exception conditions written for `findings f` apply to it unchanged.
 *   `current_updates` keeps one row per pending update (the package view unfiltered).
 *   Both are refreshed lazily (src/db/current.ts:refreshCurrentFindings, called by each reader): the
 *   triggers only mark the hosts whose picture changed in `current_dirty`, so that storing an
 *   audit stays one insert per finding; the next read rebuilds those hosts' rows.
 */
export const migration015: Migration = {
  version: 15,
  name: 'current_picture',
  up(db) {
    db.exec(`
      CREATE INDEX audits_host_taken ON audits(host_id, started_at, id);
      -- The dashboard's trend reads every judged audit in the order taken.
      CREATE INDEX audits_trend ON audits(started_at, id) WHERE status = 'succeeded' AND intel_counts IS NOT NULL;
      -- Findings are read by audit (and by audit and package when two audits are compared); the
      -- package index over every finding ever stored cost a random page write per finding, and
      -- every by-package read of the current picture now goes to current_findings.
      DROP INDEX findings_package;
      DROP INDEX findings_audit;
      CREATE INDEX findings_audit ON findings(audit_id, package);

      CREATE TABLE current_audits (
        host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
        audit_id INTEGER NOT NULL UNIQUE
      ) STRICT;

      CREATE TABLE current_dirty (host_id INTEGER PRIMARY KEY) STRICT;

      CREATE TABLE current_findings (
        id INTEGER PRIMARY KEY,
        audit_id INTEGER NOT NULL,
        host_id INTEGER NOT NULL,
        host_name TEXT NOT NULL,
        os_label TEXT,
        kind TEXT NOT NULL,
        package TEXT NOT NULL,
        arch TEXT,
        available_version TEXT NOT NULL,
        repository TEXT,
        security INTEGER NOT NULL,
        severity TEXT,
        sev_rank INTEGER NOT NULL,
        advisories TEXT NOT NULL,
        cves TEXT NOT NULL,
        kev INTEGER NOT NULL,
        epss REAL,
        tier TEXT,
        tier_rank INTEGER NOT NULL,
        first_seen_at TEXT,
        due_at TEXT,
        sharing INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX current_findings_host ON current_findings(host_id);
      -- The default order also carries the columns of the page's one-value filters (after id, so the
      -- order stays the page's): a filtered first page is checked on this index alone, no row read.
      CREATE INDEX current_findings_by_security ON current_findings(security DESC, sev_rank, host_name COLLATE NOCASE, package,
        id, repository, os_label, tier, kev, severity, host_id);
      CREATE INDEX current_findings_by_host ON current_findings(host_name COLLATE NOCASE, host_id, security DESC, package);
      CREATE INDEX current_findings_by_package ON current_findings(package, host_name COLLATE NOCASE, host_id, arch);
      CREATE INDEX current_findings_by_repository ON current_findings(repository IS NULL, repository, package, host_name COLLATE NOCASE);
      CREATE INDEX current_findings_by_risk ON current_findings(tier_rank, coalesce(epss, -1) DESC, first_seen_at IS NULL, first_seen_at, sharing DESC, package, host_name COLLATE NOCASE);
      CREATE INDEX current_findings_by_due ON current_findings(due_at IS NULL, due_at, tier_rank, package, host_name COLLATE NOCASE);
      -- By update, then advisory list: a search for an advisory id reads the findings whose list
      -- matches (current_updates lists each update's distinct lists) from this index alone.
      CREATE INDEX current_findings_update ON current_findings(kind, package, advisories, host_id, security);
      -- The judged findings by due date: overdue and due-this-week counts read a range of it.
      CREATE INDEX current_findings_judged_due ON current_findings(due_at, host_id, kind, package) WHERE tier IS NOT NULL;
      -- The same sorts descending: only their leading keys turn, so each needs its own index.
      CREATE INDEX current_findings_by_security_desc ON current_findings(security, sev_rank DESC, host_name COLLATE NOCASE, package);
      CREATE INDEX current_findings_by_host_desc ON current_findings(host_name COLLATE NOCASE DESC, host_id DESC, security DESC, package);
      CREATE INDEX current_findings_by_package_desc ON current_findings(package DESC, host_name COLLATE NOCASE, host_id, arch);
      CREATE INDEX current_findings_by_repository_desc ON current_findings(repository IS NULL, repository DESC, package, host_name COLLATE NOCASE);
      CREATE INDEX current_findings_by_risk_desc ON current_findings(tier_rank DESC, coalesce(epss, -1), first_seen_at IS NULL, first_seen_at DESC, sharing, package, host_name COLLATE NOCASE);
      CREATE INDEX current_findings_by_due_desc ON current_findings(due_at IS NULL, due_at DESC, tier_rank, package, host_name COLLATE NOCASE);

      -- One row per pending update (kind, package) of the current findings: the package view's
      -- order keys and counts unfiltered, and each finding's sharing count.
      CREATE TABLE current_updates (
        kind TEXT NOT NULL,
        package TEXT NOT NULL,
        findings INTEGER NOT NULL,
        security_findings INTEGER NOT NULL,
        hosts INTEGER NOT NULL,
        security INTEGER NOT NULL,
        rank INTEGER NOT NULL,
        repository TEXT,
        tier_rank INTEGER NOT NULL,
        epss REAL,
        first_seen_at TEXT,
        due_at TEXT,
        -- The package view's lists of the update, unfiltered: its hosts, architectures, versions
        -- offered (how many, the lowest) and its findings' distinct advisory lists (JSON).
        host_ids TEXT NOT NULL DEFAULT '[]',
        arches TEXT NOT NULL DEFAULT '[]',
        versions INTEGER NOT NULL DEFAULT 0,
        version TEXT,
        advisories TEXT NOT NULL DEFAULT '[]',
        -- The same over its judged findings only (tier set): the Dashboard's "patch these first".
        open_findings INTEGER NOT NULL DEFAULT 0,
        open_hosts INTEGER NOT NULL DEFAULT 0,
        open_tier_rank INTEGER,
        open_epss REAL,
        open_kev INTEGER,
        open_first_seen TEXT,
        open_due TEXT,
        open_host_ids TEXT NOT NULL DEFAULT '[]',
        open_finding_ids TEXT NOT NULL DEFAULT '[]',
        open_cves TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (kind, package)
      ) STRICT, WITHOUT ROWID;

      -- The same per update over its security findings only: the package view with "security only".
      CREATE TABLE current_security_updates (
        kind TEXT NOT NULL,
        package TEXT NOT NULL,
        findings INTEGER NOT NULL,
        security_findings INTEGER NOT NULL,
        hosts INTEGER NOT NULL,
        security INTEGER NOT NULL,
        rank INTEGER NOT NULL,
        repository TEXT,
        tier_rank INTEGER NOT NULL,
        epss REAL,
        first_seen_at TEXT,
        due_at TEXT,
        host_ids TEXT NOT NULL,
        arches TEXT NOT NULL,
        versions INTEGER NOT NULL,
        version TEXT,
        advisories TEXT NOT NULL,
        PRIMARY KEY (kind, package)
      ) STRICT, WITHOUT ROWID;

      -- The Updates page's filter lists, per host (rebuilt with the host's current findings):
      -- facet 'severity' | 'os' | 'repository' | 'host' (value: the host's name), and how many of
      -- the host's current findings have that value; 'tier' and 'kev' count its judged findings
      -- (the Dashboard's tier cards and most exposed hosts). A list sums ~2 000 rows, not 100 000.
      -- 'security' (value '1') and 'kev-any' (kev = 1, judged or not) count the findings those
      -- Updates-page filters keep; \`sec\` is how many of the n are security findings, so that a
      -- page filtered on one of these values reads its totals here, not from 100 000 rows.
      CREATE TABLE current_host_facets (
        host_id INTEGER NOT NULL,
        facet TEXT NOT NULL,
        value TEXT NOT NULL,
        n INTEGER NOT NULL,
        sec INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (host_id, facet, value)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX current_host_facets_value ON current_host_facets(facet, value, n, sec);

      -- The host's newest successful audit again, after any change that can move it.
      CREATE TRIGGER current_audits_insert AFTER INSERT ON audits WHEN NEW.status = 'succeeded' BEGIN
        INSERT OR REPLACE INTO current_audits (host_id, audit_id)
          SELECT host_id, id FROM audits WHERE host_id = NEW.host_id AND status = 'succeeded'
          ORDER BY started_at DESC, id DESC LIMIT 1;
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (NEW.host_id);
      END;
      CREATE TRIGGER current_audits_update AFTER UPDATE OF status, started_at, host_id ON audits
        WHEN OLD.status = 'succeeded' OR NEW.status = 'succeeded' BEGIN
        DELETE FROM current_audits WHERE host_id IN (OLD.host_id, NEW.host_id);
        INSERT INTO current_audits (host_id, audit_id)
          SELECT host_id, id FROM audits WHERE host_id = OLD.host_id AND status = 'succeeded'
          ORDER BY started_at DESC, id DESC LIMIT 1;
        INSERT OR IGNORE INTO current_audits (host_id, audit_id)
          SELECT host_id, id FROM audits WHERE host_id = NEW.host_id AND status = 'succeeded'
          ORDER BY started_at DESC, id DESC LIMIT 1;
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (OLD.host_id);
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (NEW.host_id);
      END;
      CREATE TRIGGER current_audits_delete AFTER DELETE ON audits WHEN OLD.status = 'succeeded' BEGIN
        DELETE FROM current_audits WHERE host_id = OLD.host_id;
        INSERT INTO current_audits (host_id, audit_id)
          SELECT host_id, id FROM audits WHERE host_id = OLD.host_id AND status = 'succeeded'
          ORDER BY started_at DESC, id DESC LIMIT 1;
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (OLD.host_id);
      END;
      -- A current finding written or judged again (the enrichment, new due dates), removed, or a
      -- host renamed: that host's rows are rebuilt at the next read.
      CREATE TRIGGER current_findings_judged AFTER UPDATE OF audit_id, host_id, kind, package, arch, available_version,
        repository, security, severity, advisories, cves, kev, epss, tier, first_seen_at, due_at ON findings
        WHEN EXISTS (SELECT 1 FROM current_audits WHERE audit_id = NEW.audit_id) BEGIN
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (NEW.host_id);
      END;
      -- No trigger on INSERT INTO findings: findings are only ever added by completeAudit, whose
      -- one UPDATE of the audit's status (current_audits_update) marks the host once per audit;
      -- a trigger per inserted row cost every stored finding a probe and a program run.
      CREATE TRIGGER current_findings_removed AFTER DELETE ON findings
        WHEN EXISTS (SELECT 1 FROM current_audits WHERE audit_id = OLD.audit_id) BEGIN
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (OLD.host_id);
      END;
      CREATE TRIGGER current_host_renamed AFTER UPDATE OF name ON hosts BEGIN
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (NEW.id);
      END;
      CREATE TRIGGER current_host_deleted AFTER DELETE ON hosts BEGIN
        INSERT OR IGNORE INTO current_dirty (host_id) VALUES (OLD.id);
      END;

      -- An existing workspace: every host's current audit now, and every host to be built.
      INSERT INTO current_audits (host_id, audit_id)
        SELECT host_id, id FROM (SELECT host_id, id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
          FROM audits WHERE status = 'succeeded') WHERE rn = 1;
      INSERT INTO current_dirty (host_id) SELECT host_id FROM current_audits;
    `);
  },
};
