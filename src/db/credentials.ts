import type { Database } from 'better-sqlite3';
import { now, parseJsonArray } from './time';

/** What the API and UI may know about a credential: never the secret itself. */
export interface CredentialSummary {
  id: number;
  name: string;
  /** For kind windows, what the admin typed: `DOMAIN\user`, `.\user` or `user@realm`. */
  username: string;
  /** password, key, agent: SSH logins; windows: a Windows account with a password, for WinRM. */
  kind: 'password' | 'key' | 'agent' | 'windows';
  hasPassphrase: boolean;
  hasSudoPassword: boolean;
  scope: string[];
  /** Pin a never-seen host's key on first contact (key-only credentials; off by default). */
  trustOnFirstUse: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Sealed bytes, as produced by Platform.secrets.seal — this module never sees plaintext. */
export interface SealedCredentialSecrets {
  secret: Buffer | null;
  passphrase: Buffer | null;
  sudoPassword: Buffer | null;
}

type Row = Record<string, unknown>;

function toSummary(row: Row): CredentialSummary {
  return {
    id: row.id as number,
    name: row.name as string,
    username: row.username as string,
    kind: row.kind as CredentialSummary['kind'],
    hasPassphrase: row.passphrase_ciphertext !== null,
    hasSudoPassword: row.sudo_password_ciphertext !== null,
    scope: parseJsonArray(row.scope as string),
    trustOnFirstUse: row.trust_on_first_use === 1,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}

export function insertCredential(
  db: Database,
  credential: {
    name: string;
    username: string;
    kind: CredentialSummary['kind'];
    scope: string[];
    trustOnFirstUse?: boolean;
  } & SealedCredentialSecrets,
): CredentialSummary {
  const at = now();
  const id = db
    .prepare(
      `INSERT INTO credentials (name, username, kind, secret_ciphertext, passphrase_ciphertext, sudo_password_ciphertext, scope, trust_on_first_use, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      credential.name,
      credential.username,
      credential.kind,
      credential.secret,
      credential.passphrase,
      credential.sudoPassword,
      JSON.stringify(credential.scope),
      credential.trustOnFirstUse ? 1 : 0,
      at,
      at,
    ).lastInsertRowid;
  return getCredentialSummary(db, Number(id))!;
}

export function getCredentialSummary(db: Database, id: number): CredentialSummary | null {
  const row = db.prepare('SELECT * FROM credentials WHERE id = ?').get(id) as Row | undefined;
  return row ? toSummary(row) : null;
}

export function findCredentialByName(db: Database, name: string): CredentialSummary | null {
  const row = db.prepare('SELECT * FROM credentials WHERE name = ?').get(name) as Row | undefined;
  return row ? toSummary(row) : null;
}

export function listCredentials(db: Database): CredentialSummary[] {
  return (db.prepare('SELECT * FROM credentials ORDER BY name').all() as Row[]).map(toSummary);
}

/** The sealed secrets, for the one place that opens them just before connecting. */
export function readSealedSecrets(db: Database, id: number): SealedCredentialSecrets | null {
  const row = db
    .prepare(
      'SELECT secret_ciphertext, passphrase_ciphertext, sudo_password_ciphertext FROM credentials WHERE id = ?',
    )
    .get(id) as Row | undefined;
  if (!row) return null;
  return {
    secret: (row.secret_ciphertext as Buffer | null) ?? null,
    passphrase: (row.passphrase_ciphertext as Buffer | null) ?? null,
    sudoPassword: (row.sudo_password_ciphertext as Buffer | null) ?? null,
  };
}

export function deleteCredential(db: Database, id: number): boolean {
  return db.prepare('DELETE FROM credentials WHERE id = ?').run(id).changes > 0;
}
