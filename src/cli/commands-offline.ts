import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { buildCollectScript, MAX_COLLECTED_BYTES, type CollectScriptOs } from '../collectors';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';
import { formatTable, printJson } from './output';
import type { GlobalOptions, WithCore } from './context';

function readCollectionFile(file: string): Buffer {
  let size: number;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new PatchdeckError('bad-request', `${file} is not a file.`);
    size = stat.size;
  } catch (error) {
    if (error instanceof PatchdeckError) throw error;
    throw new PatchdeckError('bad-request', `Cannot read ${file}.`);
  }
  // Refuse before reading: a huge file is not a collection, and reading it would only cost memory.
  if (size > MAX_COLLECTED_BYTES)
    throw new PatchdeckError(
      'bad-request',
      `${file} is ${(size / 1024 / 1024).toFixed(1)} MiB; a Patchdeck collection is at most ${MAX_COLLECTED_BYTES / 1024 / 1024} MiB.`,
    );
  try {
    return fs.readFileSync(file);
  } catch {
    throw new PatchdeckError('bad-request', `Cannot read ${file}.`);
  }
}

/** `patchdeck collect-script` and `patchdeck import`: audits of hosts the laptop cannot reach. */
export function registerOfflineCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  program
    .command('collect-script')
    .description('print a read-only script that collects pending updates on a host Patchdeck cannot reach')
    .addOption(
      new Option('--os <os>', 'the host’s operating system')
        .choices(['linux', 'windows'])
        .makeOptionMandatory(),
    )
    .option('--out <file>', 'write the script to this file instead of standard output')
    .action((opts: { os: CollectScriptOs; out?: string }) => {
      const script = buildCollectScript(opts.os);
      if (!opts.out) {
        process.stdout.write(script);
        return;
      }
      try {
        fs.writeFileSync(opts.out, opts.os === 'windows' ? script.replace(/\n/g, '\r\n') : script, {
          mode: 0o644,
        });
      } catch {
        throw new PatchdeckError('bad-request', `Cannot write ${opts.out}.`);
      }
      const run =
        opts.os === 'windows'
          ? `powershell -NoProfile -ExecutionPolicy Bypass -File ${opts.out} > patchdeck-collect.txt`
          : `sh ${opts.out} > patchdeck-collect.txt`;
      process.stderr.write(
        `Wrote ${opts.out}. On the host run:  ${run}\nThen here:  patchdeck import patchdeck-collect.txt\n`,
      );
    });

  program
    .command('import <file>')
    .description('turn the output of the collect-script script into an audit in the workspace')
    .option(
      '--host <name>',
      'the host to attach the audit to (default: the host named in the file, created if missing)',
    )
    .action(async (file: string, opts: { host?: string }) => {
      const bytes = readCollectionFile(file);
      await withCore(globals(), async (core) => {
        const imported = await core.call('audits.import', {
          base64: bytes.toString('base64'),
          host: opts.host,
        });
        if (globals().json) {
          printJson(imported);
          return;
        }
        const a = imported.audit;
        process.stdout.write(
          `Imported audit ${a.id} for ${imported.hostName}${imported.hostCreated ? ' (new host)' : ''}, collected ${imported.collectedAt}.\n` +
            `${formatTable(
              ['host', 'os', 'package manager', 'updates', 'security', 'reboot', 'metadata age'],
              [
                [
                  imported.hostName,
                  [a.osName, a.osVersion].filter(Boolean).join(' ') || null,
                  a.packageManager,
                  a.updatesCount,
                  a.securityCount,
                  a.rebootRequired === null ? 'unknown' : a.rebootRequired ? 'required' : 'no',
                  a.metadataAgeSeconds === null ? null : `${Math.round(a.metadataAgeSeconds / 3600)} h`,
                ],
              ],
            )}\n`,
        );
        for (const warning of a.warnings)
          process.stdout.write(`warning: ${sanitizeText(warning, { maxLength: 300 })}\n`);
      });
    });
}
