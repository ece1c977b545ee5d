import type { Database } from 'better-sqlite3';
import {
  deleteCredential,
  findCredentialByName,
  getCredentialSummary,
  insertCredential,
  listCredentials,
  readSealedSecrets,
  type CredentialSummary,
} from '../db';
import type { ParsedArgs } from '../api';
import type { EventBus } from '../api';
import type { Host } from '../api';
import { appendAuditLog, readSettings } from '../db';
import type { ChosenKeyFiles } from './key-file';
import type { SecretBox } from '../platform';
import type { SshAuth } from '../remote';
import { PatchdeckError } from '../util';

export type { CredentialSummary } from '../db';

/**
 * Credentials: how to log in to hosts. Secrets are sealed through Platform before they are
 * stored and opened only here, just before a connection; they are never returned by the API.
 */
export interface NewCredential {
  name: string;
  /** SSH: the login user; windows: `DOMAIN\user`, `.\user` or `user@realm` (parseWindowsAccount). */
  username: string;
  kind: 'password' | 'key' | 'agent' | 'windows';
  /** The login password (kinds password and windows) or the private key text (kind key). */
  secret?: string;
  passphrase?: string;
  /** Needed when the user's sudo asks for a password; for kind password it defaults to that password. */
  sudoPassword?: string;
  /** Host names, addresses, `tag:<tag>`, or `*` for every host. */
  scope?: string[];
  /**
   * Pin a never-seen host's key on first contact instead of waiting for the admin to review
   * it. Only for key-only credentials (key without passphrase, or agent; no sudo password): a
   * rogue host can then learn nothing it could replay.
   */
  trustOnFirstUse?: boolean;
}

/**
 * Whether a credential may trust a host's key on first use: only when nothing it would send
 * is a secret a rogue host could keep (a password, a sudo password, a passphrase-protected key).
 */
export function mayTrustOnFirstUse(c: {
  kind: 'password' | 'key' | 'agent' | 'windows';
  hasPassphrase: boolean;
  hasSudoPassword: boolean;
}): boolean {
  return (c.kind === 'key' || c.kind === 'agent') && !c.hasPassphrase && !c.hasSudoPassword;
}

/** A Windows account as WinRM's NTLM needs it (see NtlmIdentity in src/remote/winrm/ntlm). */
export interface WindowsAccount {
  /** NetBIOS or DNS domain (`PATCHDECK`), `.` for a local account, `` for a user@realm name. */
  domain: string;
  /** The user; for the upn form the whole `user@realm`. */
  username: string;
  form: 'domain' | 'local' | 'upn';
}

