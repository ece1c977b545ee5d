/**
 * The inventory side of the hand-off: which hosts Ansible may reach and how (address, port, the
 * credential's user name, groups from tags), and the pinned SSH host keys as a known_hosts file.
 * Pure functions over what the service read from the workspace; no secret ever reaches them (the
 * model has a user name, never a password, key or passphrase).
 */
import { createHash } from 'node:crypto';
import { yamlComment, yamlString, yamlUnsafe } from './yaml';

export interface InventoryKey {
  type: string;
  fingerprint: string;
  /** The key blob, base64 (as src/remote/host-key.ts records it). */
  publicKey: string | null;
}

export interface InventoryHost {
  id: number;
  /** The name Patchdeck shows (any text). */
  name: string;
  address: string;
  port: number;
  user: string;
  tags: string[];
  /** null: SSH. Else how to reach its WinRM (Windows hosts). */
  winrm: { port: number; https: boolean } | null;
  keys: InventoryKey[];
}

export interface InventoryModel {
  hosts: InventoryHost[];
  /** Extra groups (e.g. `patchdeck_job_12`): name → inventory names of its hosts. */
  groups: Record<string, string[]>;
  header: string[];
}

const INVENTORY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A host name Ansible patterns cannot misread: letters, digits, `.`, `_`, `-`, at most 63. */
export function inventoryNameOf(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return INVENTORY_NAME.test(cleaned) ? cleaned : 'host';
}

/**
 * Inventory names for hosts, in order: each host's cleaned name, and `<name>-<id>` when two hosts
 * would share one (names are not unique in a workspace).
 */
export function inventoryNames(hosts: readonly { id: number; name: string }[]): Map<number, string> {
  const base = hosts.map((h) => inventoryNameOf(h.name));
  const count = new Map<string, number>();
  for (const b of base) count.set(b, (count.get(b) ?? 0) + 1);
  const out = new Map<number, string>();
  const used = new Set<string>();
  hosts.forEach((h, i) => {
    let name = base[i]!;
    if (count.get(name)! > 1 || used.has(name)) name = `${name.slice(0, 50)}-${h.id}`;
    used.add(name);
    out.set(h.id, name);
  });
  return out;
}

/** A group name from a tag: `tag_` and the tag in lower case, anything else than [a-z0-9_] as `_`. */
export function groupNameOf(tag: string): string {
  const cleaned = tag
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 60);
  return `tag_${cleaned || '_'}`;
}

