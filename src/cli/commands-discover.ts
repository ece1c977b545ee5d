import type { Command } from 'commander';
import { formatCount } from '../discovery';
import type { GlobalOptions, WithCore } from './context';
import { formatTable, printJson } from './output';

export function registerDiscoverCommand(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  program
    .command('discover <targets...>')
    .description('sweep a network: CIDR (198.18.0.0/24), ranges (198.18.0.10-40), names or lists')
    .option('--ports <ports>', 'ports or a preset: default, quick, … (e.g. "22,3389,5985")')
    .option('--timeout <ms>', 'per-probe timeout in ms', (v) => Number.parseInt(v, 10))
    .option('--exclude <targets>', 'addresses to leave out')
    .option('--yes', 'confirm a sweep above a /22')
    .option('--force', 'allow a sweep above a /16')
    .option('--add', 'add the hosts found to the inventory')
    .option('--no-rdns', 'skip reverse DNS lookups')
    .option('--save-as <name>', 'save these targets as a named network')
    .action(
      async (
        targets: string[],
        opts: {
          ports?: string;
          timeout?: number;
          exclude?: string;
          yes?: boolean;
          force?: boolean;
          add?: boolean;
          rdns: boolean;
          saveAs?: string;
        },
      ) => {
        await withCore(globals(), async (core) => {
          const started = await core.call('discovery.start', {
            targets: targets.join(','),
            exclude: opts.exclude,
            ports: opts.ports,
            timeoutMs: opts.timeout,
            confirm: opts.yes,
            force: opts.force,
            addToInventory: opts.add,
            reverseDns: opts.rdns,
            saveAs: opts.saveAs,
          });
          const stop = (): void =>
            void core.call('tasks.cancel', { id: started.taskId }).catch(() => undefined);
          process.once('SIGINT', stop);
          const showProgress = process.stderr.isTTY && !globals().json;
          const unsubscribe = core.events.subscribe((event, payload) => {
            if (!showProgress || event !== 'task.changed') return;
            const task = payload as {
              id: number;
              progressDone: number;
              progressTotal: number | null;
              message: string | null;
            };
            if (task.id === started.taskId)
              process.stderr.write(
                `\r${formatCount(task.progressDone)}/${task.progressTotal === null ? '?' : formatCount(task.progressTotal)} addresses · ${task.message ?? ''}   `,
              );
          });
          const task = await core.requireWorkspace().tasks.wait(started.taskId);
          unsubscribe();
          process.off('SIGINT', stop);
          if (showProgress) process.stderr.write('\n');
          const hosts = await core.call('scans.results', { scanId: started.scanId });
          const pendingKeys = await core.call('hosts.pendingKeys', { hostIds: hosts.map((h) => h.id) });
          const keyOf = (id: number) => pendingKeys.find((k) => k.hostId === id) ?? null;
          if (globals().json) {
            printJson({
              scanId: started.scanId,
              status: task?.status,
              addresses: started.addresses,
              hosts: hosts.map((h) => ({
                name: h.name,
                address: h.address,
                mac: h.mac,
                macVendor: h.macVendor,
                os: {
                  family: h.osFamily,
                  name: h.osName,
                  version: h.osVersion,
                  confidence: h.osConfidence,
                  evidence: h.osEvidence,
                },
                management: h.management,
                openPorts: h.services.filter((s) => s.state === 'open').map((s) => s.port),
                services: h.services,
                isNew: h.wasNew,
                sshKey:
                  h.keyTrust === 'trusted'
                    ? { trust: 'trusted' }
                    : keyOf(h.id)
                      ? { trust: h.keyTrust, type: keyOf(h.id)!.type, fingerprint: keyOf(h.id)!.fingerprint }
                      : null,
              })),
            });
          } else {
            process.stdout.write(
              `${formatTable(
                ['address', 'name', 'os', 'open ports', 'managed by', 'mac', 'ssh key', 'new'],
                hosts.map((h) => [
                  h.address,
                  h.name === h.address ? null : h.name,
                  [h.osName ?? h.osFamily, h.osVersion].filter(Boolean).join(' ') || null,
                  h.services.map((s) => s.port).join(','),
                  h.management.join('+') || 'none',
                  h.mac ? `${h.mac}${h.macVendor ? ` ${h.macVendor}` : ''}` : null,
                  h.keyTrust === 'trusted'
                    ? 'trusted'
                    : keyOf(h.id)
                      ? `${keyOf(h.id)!.fingerprint}${h.keyTrust === 'changed' ? ' CHANGED' : ''}`
                      : null,
                  h.wasNew ? 'new' : '',
                ]),
              )}\n${hosts.length} live hosts of ${formatCount(started.addresses)} addresses (scan ${started.scanId}, ${task?.status}).\n${
                pendingKeys.length
                  ? `${new Set(pendingKeys.map((k) => k.hostId)).size} host(s) showed an SSH key nobody has trusted yet; no password goes to them until you do: patchdeck hosts review-keys\n`
                  : ''
              }`,
            );
          }
          if (task?.status !== 'succeeded') process.exitCode = 1;
        });
      },
    );
}