/** Longest account text accepted (a UPN is at most 256 characters in Active Directory). */
export const WINDOWS_ACCOUNT_MAX = 256;
// Characters Windows refuses in a user name (and '@', which only the upn form may hold once).
const BAD_USER_CHARS = /["/\\[\]:;|=,+*?<>@]/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DOMAIN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const REALM = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/;

function windowsUserProblem(user: string): string | null {
  if (user.length === 0) return 'the user name is empty';
  if (user.length > 104) return 'the user name is longer than 104 characters';
  if (BAD_USER_CHARS.test(user)) return 'a user name may not hold " / \\ [ ] : ; | = , + * ? < > @';
  if (/^[. ]+$/.test(user)) return 'a user name is not only dots and spaces';
  return null;
}

/**
 * Reads a Windows account as the admin types it: `DOMAIN\user` (a domain account), `.\user` (a
 * local account of the PC) or `user@realm.example` (a user principal name). Bounded and linear
 * (fixed-size checks on at most WINDOWS_ACCOUNT_MAX characters); control characters refused.
 */
export function parseWindowsAccount(text: string): WindowsAccount {
  const shown = text.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
  const bad = (why: string): PatchdeckError =>
    new PatchdeckError(
      'bad-request',
      `“${shown}” is not a Windows account (${why}): write DOMAIN\\user for a domain account, .\\user for a local account of the PC, or user@realm.example.`,
    );
  if (text.length > WINDOWS_ACCOUNT_MAX) throw bad(`longer than ${WINDOWS_ACCOUNT_MAX} characters`);
  if (CONTROL.test(text)) throw bad('it holds control characters');
  if (text !== text.trim()) throw bad('it starts or ends with a space');
  const slash = text.indexOf('\\');
  if (slash >= 0) {
    const domain = text.slice(0, slash);
    const username = text.slice(slash + 1);
    const problem = windowsUserProblem(username);
    if (problem) throw bad(problem);
    if (domain === '.') return { domain: '.', username, form: 'local' };
    if (!DOMAIN.test(domain)) throw bad('the domain before \\ is letters, digits, . _ - only');
    return { domain, username, form: 'domain' };
  }
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    const user = text.slice(0, at);
    const realm = text.slice(at + 1);
    const problem = windowsUserProblem(user);
    if (problem) throw bad(problem);
    if (realm.length > 253 || !REALM.test(realm)) throw bad('the realm after @ is not a domain name');
    return { domain: '', username: text, form: 'upn' };
  }
  throw bad('it names no domain');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;

export async function addCredential(
  db: Database,
  secrets: SecretBox,
  input: NewCredential,
): Promise<CredentialSummary> {
  if (!NAME.test(input.name))
    throw new PatchdeckError('bad-request', 'A credential name is 1–64 letters, digits, spaces or . _ @ -.');
  if (input.kind === 'windows') checkWindowsCredential(input);
  else if (!USER.test(input.username))
    throw new PatchdeckError('bad-request', `“${input.username.slice(0, 64)}” is not a valid user name.`);
  if (findCredentialByName(db, input.name))
    throw new PatchdeckError('conflict', `A credential named ${input.name} already exists.`);
  if (input.kind === 'password' && !input.secret)
    throw new PatchdeckError('bad-request', 'A password credential needs a password.');
  if (input.kind === 'key') {
    if (!input.secret || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input.secret)) {
      throw new PatchdeckError(
        'bad-request',
        'That is not a private key file (expected a -----BEGIN … PRIVATE KEY----- block).',
      );
    }
  }
  const sudo = input.sudoPassword ?? (input.kind === 'password' ? input.secret : undefined);
  if (
    input.trustOnFirstUse &&
    !mayTrustOnFirstUse({ kind: input.kind, hasPassphrase: !!input.passphrase, hasSudoPassword: !!sudo })
  ) {
    throw new PatchdeckError(
      'bad-request',
      'Trust on first use is only for key-only credentials (a key without passphrase, or the SSH agent, and no sudo password): a password, sudo password or passphrase is never sent to a host whose key is not pinned.',
    );
  }
  return insertCredential(db, {
    trustOnFirstUse: input.trustOnFirstUse ?? false,
    name: input.name,
    username: input.username,
    kind: input.kind,
    scope: input.scope ?? [],
    secret: input.secret ? await secrets.seal(input.secret) : null,
    passphrase: input.passphrase ? await secrets.seal(input.passphrase) : null,
    sudoPassword: sudo ? await secrets.seal(sudo) : null,
  });
}

/**
 * A Windows credential is an account and its password, nothing else: no key, no passphrase, no
 * sudo password (a WinRM session of an administrator is elevated), and never trust on first use
 * (the password would go to whichever endpoint answered first).
 */
function checkWindowsCredential(input: NewCredential): void {
  parseWindowsAccount(input.username);
  if (!input.secret) throw new PatchdeckError('bad-request', 'A Windows credential needs a password.');
  if (input.passphrase !== undefined || input.sudoPassword !== undefined)
    throw new PatchdeckError(
      'bad-request',
      'A Windows credential is an account and its password only: it has no key passphrase and no sudo password.',
    );
  if (input.trustOnFirstUse)
    throw new PatchdeckError(
      'bad-request',
      'A Windows credential sends a password, so it never trusts an endpoint on first use: review the PC’s certificate or NTLM identity first.',
    );
}

export { listCredentials, getCredentialSummary, findCredentialByName, deleteCredential };

/**
 * Whether a credential's scope covers a host: `*`, one of its addresses, `tag:<tag>`, or its name
 * — but only a name an admin gave it. A learned name (its own hostname, NetBIOS, mDNS, reverse
 * DNS, …) is whatever a machine on the network chose to say, so a rogue host calling itself
 * `dc01` must not be handed the credential scoped to `dc01`.
 */
function scopeMatches(scope: string[], host: Host): boolean {
  return scope.some(
    (entry) =>
      entry === '*' ||
      (host.nameSource === 'admin' && entry === host.name) ||
      (host.address !== null && entry === host.address) ||
      host.addresses.includes(entry) ||
      (entry.startsWith('tag:') && host.tags.includes(entry.slice(4))),
  );
}

/** The credential for a host: the one chosen for it, else the first whose scope covers it. */
export function credentialForHost(
  db: Database,
  host: Host,
  explicit?: CredentialSummary | null,
): CredentialSummary | null {
  if (explicit) return explicit;
  if (host.credentialId) return getCredentialSummary(db, host.credentialId);
  return listCredentials(db).find((c) => scopeMatches(c.scope, host)) ?? null;
}

