import { adviceContextOf, cliAdvice } from '../api';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import type { Host } from '../api';
import type { Core } from '../core';
import { describeTask } from '../tasks';
import { PatchdeckError } from '../util';
import { isValidHostName, sanitizeText } from '../util';
import { formatTable, printJson } from './output';
import type { GlobalOptions, WithCore } from './context';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new PatchdeckError('bad-request', 'Expected the secret on standard input (pipe it in).');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Secrets on stdin end at the first newline (so `echo pw |` works); key files are read whole. */
const firstLine = (text: string): string => text.split(/\r?\n/)[0] ?? '';

/** A short digest of a key review list: trusting with it proves the list did not change since it was shown. */
export function reviewDigest(keys: { hostId: number; fingerprint: string }[]): string {
  const canonical = keys
    .map((k) => `${k.hostId}:${k.fingerprint}`)
    .sort()
    .join('\n');
  return createHash('sha256').update(canonical).digest('hex');
}

const KEY_TRUST_LABEL = {
  trusted: 'trusted',
  'first-use': 'pinned on first use, not reviewed (review-keys)',
  pending: 'not trusted yet (review-keys)',
  changed: 'CHANGED (review-keys)',
  none: null,
} as const;

/** How the admin checks a fingerprint against the machine itself, by the kind of key. */
function howToCheck(type: string): string {
  if (type === 'x509-certificate')
    return "check the certificate's fingerprint on the PC (PowerShell: $c = Get-ChildItem Cert:\\LocalMachine\\My\\<thumbprint of the WinRM listener, see winrm enumerate winrm/config/listener>; [Convert]::ToBase64String([Security.Cryptography.SHA256]::Create().ComputeHash($c.RawData)) — the same text without the trailing =)";
  if (type === 'ntlm-identity')
    return "check that it is the PC's own name and domain (Settings → System → About on the PC); it is what the PC announces, not a cryptographic proof: prefer HTTPS with a certificate";
  return 'check the fingerprint with the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)';
}

/** The subject, issuer and validity of a WinRM certificate under review, one line each. */
function describeCertificateFacts(
  c: { subject: string; issuer: string; validFrom: string; validTo: string; selfSigned: boolean } | undefined,
): string {
  if (!c) return '';
  return `  subject: ${c.subject}\n  issuer: ${c.issuer}${c.selfSigned ? ' (self-signed)' : ''}\n  valid: ${c.validFrom.slice(0, 10)} to ${c.validTo.slice(0, 10)}\n`;
}

/**
 * The hosts the admin named on the command line (by name, address or id). Names are not unique
 * (and a learned one is whatever the machine announced), so a name several hosts share is
 * refused with the candidates, never resolved to whichever comes first.
 */
export function resolveHosts(core: Core, names: string[], hosts: Host[]): Host[] {
  if (names.length === 0) return hosts.filter((h) => h.inInventory);
  return names.map((name) => {
    const shown = sanitizeText(name, { maxLength: 80 });
    const matches = hosts.filter((h) => matchesHost(h, name));
    if (matches.length === 0)
      throw new PatchdeckError(
        'not-found',
        `No host named ${shown} in this workspace (add it with \`patchdeck hosts add\`).`,
      );
    if (matches.length > 1) {
      // Each candidate by what picks exactly it: its address when no other host answers to
      // that, else its id.
      const candidates = matches
        .slice(0, 10)
        .map((h) =>
          h.address && hosts.filter((o) => matchesHost(o, h.address!)).length === 1
            ? `${h.address} (id ${h.id})`
            : `id ${h.id}${h.address ? ` (${h.address}, shared)` : ' (no address)'}`,
        )
        .join(', ');
      const more = matches.length > 10 ? ` and ${matches.length - 10} more` : '';
      throw new PatchdeckError(
        'conflict',
        `${matches.length} hosts answer to ${shown}: ${candidates}${more}. Name the one you mean by its address (or its id) instead of ${shown}; \`patchdeck hosts list\` shows both.`,
      );
    }
    return matches[0]!;
  });
}

/**
 * The ids of the hosts a `--hosts a,b,c` option names, resolved as {@link resolveHosts} does;
 * undefined when the option is absent or empty, so the call takes its own default.
 */