const ADDRESS = /^[A-Za-z0-9.:-]{1,253}$/;
const KEY_TYPE = /^[A-Za-z0-9@._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether an address may stand in known_hosts and as `ansible_host` (an IP or a DNS name). */
export function isUsableAddress(address: string): boolean {
  return ADDRESS.test(address) && !address.startsWith('-');
}

/**
 * A pinned key's known_hosts line, or why it cannot be one: the blob must be base64, start with
 * its own type (SSH wire format) and hash to the pinned fingerprint.
 */
export function knownHostsLine(
  address: string,
  port: number,
  key: InventoryKey,
): { line: string } | { problem: string } {
  if (!key.publicKey) return { problem: 'the pinned key has no public key on record' };
  if (!KEY_TYPE.test(key.type)) return { problem: 'the pinned key has an unknown type' };
  if (key.publicKey.length > 16_384 || !BASE64.test(key.publicKey))
    return { problem: 'the pinned key is not base64' };
  const blob = Buffer.from(key.publicKey, 'base64');
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (typeLength < 1 || typeLength > 64 || blob.subarray(4, 4 + typeLength).toString('latin1') !== key.type)
    return { problem: 'the pinned key blob does not match its type' };
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  if (fingerprint !== key.fingerprint)
    return { problem: 'the pinned key blob does not match its fingerprint' };
  const host = port === 22 ? address : `[${address}]:${port}`;
  return { line: `${host} ${key.type} ${key.publicKey}` };
}

/** known_hosts: every pinned SSH key of every SSH host, nothing else. */
export function knownHostsText(hosts: readonly InventoryHost[], header: readonly string[]): string {
  const lines = header.map((h) => yamlComment(h));
  for (const host of hosts) {
    if (host.winrm) continue;
    for (const key of host.keys) {
      const made = knownHostsLine(host.address, host.port, key);
      if ('line' in made) lines.push(made.line);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * inventory.yml: every host under `patchdeck` with its connection variables, SSH hosts in
 * `linux`-like `ssh_hosts`, Windows hosts in `windows` (WinRM, NTLM, no password), a group per tag
 * and the extra groups. Every value from the workspace is `!unsafe`.
 */
export function inventoryYaml(model: InventoryModel): string {
  const names = inventoryNames(model.hosts);
  const out: string[] = model.header.map((h) => yamlComment(h));
  out.push('all:', '  children:', '    patchdeck:', model.hosts.length ? '      hosts:' : '      hosts: {}');
  for (const host of model.hosts) {
    out.push(`        ${yamlString(names.get(host.id)!)}:`);
    out.push(`          ansible_host: ${yamlUnsafe(host.address)}`);
    out.push(`          ansible_port: ${host.port}`);
    out.push(`          ansible_user: ${yamlUnsafe(host.user)}`);
    out.push(`          patchdeck_host_id: ${host.id}`);
    out.push(`          patchdeck_name: ${yamlUnsafe(host.name)}`);
    if (host.winrm) out.push(`          ansible_winrm_scheme: ${host.winrm.https ? 'https' : 'http'}`);
  }
  const groups = new Map<string, string[]>();
  const add = (group: string, member: string): void => {
    const list = groups.get(group) ?? [];
    if (!list.includes(member)) list.push(member);
    groups.set(group, list);
  };
  for (const host of model.hosts) {
    const name = names.get(host.id)!;
    add(host.winrm ? 'windows' : 'ssh_hosts', name);
    for (const tag of host.tags) add(groupNameOf(tag), name);
  }
  for (const [group, members] of Object.entries(model.groups)) for (const m of members) add(group, m);
  for (const [group, members] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`    ${yamlString(group)}:`);
    if (group === 'windows') {
      // WinRM: the account's password never leaves Patchdeck; give it with Vault (README.txt).
      out.push(
        '      vars:',
        '        ansible_connection: winrm',
        '        ansible_winrm_transport: ntlm',
        '        ansible_winrm_server_cert_validation: validate',
      );
    }
    out.push('      hosts:');
    for (const m of members) out.push(`        ${yamlString(m)}: {}`);
  }
  return `${out.join('\n')}\n`;
}

/** ansible.cfg: host keys checked strictly against ./known_hosts only. */
export function ansibleCfgText(header: readonly string[]): string {
  return [
    ...header.map((h) => yamlComment(h)),
    '[defaults]',
    'inventory = ./inventory.yml',
    'host_key_checking = True',
    'retry_files_enabled = False',
    '',
    '[ssh_connection]',
    // Only the pinned keys: this folder's known_hosts, no global file, no key accepted unseen.
    'ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o UserKnownHostsFile=./known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes',
    '',
  ].join('\n');
}

/** README.txt: what is here, how to run it, and where the secrets come from (never from here). */
export function readmeText(options: {
  header: readonly string[];
  playbook: string | null;
  skipped: readonly { name: string; reason: string }[];
}): string {
  const lines = [
    ...options.header,
    '',
    'This folder was written by Patchdeck for Ansible. It holds NO secrets: no passwords, no sudo',
    'passwords, no private keys, no key passphrases. Give them to Ansible yourself:',
    '  - SSH keys: load the key into ssh-agent (ssh-add ~/.ssh/id_ed25519), or pass',
    '    --private-key FILE to ansible-playbook.',
    '  - sudo passwords: --ask-become-pass, or ansible_become_password kept in an Ansible Vault',
    '    file (ansible-vault create group_vars/all/vault.yml), never in plain text.',
    '  - Windows (WinRM) passwords: ansible_password in an Ansible Vault file for the windows group.',
    '',
    'Files:',
    '  inventory.yml  the hosts (address, port, login user), a group per Patchdeck tag',
    '                 (tag_<name>), ssh_hosts and windows',
    '  known_hosts    the SSH host keys pinned in Patchdeck; hosts without one are left out',
    '  ansible.cfg    host keys checked strictly against ./known_hosts (run from this folder)',
  ];
  if (options.playbook) {
    const results = 'results.json';
    lines.push(
      `  ${options.playbook}  the approved patch job: exactly the approved package=version per host`,
      '',
      'The hosts need no Python: every task is `raw` (a shell command over SSH), so the playbook',
      "runs on hosts that have only a shell, as Patchdeck itself does. It repeats Patchdeck's",
      'pre-checks (free disk, a pending reboot, held packages, a dry run that may change only what',
      "was approved), follows the job's reboot policy and verifies the installed versions with dpkg.",
      '',
      'Run it from this folder, then give the results back to Patchdeck:',
      `  ANSIBLE_STDOUT_CALLBACK=json ansible-playbook ${options.playbook} > ${results}`,
      `  patchdeck import ansible-results ${results}`,
      '',
      'Patchdeck will not start this job itself any more (it was handed to Ansible); importing',
      "the results fills in each host's outcome and then re-audits the hosts.",
    );
  }
  if (options.skipped.length) {
    lines.push('', 'Left out:');
    for (const s of options.skipped) lines.push(`  ${s.name}: ${s.reason}`);
  }
  // eslint-disable-next-line no-control-regex
  return `${lines.map((l) => l.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')).join('\n')}\n`;
}
