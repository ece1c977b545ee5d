import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildCollectScript,
  CollectedOutputError,
  decodeCollectedBytes,
  MAX_COLLECTED_BYTES,
  parseCollectedOutput,
} from './offline';
import { fixture, fixturePath } from './testing/fixtures';
import { CollectorError } from './types';
import { splitSections } from './util';

const SELF = 'offline/debian-12-self.root.txt';
const NONCE = '81e4de924c151f83';
const WINDOWS = 'offline/synthetic-windows11.windows.txt';

const tmp = mkdtempSync(join(tmpdir(), 'pd-offline-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Expects a clear CollectedOutputError whose message matches. */
async function refused(text: string, message: RegExp): Promise<void> {
  const error = await parseCollectedOutput(text).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CollectedOutputError);
  expect((error as Error).message).toMatch(message);
}

describe('buildCollectScript', () => {
  it('builds a linux script that sh accepts, with its nonce in the header', () => {
    const script = buildCollectScript('linux', '0123456789abcdef');
    expect(spawnSync('sh', ['-n'], { input: script }).status).toBe(0);
    expect(script).toContain('@@PATCHDECK-COLLECT v1 0123456789abcdef linux');
    expect(buildCollectScript('linux')).not.toBe(buildCollectScript('linux'));
    expect(() => buildCollectScript('linux', 'x; rm -rf /')).toThrow(/nonce/);
  });

  it('runs only read-only apt commands unless PATCHDECK_REFRESH=1 (stub apt tools log their argv)', () => {
    // The script reads the real dpkg status file: a Debian machine (as CI is) is required, not optional.
    expect(existsSync('/var/lib/dpkg/status'), 'needs /var/lib/dpkg/status (a Debian host)').toBe(true);
    const bin = join(tmp, 'bin');
    const log = join(tmp, 'argv.log');
    spawnSync('mkdir', ['-p', bin]);
    for (const tool of ['apt-get', 'apt-mark', 'apt-cache']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    const script = buildCollectScript('linux');
    const run = (env: Record<string, string>): string[] => {
      rmSync(log, { force: true });
      const out = spawnSync('sh', ['-s'], {
        input: script,
        env: { PATH: `${bin}:/usr/bin:/bin`, ...env },
        encoding: 'utf8',
      });
      expect(out.stdout).toMatch(/@@PATCHDECK-COLLECT-END [0-9a-f]{16} \d+\n$/);
      return readFileSync(log, 'utf8').trim().split('\n');
    };
    expect(run({})).toEqual(['apt-get -s dist-upgrade', 'apt-mark showhold']);
    expect(run({ PATCHDECK_REFRESH: '1' })).toEqual([
      'apt-get -q update',
      'apt-get -s dist-upgrade',
      'apt-mark showhold',
    ]);
  });

  it('builds a PowerShell script carrying the WUA search and the OS query of the SSH path', () => {
    const script = buildCollectScript('windows', '0123456789abcdef');
    expect(script).toContain("'@@PATCHDECK-COLLECT v1 0123456789abcdef windows '");
    expect(script).toContain('Win32_OperatingSystem');
    expect(script).toContain('$searcher.Online=$false');
    expect(script).toContain('$searcher.Online=$true');
    expect(script).toContain('PATCHDECK_REFRESH');
  });
});

describe('parseCollectedOutput on real captures', () => {
  it('reads the capture from this Debian 12 machine (root) like the apt collector reads apt', async () => {
    const text = fixture(SELF);
    const collected = await parseCollectedOutput(text);
    expect(collected).toMatchObject({
      formatVersion: 1,
      scriptOs: 'linux',
      hostname: 'vm',
      refreshed: false,
      collectedAt: '2026-11-28T01:03:30.000Z',
      finishedAt: '2026-11-28T01:03:35.000Z',
    });
    expect(collected.os).toMatchObject({ family: 'linux', id: 'debian', versionId: '12', arch: 'x86_64' });
    expect(collected.result.packageManager).toBe('apt');
    // Independent count: every Inst line of the simulation is one finding, security when its origin is -security.
    const sim = splitSections(text.slice(0, text.indexOf('@@PATCHDECK-STDERR')), '', NONCE).get(
      'sim',
    )!.stdout;
    const inst = sim.split('\n').filter((l) => l.startsWith('Inst '));
    expect(collected.result.updates).toHaveLength(inst.length);
    expect(collected.result.updates.filter((u) => u.security)).toHaveLength(
      inst.filter((l) => /Debian-Security|-security/.test(l)).length,
    );
    expect(collected.result.updates.find((u) => u.name === 'bash')).toMatchObject({
      installedVersion: '5.2.15-2+b8',
      availableVersion: '5.2.15-2+b13',
    });
    expect(collected.result.metadataAgeSeconds).toBe(1377);
    expect(collected.result.rebootRequired).toBe(false);
  });

  it('gives the same findings from the capture made as nobody (no root needed for apt)', async () => {
    const root = await parseCollectedOutput(fixture(SELF));
    const nobody = await parseCollectedOutput(fixture('offline/debian-12-self.nobody.txt'));
    expect(nobody.result.updates).toEqual(root.result.updates);
  });

  it('reads the synthetic Windows collection, CRLF and UTF-16LE with BOM alike', async () => {
    const bytes = readFileSync(fixturePath(WINDOWS));
    const utf8 = await parseCollectedOutput(decodeCollectedBytes(bytes));
    expect(utf8.os).toMatchObject({ family: 'windows', name: 'Windows 11 Pro', kernel: '10.0.22621.3007' });
    expect(utf8.hostname).toBe('WS-ACCT-07');
    expect(utf8.result.packageManager).toBe('windows-update');
    expect(utf8.result.updates.map((u) => u.name)).toEqual(['KB5034123', 'KB2267602']);
    expect(utf8.result.metadataAgeSeconds).toBe(3600);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bytes.toString('utf8'), 'utf16le')]);
    expect(await parseCollectedOutput(decodeCollectedBytes(utf16))).toEqual(utf8);
  });
  // Running the script on a real host beside the SSH audit of it: the lab suite
  // (test/integration/offline-collect.test.ts), never this machine's own apt.
});

