import type { Migration } from './types';

/**
 * The initial schema: one table per domain word of ARCHITECTURE.md.
 * Times are ISO-8601 UTC strings; JSON columns hold arrays/objects validated at the edges.
 */
export const migration001: Migration = {
  version: 1,
  name: 'initial schema',
  up(db) {
    db.exec(`
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','interrupted')),
        progress_done INTEGER NOT NULL DEFAULT 0,
        progress_total INTEGER,
        message TEXT,
        error TEXT,
        params TEXT,
        result TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX tasks_status ON tasks(status);

      CREATE TABLE networks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        targets TEXT NOT NULL,
        exclude TEXT NOT NULL DEFAULT '',
        ports TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        network_id INTEGER REFERENCES networks(id) ON DELETE SET NULL,
        targets TEXT NOT NULL,
        ports TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running','completed','cancelled','failed','interrupted')),
        addresses_total INTEGER NOT NULL DEFAULT 0,
        addresses_probed INTEGER NOT NULL DEFAULT 0,
        hosts_found INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;

      CREATE TABLE credentials (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('password','key','agent')),
        -- Ciphertext only: secrets are sealed through Platform before they reach this table.
        secret_ciphertext BLOB,
        passphrase_ciphertext BLOB,
        sudo_password_ciphertext BLOB,
        scope TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE hosts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT,
        mac TEXT,
        mac_vendor TEXT,
        os_family TEXT,
        os_name TEXT,
        os_version TEXT,
        os_confidence REAL,
        os_evidence TEXT NOT NULL DEFAULT '[]',
        management TEXT NOT NULL DEFAULT '[]',
        ssh_port INTEGER NOT NULL DEFAULT 22,
        credential_id INTEGER REFERENCES credentials(id) ON DELETE SET NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        notes TEXT NOT NULL DEFAULT '',
        in_inventory INTEGER NOT NULL DEFAULT 1,
        first_seen TEXT,
        last_seen TEXT,
        last_scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,
        first_scan_id INTEGER REFERENCES scans(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX hosts_mac ON hosts(mac);

      CREATE TABLE host_addresses (
        id INTEGER PRIMARY KEY,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        UNIQUE (host_id, address)
      ) STRICT;
      CREATE INDEX host_addresses_address ON host_addresses(address);

      CREATE TABLE host_services (
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        port INTEGER NOT NULL,
        state TEXT NOT NULL,
        service TEXT,
        banner TEXT,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (host_id, port)
      ) STRICT;

      CREATE TABLE host_keys (
        id INTEGER PRIMARY KEY,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        key_type TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        public_key TEXT,
        status TEXT NOT NULL CHECK (status IN ('trusted','revoked')),
        trusted_at TEXT NOT NULL,
        trusted_by TEXT NOT NULL
      ) STRICT;
      CREATE INDEX host_keys_host ON host_keys(host_id, status);
      CREATE INDEX host_keys_fingerprint ON host_keys(fingerprint);

      CREATE TABLE audits (
        id INTEGER PRIMARY KEY,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        status TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','cancelled','interrupted')),
        source TEXT NOT NULL DEFAULT 'ssh',
        os_id TEXT,
        os_name TEXT,
        os_version TEXT,
        kernel TEXT,
        package_manager TEXT,
        metadata_age_seconds INTEGER,
        refreshed INTEGER NOT NULL DEFAULT 0,
        reboot_required INTEGER,
        updates_count INTEGER NOT NULL DEFAULT 0,
        security_count INTEGER NOT NULL DEFAULT 0,
        error_kind TEXT,
        error_message TEXT,
        error_stderr TEXT,
        warnings TEXT NOT NULL DEFAULT '[]',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_ms INTEGER
      ) STRICT;
      CREATE INDEX audits_host ON audits(host_id, id);

      CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        audit_id INTEGER NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        kind TEXT NOT NULL DEFAULT 'package',
        package TEXT NOT NULL,
        arch TEXT,
        installed_version TEXT,
        available_version TEXT NOT NULL,
        repository TEXT,
        security INTEGER NOT NULL DEFAULT 0,
        severity TEXT,
        vendor_severity TEXT,
        advisories TEXT NOT NULL DEFAULT '[]',
        held INTEGER NOT NULL DEFAULT 0,
        reboot_required INTEGER
      ) STRICT;
      CREATE INDEX findings_audit ON findings(audit_id);
      CREATE INDEX findings_package ON findings(package);

      CREATE TABLE advisories (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        title TEXT,
        severity TEXT,
        known_exploited INTEGER NOT NULL DEFAULT 0,
        cves TEXT NOT NULL DEFAULT '[]',
        published_at TEXT,
        updated_at TEXT
      ) STRICT;

      CREATE TABLE patch_jobs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft','approved','scheduled','running','succeeded','failed','cancelled','interrupted')),
        selection TEXT NOT NULL,
        reboot_policy TEXT NOT NULL CHECK (reboot_policy IN ('never','if-required','always')),
        on_failure TEXT NOT NULL DEFAULT 'continue' CHECK (on_failure IN ('continue','stop')),
        concurrency INTEGER NOT NULL DEFAULT 8,
        scheduled_at TEXT,
        window_start TEXT,
        window_end TEXT,
        approved_by TEXT,
        approved_at TEXT,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      ) STRICT;

      CREATE TABLE job_steps (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES patch_jobs(id) ON DELETE CASCADE,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','skipped','interrupted','cancelled')),
        phase TEXT,
        packages TEXT NOT NULL DEFAULT '[]',
        before_versions TEXT,
        after_versions TEXT,
        undo_recipe TEXT,
        error_kind TEXT,
        error_message TEXT,
        started_at TEXT,
        finished_at TEXT,
        UNIQUE (job_id, host_id)
      ) STRICT;

      CREATE TABLE job_events (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES patch_jobs(id) ON DELETE CASCADE,
        step_id INTEGER REFERENCES job_steps(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        stream TEXT NOT NULL CHECK (stream IN ('stdout','stderr','info','error')),
        text TEXT NOT NULL
      ) STRICT;
      CREATE INDEX job_events_job ON job_events(job_id, id);

      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity_type TEXT,
        entity_id TEXT,
        details TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      -- The audit log is append-only: the database itself refuses edits and deletions.
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `);
  },
};