export async function chosenHostIds(core: Core, list: string | undefined): Promise<number[] | undefined> {
  const names = (list ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (!names.length) return undefined;
  return resolveHosts(core, names, await core.call('hosts.list', {})).map((h) => h.id);
}

function matchesHost(h: Host, name: string): boolean {
  return h.name === name || h.address === name || h.addresses.includes(name) || String(h.id) === name;
}

export function registerAuditCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  const credential = program
    .command('credential')
    .description('manage login credentials (secrets are sealed, never shown)');
  credential
    .command('add')
    .description('add a credential: password, private key, SSH agent, or a Windows account (--windows)')
    .requiredOption('--name <name>', 'a name for this credential')
    .requiredOption('--user <user>', "the login user (Windows: 'DOMAIN\\user', '.\\user' or user@realm)")
    .option('--windows', 'a Windows account for WinRM, with its password from --password-stdin')
    .option('--key <file>', 'private key file')
    .option('--passphrase-stdin', "read the key's passphrase from standard input")
    .option('--password-stdin', 'read the login password from standard input (also used for sudo)')
    .option('--sudo-password-stdin', 'read a sudo password from standard input (key or agent login)')
    .option('--agent', 'use the running SSH agent')
    .option(
      '--trust-on-first-use',
      "pin a new host's key on first contact (key-only credentials: no passphrase, no sudo password)",
    )
    .option(
      '--hosts <list>',
      'hosts this credential applies to: names, addresses, tag:<tag> or * (comma-separated)',
    )
    .option('--scope <list>', 'the same as --hosts')
    .action(
      async (opts: {
        name: string;
        user: string;
        key?: string;
        passphraseStdin?: boolean;
        passwordStdin?: boolean;
        sudoPasswordStdin?: boolean;
        agent?: boolean;
        windows?: boolean;
        hosts?: string;
        scope?: string;
        trustOnFirstUse?: boolean;
      }) => {
        if (opts.windows && (opts.key || opts.agent || opts.passphraseStdin || opts.sudoPasswordStdin))
          throw new PatchdeckError(
            'bad-request',
            'A Windows credential is an account and its password: use --windows with --password-stdin only (no --key, --agent, passphrase or sudo password).',
          );
        if (opts.windows && !opts.passwordStdin)
          throw new PatchdeckError(
            'bad-request',
            'A Windows credential needs its password: pipe it in with --password-stdin.',
          );
        const modes = [opts.key, opts.passwordStdin, opts.agent].filter(Boolean).length;
        if (modes !== 1)
          throw new PatchdeckError(
            'bad-request',
            'Choose exactly one of --key FILE, --password-stdin or --agent.',
          );
        const stdinUses = [opts.passphraseStdin, opts.passwordStdin, opts.sudoPasswordStdin].filter(
          Boolean,
        ).length;
        if (stdinUses > 1)
          throw new PatchdeckError(
            'bad-request',
            'Only one secret can come from standard input per command.',
          );
        let secret: string | undefined;
        let passphrase: string | undefined;
        let sudoPassword: string | undefined;
        if (opts.key) {
          try {
            secret = fs.readFileSync(opts.key, 'utf8');
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            const why =
              code === 'ENOENT'
                ? ': there is no such file'
                : code === 'EISDIR'
                  ? ': it is a folder, not a key file'
                  : code === 'EACCES'
                    ? ': permission denied (you may not read it; as its owner, chmod 600 it, or run as its owner)'
                    : code
                      ? ` (${code})`
                      : '';
            throw new PatchdeckError('bad-request', `Cannot read the key file ${opts.key}${why}.`);
          }
          if (opts.passphraseStdin) passphrase = firstLine(await readStdin());
        }
        if (opts.passwordStdin) secret = firstLine(await readStdin());
        if (opts.sudoPasswordStdin) sudoPassword = firstLine(await readStdin());
        const hostList = opts.hosts ?? opts.scope;
        await withCore(globals(), async (core) => {
          const created = await core.call('credentials.add', {
            name: opts.name,
            username: opts.user,
            kind: opts.windows ? 'windows' : opts.key ? 'key' : opts.agent ? 'agent' : 'password',
            secret,
            passphrase,
            sudoPassword,
            trustOnFirstUse: opts.trustOnFirstUse,
            scope: hostList
              ? hostList
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean)
              : ['*'],
          });
          if (globals().json) printJson(created);
          else
            process.stdout.write(
              `Added credential ${created.name} (${created.kind}, user ${created.username}) for ${created.scope.join(', ')}.\n`,
            );
        });
      },
    );
  credential
    .command('list')
    .description('list credentials (never their secrets)')
    .action(async () => {
      await withCore(globals(), async (core) => {
        const rows = await core.call('credentials.list', {});
        if (globals().json) printJson(rows);
        else
          process.stdout.write(
            `${formatTable(
              ['name', 'user', 'kind', 'sudo password', 'hosts'],
              rows.map((c) => [
                c.name,
                c.username,
                c.kind,
                c.hasSudoPassword ? 'yes' : 'no',
                c.scope.join(','),
              ]),
            )}\n`,
          );
      });
    });

  const hosts = program.command('hosts').description('the inventory of hosts');
  hosts
    .command('list')
    .description('list hosts')
    .action(async () => {
      await withCore(globals(), async (core) => {
        const rows = await core.call('hosts.list', {});
        if (globals().json) printJson(rows);
        else
          process.stdout.write(
            `${formatTable(
              ['id', 'name', 'address', 'os', 'managed by', 'ssh key', 'last seen'],
              rows.map((h) => [
                h.id,
                h.name,
                h.offlineOnly ? 'offline only (imported; set an address)' : h.address,
                [h.osName, h.osVersion].filter(Boolean).join(' ') || null,
                h.management.join(',') || null,
                KEY_TRUST_LABEL[h.keyTrust],
                h.lastSeen,
              ]),
            )}\n`,
          );
      });
    });
  hosts
    .command('set-address <host> <address>')
    .description('confirm the address of a host (an imported, offline-only host becomes auditable)')
    .action(async (name: string, address: string) => {
      await withCore(globals(), async (core) => {
        const [host] = resolveHosts(core, [name], await core.call('hosts.list', {}));
        if (!net.isIP(address) && !isValidHostName(address))
          throw new PatchdeckError(
            'bad-request',
            `“${address.slice(0, 80)}” is not an IP address or host name.`,
          );
        const updated = await core.call('hosts.update', { id: host!.id, patch: { address } });
        if (globals().json) printJson(updated);
        else
          process.stdout.write(
            `${updated.name}: address ${updated.address}. Check and trust its SSH key before the first audit: patchdeck hosts trust ${updated.name}\n`,
          );
      });
    });
  hosts
    .command('add <name>')
    .description('add a host by name or address')
    .option('--address <address>', 'IP address (default: the name, when it is one)')
    .option('--port <port>', 'SSH port', (v) => Number.parseInt(v, 10))
    .action(async (name: string, opts: { address?: string; port?: number }) => {
      await withCore(globals(), async (core) => {
        const host = await core.call('hosts.add', { name, address: opts.address, sshPort: opts.port });
        if (globals().json) printJson(host);
        else process.stdout.write(`Added host ${host.name} (${host.address ?? 'no address'}).\n`);
      });
    });
  hosts
    .command('trust <host>')
    .description(
      "show the host's SSH key fingerprint (no login) and pin it once you have checked it: no password is sent to a host before",
    )
    .option(
      '--fingerprint <SHA256:…>',
      'the fingerprint you checked: pin only if the host presents exactly this key',
    )
    .option(
      '--replace',
      'trust a key that differs from the one pinned before (after checking with the owner)',
    )
    .option('--show', 'only show the fingerprint, do not pin')
    .option(
      '--winrm',
      "the PC's WinRM identity instead of its SSH key: its certificate (HTTPS, 5986) or the NTLM name it announces (HTTP, 5985)",
    )
    .action(
      async (
        name: string,
        opts: { replace?: boolean; show?: boolean; fingerprint?: string; winrm?: boolean },
      ) => {
        await withCore(globals(), async (core) => {
          const [host] = resolveHosts(core, [name], await core.call('hosts.list', {}));
          const replace = Boolean(opts.replace);
          const channel = opts.winrm ? 'winrm' : 'ssh';
          let fingerprint = opts.fingerprint;
          if (!opts.show && fingerprint === undefined) {
            // Show first; pin only what the admin confirmed, on a terminal.
            const shown = await core.call('hosts.trust', { id: host!.id, pin: false, replace, channel });
            process.stdout.write(
              `${host!.name} presents ${shown.type} ${shown.fingerprint}${shown.changed ? ' — CHANGED since it was trusted' : ''}.\n${describeCertificateFacts(shown.certificate)}`,
            );
            if (shown.pinned) return void process.stdout.write('This key is already trusted.\n');
            if (!(process.stdin.isTTY && process.stdout.isTTY))
              throw new PatchdeckError(
                'bad-request',
                `Not trusted: ${howToCheck(shown.type)}, then run: patchdeck hosts trust ${host!.name}${opts.winrm ? ' --winrm' : ''} --fingerprint ${shown.fingerprint}`,
              );
            const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
            const answer = await rl.question('Does this match the machine’s own key? Trust it [y/N] ');
            rl.close();
            if (!/^y(es)?$/i.test(answer.trim())) {
              process.stdout.write('Not trusted.\n');
              process.exitCode = 1;
              return;
            }
            fingerprint = shown.fingerprint;
          }
          const result = await core.call('hosts.trust', {
            id: host!.id,
            pin: !opts.show,
            replace,
            fingerprint,
            channel,
          });
          if (globals().json) printJson(result);
          else
            process.stdout.write(
              `${host!.name}: ${result.type} ${result.fingerprint}${result.changed ? ' (CHANGED since it was trusted)' : ''} — ${result.pinned ? 'trusted' : 'not pinned'}.\n${opts.show ? describeCertificateFacts(result.certificate) : ''}`,
            );
        });
      },
    );
  hosts
    .command('review-keys')
    .description(
      'list the SSH keys seen (by scans, probes, refused audits) that nobody has trusted yet; --trust pins exactly the listed set',
    )
    .option('--hosts <list>', 'only these hosts (names or addresses, comma-separated)')
    .option(
      '--trust <digest>',
      'pin every listed key; the digest printed with the list proves it is the list you reviewed',
    )
    .option('--replace', 'also re-trust hosts whose key changed (after checking with their owners)')
    .action(async (opts: { hosts?: string; trust?: string; replace?: boolean }) => {
      await withCore(globals(), async (core) => {
        const all = await core.call('hosts.list', {});
        const wanted = opts.hosts
          ? resolveHosts(
              core,
              opts.hosts
                .split(',')
                .map((h) => h.trim())
                .filter(Boolean),
              all,
            ).map((h) => h.id)
          : undefined;
        // Every key awaiting review, by host: a host showing two keys is listed twice, flagged.
        const keys = (await core.call('hosts.pendingKeys', { hostIds: wanted })).sort(
          (a, b) =>
            a.hostName.localeCompare(b.hostName, 'en', { numeric: true }) ||
            a.fingerprint.localeCompare(b.fingerprint),
        );
        const digest = reviewDigest(keys);
        const single = keys.filter((k) => !k.conflict);
        const conflicted = [...new Set(keys.filter((k) => k.conflict).map((k) => k.hostName))];
        if (opts.trust === undefined) {
          if (globals().json) return printJson({ digest, keys });
          if (keys.length === 0) return void process.stdout.write('No keys are awaiting review.\n');
          process.stdout.write(
            `${formatTable(
              ['host', 'address', 'key', 'fingerprint', 'seen by', 'note'],
              keys.map((k) => [
                k.hostName,
                k.address,
                k.type,
                k.fingerprint,
                `${k.source === 'first-use' ? 'pinned on first use' : k.source} ${k.seenAt.slice(0, 16).replace('T', ' ')}`,
                k.conflict
                  ? 'SEVERAL KEYS — trust the genuine one alone'
                  : k.changed
                    ? 'CHANGED — replaces a trusted key'
                    : null,
              ]),
            )}\n\n${
              conflicted.length
                ? `${conflicted.join(', ')} showed more than one key: find out which is genuine and trust it alone (patchdeck hosts trust HOST --fingerprint …).\n`
                : ''
            }${
              single.length
                ? `Check these against the machines, then trust the ${single.length} key(s) of hosts showing one: patchdeck hosts review-keys${opts.hosts ? ` --hosts ${opts.hosts}` : ''} --trust ${digest}${single.some((k) => k.changed) ? ' --replace' : ''}\n`
                : ''
            }`,
          );
          return;
        }
        if (opts.trust !== digest)
          throw new PatchdeckError(
            'conflict',
            'The keys awaiting review are not the list you reviewed (a key was seen, trusted or changed since). Nothing was trusted; list them again.',
          );
        if (single.length === 0)
          throw new PatchdeckError('bad-request', 'No host with a single key is awaiting review.');
        const result = await core.call('hosts.trustKeys', {
          keys: single.map((k) => ({ hostId: k.hostId, fingerprint: k.fingerprint })),
          replace: Boolean(opts.replace),
        });
        if (globals().json) printJson(result);
        else
          process.stdout.write(
            `Trusted ${result.pinned} host key(s).${conflicted.length ? ` Not trusted (more than one key seen): ${conflicted.join(', ')}.` : ''}\n`,
          );
      });
    });

  program
    .command('audit [hosts...]')
    .description('audit hosts over SSH for pending updates (all inventory hosts when none are named)')
    .option('--credential <name>', 'credential to use (default: the one whose scope covers each host)')
    .option('--refresh', 'refresh package metadata first (apt-get update, dnf makecache)')
    .action(async (names: string[], opts: { credential?: string; refresh?: boolean }) => {
      await withCore(globals(), async (core) => {
        const targets = resolveHosts(core, names, await core.call('hosts.list', {}));
        let credentialId: number | undefined;
        if (opts.credential) {
          const found = (await core.call('credentials.list', {})).find((c) => c.name === opts.credential);
          if (!found) throw new PatchdeckError('not-found', `No credential named ${opts.credential}.`);
          credentialId = found.id;
        }
        const { taskId } = await core.call('audits.start', {
          hostIds: targets.map((h) => h.id),
          credentialId,
          refresh: opts.refresh,
        });
        const stop = (): void => void core.call('tasks.cancel', { id: taskId }).catch(() => undefined);
        process.once('SIGINT', stop);
        const task = await core.requireWorkspace().tasks.wait(taskId);
        process.off('SIGINT', stop);
        const latest = await core.call('audits.latest', {});
        const rows = targets.map((h) => ({ host: h, audit: latest.find((a) => a.hostId === h.id) ?? null }));
        const skipped = rows.filter((r) => r.host.offlineOnly);
        if (globals().json) {
          printJson(rows.map(({ host, audit }) => ({ host: host.name, hostId: host.id, audit })));
        } else {
          process.stdout.write(
            `${formatTable(
              ['host', 'status', 'os', 'updates', 'security', 'reboot', 'error'],
              rows.map(({ host, audit }) => [
                host.name,
                host.offlineOnly ? 'skipped' : audit?.status,
                audit ? [audit.osName, audit.osVersion].filter(Boolean).join(' ') : null,
                audit?.status === 'succeeded' ? audit.updatesCount : null,
                audit?.status === 'succeeded' ? audit.securityCount : null,
                audit?.rebootRequired === null || audit === null
                  ? null
                  : audit.rebootRequired
                    ? 'required'
                    : 'no',
                host.offlineOnly
                  ? `offline only: imported from a file, no confirmed address. ${cliAdvice('offline-only', { host: host.name })}`
                  : audit?.errorMessage,
              ]),
            )}\n`,
          );
          // The table cuts long sentences; what to do about a failure must be readable whole.
          const failures = rows.filter((r) => !r.host.offlineOnly && r.audit?.status === 'failed');
          if (failures.length)
            process.stdout.write(
              `\n${failures
                .map((r) => {
                  const advice = cliAdvice(
                    r.audit!.errorKind,
                    adviceContextOf(r.host.name, r.audit!.errorMessage),
                  );
                  return `${r.host.name}: ${r.audit!.errorMessage ?? r.audit!.errorKind}${advice ? ` ${advice}` : ''}`;
                })
                .join('\n')}\n`,
            );
          // What an audit did by itself (refreshed missing metadata) or could not see is part of
          // its result: the window shows these notes on the host's page, the CLI here.
          const notes = rows.flatMap((r) =>
            r.audit?.status === 'succeeded'
              ? r.audit.warnings
                  .slice(0, 5)
                  .map((w) => `${r.host.name}: ${sanitizeText(w, { maxLength: 300 })}`)
              : [],
          );
          if (notes.length) process.stdout.write(`\nNotes:\n${notes.join('\n')}\n`);
          // The table is a summary per host; the updates themselves are one command away.
          if (rows.some((r) => r.audit?.status === 'succeeded' && r.audit.updatesCount > 0))
            process.stdout.write(
              `\nEvery pending update, security first: patchdeck findings${names.length ? ` ${names.join(' ')}` : ''}\n`,
            );
        }
        // The closing line is the task's own summary, the words the window and notifications use.
        if (task && !globals().json) process.stdout.write(`\n${describeTask(task)}.\n`);
        if (rows.some((r) => !r.host.offlineOnly && r.audit?.status !== 'succeeded')) process.exitCode = 1;
        if (skipped.length === rows.length) process.exitCode = 1;
        if (task && task.status !== 'succeeded') process.exitCode = 1;
      });
    });
}