describe('parseCollectedOutput refuses hostile files clearly', () => {
  const good = fixture(SELF);
  const lines = good.split('\n');

  it('refuses files cut short anywhere', async () => {
    for (let cut = 0; cut < lines.length - 2; cut += 7) {
      const text = lines.slice(0, cut).join('\n');
      const error = await parseCollectedOutput(text).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, `cut at line ${cut}`).toBeInstanceOf(CollectedOutputError);
    }
    await refused(good.slice(0, good.length - 40), /incomplete|end marker/);
  });

  it('refuses forged, foreign and duplicated markers', async () => {
    const sim = lines.findIndex((l) => l.endsWith(':begin:sim'));
    const withLine = (at: number, line: string): string =>
      [...lines.slice(0, at), line, ...lines.slice(at)].join('\n');
    await refused(withLine(sim + 2, '@@PATCHDECK:0000000000000000:end:sim:0'), /nonce/);
    await refused(withLine(sim + 2, `@@PATCHDECK:${NONCE}:end:sim:0`), /outside any section/);
    await refused(withLine(sim + 2, `@@PATCHDECK:${NONCE}:begin:held`), /never ended/);
    await refused(withLine(sim + 2, `@@PATCHDECK:${NONCE}:begin:evil`), /never ended|Unknown section/);
    const held = lines.findIndex((l) => l.endsWith(':begin:held'));
    const dup = [
      ...lines.slice(0, held),
      ...lines.slice(sim, sim + 3),
      `@@PATCHDECK:${NONCE}:end:sim:0`,
      ...lines.slice(held),
    ].join('\n');
    await refused(dup, /appears twice/);
    await refused(`${good}${good}`, /second collection header|after|ends/);
    await refused(
      good.replace(`@@PATCHDECK-COLLECT-END ${NONCE}`, '@@PATCHDECK-COLLECT-END 1111111111111111'),
      /another nonce/,
    );
  });

  it('refuses a missing section and a different package manager than the OS uses', async () => {
    const start = lines.findIndex((l) => l.endsWith(':begin:reboot'));
    const end = lines.findIndex((l) => l.includes(':end:reboot:'));
    const withoutStdout = [...lines.slice(0, start), ...lines.slice(end + 1)];
    const errStart = withoutStdout.findIndex((l, i) => i > start && l.endsWith(':begin:reboot'));
    const errEnd = withoutStdout.findIndex((l, i) => i > errStart && l.includes(':end:reboot:'));
    await refused(
      [...withoutStdout.slice(0, errStart), ...withoutStdout.slice(errEnd + 1)].join('\n'),
      /missing section reboot/,
    );
    await refused(good.replace('pm=apt', 'pm=pacman'), /uses apt, but the script found and ran pacman/);
    await refused(good.replace('pm=apt', 'pm=rm -rf'), /which package manager/);
  });

  it('refuses wrong versions, foreign files, binary garbage and oversized input', async () => {
    await refused(
      good.replace('@@PATCHDECK-COLLECT v1', '@@PATCHDECK-COLLECT v2'),
      /format v2; this Patchdeck reads v1/,
    );
    await refused('hello\n', /not a Patchdeck collection/);
    await refused('', /empty/);
    await refused(good.replace('linux 1795827810', 'linux 9795827810'), /future/);
    await refused(good.replace(' vm\n', ' $(reboot)\n'), /header/);
    await refused(
      good.replace('Inst bash', 'Inst \u0000bash'),
      /control or invalid character \(U\+0000\) at line \d+/,
    );
    await refused(good.replace('Inst bash', 'Inst \u001b[31mbash'), /U\+001B/);
    await refused(good.replace('Inst bash', 'Inst \uD800bash'), /U\+D800/);
    const garbage = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919 + 13) % 256));
    expect(() => decodeCollectedBytes(garbage)).toThrow(CollectedOutputError);
    expect(() => decodeCollectedBytes(Buffer.from([0x40, 0xc3, 0x28]))).toThrow(/not valid UTF-8/);
    expect(() => decodeCollectedBytes(Buffer.alloc(MAX_COLLECTED_BYTES + 1, 0x61))).toThrow(/at most 32 MiB/);
    await refused('a'.repeat(MAX_COLLECTED_BYTES + 1), /at most 32 MiB/);
  });

  it('survives megabyte lines quickly: in the header refused, inside a section ignored by the parsers', async () => {
    const huge = 'Inst '.padEnd(4 * 1024 * 1024, 'x');
    await refused(`@@PATCHDECK-COLLECT v1 ${huge}\n`, /not a Patchdeck collection|header/);
    const started = Date.now();
    const withHuge = good.replace('Inst bash', `${huge}\nInst bash`);
    const parsed = await parseCollectedOutput(withHuge);
    expect(parsed.result.updates).toHaveLength((await parseCollectedOutput(good)).result.updates.length);
    await refused(
      good.replace(`@@PATCHDECK:${NONCE}:begin:os-release`, `${huge}\n@@PATCHDECK:${NONCE}:begin:os-release`),
      /outside any section/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never throws anything but a clear error on 300 random line edits', async () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const copy = [...lines];
      const at = rand(copy.length);
      const op = rand(3);
      if (op === 0) copy.splice(at, 1);
      else if (op === 1) copy.splice(at, 0, copy[rand(copy.length)]!);
      else copy[at] = copy[at]!.slice(0, rand(copy[at]!.length + 1));
      const outcome = await parseCollectedOutput(copy.join('\n')).then(
        () => 'ok',
        (e: unknown) => (e instanceof CollectedOutputError || e instanceof CollectorError ? 'refused' : e),
      );
      expect(['ok', 'refused']).toContain(outcome);
    }
  });
});
