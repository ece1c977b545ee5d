import type { Migration } from './types';

/**
 * Issue 12, Windows audits over WinRM. A KB finding keeps what the patch flow and the window need
 * beyond the common columns (UpdateID and revision, size, release date, reboot behaviour,
 * categories, update type) as one JSON object in `findings.details`; an audit of a Windows PC keeps
 * its facts (caption, version, build, UBR, the WSUS / Group Policy settings, who ran the search) in
 * `audits.windows`; the installed hotfixes it listed go to `audit_hotfixes`, one row each, so the
 * history of a KB on a PC is a query. All three are empty for every other audit.
 */
export const migration012: Migration = {
  version: 12,
  name: 'windows audit',
  up(db) {
    db.exec(`
      ALTER TABLE findings ADD COLUMN details TEXT CHECK (details IS NULL OR json_valid(details));
      ALTER TABLE audits ADD COLUMN windows TEXT CHECK (windows IS NULL OR json_valid(windows));
      CREATE TABLE audit_hotfixes (
        audit_id INTEGER NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
        hotfix_id TEXT NOT NULL,
        description TEXT,
        installed_on TEXT,
        PRIMARY KEY (audit_id, hotfix_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX audit_hotfixes_hotfix ON audit_hotfixes(hotfix_id);
    `);
  },
};