/** Opens the sealed secrets of a credential into what the SSH layer needs. */
export async function openCredential(
  db: Database,
  secrets: SecretBox,
  credential: CredentialSummary,
): Promise<{ username: string; auth: SshAuth; sudoPassword: string | null }> {
  if (credential.kind === 'windows')
    throw new PatchdeckError(
      'bad-request',
      `Credential ${credential.name} is a Windows account: it logs in over WinRM, not SSH.`,
    );
  const sealed = readSealedSecrets(db, credential.id);
  if (!sealed) throw new PatchdeckError('not-found', `Credential ${credential.name} no longer exists.`);
  const open = async (b: Buffer | null): Promise<string | null> => (b ? secrets.open(b) : null);
  const secret = await open(sealed.secret);
  const sudoPassword = await open(sealed.sudoPassword);
  let auth: SshAuth;
  if (credential.kind === 'password') auth = { kind: 'password', password: secret ?? '' };
  else if (credential.kind === 'key')
    auth = {
      kind: 'key',
      privateKey: secret ?? '',
      passphrase: (await open(sealed.passphrase)) ?? undefined,
    };
  else auth = { kind: 'agent' };
  return { username: credential.username, auth, sudoPassword };
}

/** What a WinRM session logs in with (the shape of WinrmLogin in src/remote/winrm). */
export interface WindowsLogin {
  method: 'ntlm' | 'basic';
  domain: string;
  username: string;
  password: string;
}

/**
 * Opens a Windows credential's sealed password into a WinRM login, just before connecting. The
 * account is read again from what the admin typed; basic (HTTPS only) takes the bare user of a
 * local account, as Windows' Basic authentication knows local accounts only.
 */
export async function openWindowsLogin(
  db: Database,
  secrets: SecretBox,
  credential: CredentialSummary,
  method: 'ntlm' | 'basic',
): Promise<WindowsLogin> {
  if (credential.kind !== 'windows')
    throw new PatchdeckError(
      'bad-request',
      `Credential ${credential.name} is an SSH login, not a Windows account: choose a Windows credential for WinRM.`,
    );
  const account = parseWindowsAccount(credential.username);
  if (method === 'basic' && account.form !== 'local')
    throw new PatchdeckError(
      'bad-request',
      `Credential ${credential.name} is a domain account: Windows accepts Basic authentication for local accounts (.\\user) only; use NTLM.`,
    );
  const sealed = readSealedSecrets(db, credential.id);
  if (!sealed?.secret)
    throw new PatchdeckError(
      'not-found',
      `Credential ${credential.name} no longer exists or has no password.`,
    );
  const password = await secrets.open(sealed.secret);
  return { method, domain: account.domain, username: account.username, password };
}

export { readKeyFile, KEY_FILE_MAX_BYTES, ChosenKeyFiles } from './key-file';

/** What adding or removing a credential needs: the workspace, the secret box, the event bus. */
export interface CredentialDeps {
  db: Database;
  secrets: SecretBox;
  events: EventBus;
}

/**
 * Adds a credential (with a key file chosen in the desktop dialog in place of a pasted key) and
 * records who added it in the audit log, with no secret in the entry.
 */
export async function addRecordedCredential(
  deps: CredentialDeps,
  { keyFileId, ...input }: ParsedArgs<'credentials.add'>,
  keyFiles: ChosenKeyFiles,
): Promise<CredentialSummary> {
  if (keyFileId !== undefined) {
    if (input.kind !== 'key' || input.secret !== undefined)
      throw new PatchdeckError(
        'bad-request',
        'A key file goes with a private-key credential, in place of a pasted key.',
      );
    input = { ...input, secret: keyFiles.take(keyFileId) };
  }
  const created = await addCredential(deps.db, deps.secrets, input);
  appendAuditLog(deps.db, {
    actor: readSettings(deps.db).operatorName,
    action: 'credential.add',
    entityType: 'credential',
    entityId: created.id,
    details: {
      name: created.name,
      username: created.username,
      kind: created.kind,
      scope: created.scope,
      trustOnFirstUse: created.trustOnFirstUse,
    },
  });
  deps.events.emit('entity.changed', { entity: 'credentials' });
  return created;
}

/** Removes a credential and records who removed it; says whether there was one. */
export function removeRecordedCredential(deps: Omit<CredentialDeps, 'secrets'>, id: number): boolean {
  const removed = deleteCredential(deps.db, id);
  if (removed) {
    appendAuditLog(deps.db, {
      actor: readSettings(deps.db).operatorName,
      action: 'credential.remove',
      entityType: 'credential',
      entityId: id,
    });
    deps.events.emit('entity.changed', { entity: 'credentials' });
  }
  return removed;
}
