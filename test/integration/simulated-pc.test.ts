import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../src/cli/testing/run-cli';
import { describeWithTestbed } from '../winrm/endpoint';
import { withSambaLock } from '../winrm/samba-dc';

/**
 * The README's tour of the Windows side without a Windows PC (`npm run testbed:pc`): the CLI
 * discovers the simulated PC on WinRM's port, is refused until its NTLM identity is trusted, audits
 * its KBs and patches them through the SYSTEM task, the restart and the re-audit, over real sealed
 * NTLM. What the PC runs is simulated (test/winrm/simulated-pc.ts says how).
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const ADDRESS = '127.0.77.201';
describeWithTestbed()('the README tour of a simulated Windows PC (npm run testbed:pc)', () => {
  withSambaLock();
  let pc: ChildProcess | null = null;
  let dir = '';
  let output = '';
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-simpc-'));
    pc = spawn(process.execPath, ['--import', 'tsx', 'test/winrm/simulated-pc.ts', '--address', ADDRESS], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the simulated PC did not start: ${output}`)), 30_000);
      const read = (d: Buffer) => {
        output += d.toString();
        if (output.includes('Ctrl-C stops it.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      pc!.stdout!.on('data', read);
      pc!.stderr!.on('data', read);
      pc!.on('exit', (code) => reject(new Error(`the simulated PC exited (${code}): ${output}`)));
    });
  }, 60_000);
  afterAll(async () => {
    if (pc && pc.exitCode === null) {
      const exited = new Promise((r) => pc!.once('exit', r));
      pc.kill('SIGTERM');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('discovers, trusts, audits and patches it from the CLI', async () => {
    const cli = (args: string[], input?: string) =>
      runCli(args, {
        configDir: path.join(dir, 'config'),
        workspace: path.join(dir, 'ws.sqlite'),
        env: { PATCHDECK_PASSPHRASE: 'tour-passphrase' },
        ...(input === undefined ? {} : { input }),
      });
    expect(output).toContain(`A simulated Windows PC listens on ${ADDRESS}:5985`);
    const found = await cli(['discover', ADDRESS, '--ports', '5985', '--add', '--no-rdns']);
    expect(found.stdout).toMatch(new RegExp(`${ADDRESS.replaceAll('.', '\\.')}\\s.*Windows.*5985\\s+winrm`));
    const added = await cli(
      [
        'credential',
        'add',
        '--windows',
        '--name',
        'office',
        '--user',
        'PATCHDECK\\alice',
        '--password-stdin',
        '--hosts',
        '*',
      ],
      'Office-Pa55word!\n',
    );
    expect(added.stdout).toContain('Added credential office (windows, user PATCHDECK\\alice)');

    const refused = await cli(['audit']);
    expect(refused.stdout).toContain(
      'WinRM endpoint is not trusted yet, so the office credential was not sent.',
    );
    const fingerprint = /--fingerprint (ntlm:\S+)\./.exec(refused.stdout)?.[1];
    expect(fingerprint).toMatch(/^ntlm:/);
    const trusted = await cli(['hosts', 'trust', ADDRESS, '--winrm', '--fingerprint', fingerprint!]);
    expect(trusted.stdout).toContain('trusted');

    const audited = await cli(['audit']);
    expect(audited.stdout).toContain('1 of 1 host succeeded');
    const findings = await cli(['findings']);
    expect(findings.stdout).toContain('KB5034441');
    // A PC's updates are KBs with titles, not packages with versions; judged after the audit, they
    // carry a tier and a due date (here from Windows Update's own severity: no advisory names KBs).
    expect(findings.stdout).toMatch(
      /^host\s+KB\s+arch\s+installed\s+title\s+security\s+severity\s+advisories\s+categories\s+tier\s+CVEs\s+KEV\s+EPSS\s+due\s*$/m,
    );
    expect(findings.stdout).toMatch(/KB5034441 .* critical\s+—\s+—\s+\d{4}-\d\d-\d\d\s*$/m);
    expect(findings.stdout).toContain('2 pending updates on 1 host, 2 security.');

    const patched = await cli(['patch', '--yes', '--restart-delay', '0']);
    // The job's summary on stdout, its progress lines on stderr.
    expect(patched.stdout).toContain('Job 1 succeeded');
    const progress = patched.stderr;
    expect(progress).toContain('registered the one-off SYSTEM task');
    expect(progress).toContain('It restarts now.');
    expect(progress).toContain('the PC is back after its restart');
    expect(progress).toContain('verified by re-audit: 2 update(s) installed');
    const after = await cli(['findings']);
    expect(after.stdout).not.toContain('KB5034441');
  }, 180_000);
});
