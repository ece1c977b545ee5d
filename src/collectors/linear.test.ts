/**
 * Every collector parser runs in time linear in its input, whatever the host prints.
 *
 * Nothing here is timed. The regex work is counted by src/collectors/testing/regex-work.ts: a
 * backtracking matcher with ECMAScript's semantics stands in for RegExp.prototype.exec while a
 * parser runs and counts its steps (instructions executed plus backtracks). A pattern that
 * backtracks quadratically on a crafted line costs ~n²/2 steps on it, so the old patterns
 * (macOS labels and details, sw_vers, zypper's `info -t patch`, apt's lock holders, apk's lock
 * message) blow the budget of STEPS_PER_CHAR·n at the first 16 KiB line. Each hostile text is
 * built from lines up to MAX_LINE long (the longest a parser reads), repeated up to 16 KiB,
 * 64 KiB, 256 KiB and 1 MiB: the step count must stay under the same per-character bound at
 * every size, and grow no faster than the input.
 */
import { describe, expect, it } from 'vitest';
import { measureRegexWork } from './testing/regex-work';
import { fixture } from './testing/fixtures';
import { sectionExec } from './testing/exec';
import { MAX_LINE } from './util';
import { parseSoftwareUpdateList, collect as macCollect } from './macos/index';
import { parseOsRelease, parseSwVers, parseUname, parseWindowsOs } from './os';
import {
  parsePatchInfo,
  parseZypperPatchesText,
  parseZypperUpdatesText,
  parseZypperUpdatesXml,
} from './zypper/parse';
import { collect as zypperCollect } from './zypper/index';
import {
  isAptLockError,
  parseAptPolicy,
  parseAptSimulation,
  parseLockHolders,
  parseRebootSection,
  parseShowHold,
} from './apt/parse';
import { collect as aptCollect } from './apt/index';
import {
  parseCheckUpdate,
  parseNeedsRestarting,
  parseRpmInstalled,
  parseUpdateinfoList,
  parseExpirationAge,
} from './dnf/parse';
import { collect as dnfCollect } from './dnf/index';
import { parseApkVersion, collect as apkCollect } from './apk/index';
import { parsePacmanUpdates, collect as pacmanCollect } from './pacman/index';
import { parseWuaOutput } from './windows/index';
import { parseClockAndMtimes } from './util';
import {
  parseApkInstalledDb,
  parseAptCacheSources,
  parseDpkgInstalled,
  parsePacmanInstalled,
  parseRpmQa,
  parseRpmSources,
  parseZypperInfoSources,
} from './installed';
import { parseCollectedOutput } from './offline';

const KIB = 1024;
const SIZES = [16 * KIB, 64 * KIB, 256 * KIB, 1024 * KIB];
/** Generous for a linear parser (a few regexes and a split per character), far below n²/2. */
const STEPS_PER_CHAR = 120;

/** A line of exactly `length` characters: head, then the filler repeated, then the tail. */
function line(head: string, filler: string, tail: string, length: number): string {
  const room = Math.max(0, length - head.length - tail.length);
  return head + filler.repeat(Math.ceil(room / filler.length)).slice(0, room) + tail;
}

/** `size` characters of text made of `unit(lineLength)` blocks, each line at most MAX_LINE. */
function hostileText(size: number, unit: (length: number) => string): string {
  const block = unit(Math.min(size, MAX_LINE));
  const parts: string[] = [];
  let total = 0;
  while (total < size) {
    parts.push(block);
    total += block.length + 1;
  }
  return parts.join('\n');
}

interface Case {
  name: string;
  unit: (length: number) => string;
  parse: (text: string) => unknown;
  /** Whole collectors parse every section several times over: three sizes keep the suite quick. */
  sizes?: number[];
}

const COLLECTOR_SIZES = SIZES.slice(0, 3);

const swallow = async (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
  );

const collectWith =
  (
    collect: typeof aptCollect,
    sections: (text: string) => { name: string; stdout: string; stderr?: string }[],
  ) =>
  (text: string) =>
    swallow(
      collect(
        sectionExec(() => sections(text).map((s) => ({ ...s, code: 0 }))),
        { refresh: false },
      ),
    );

const OFFLINE = fixture('offline/debian-12-self.root.txt');
const OFFLINE_NONCE = OFFLINE.split(' ')[2]!;

/** The real offline collection with `text` put into one section's stdout. */
function offlineWith(section: string, text: string): string {
  const marker = `@@PATCHDECK:${OFFLINE_NONCE}:begin:${section}\n`;
  const at = OFFLINE.indexOf(marker) + marker.length;
  return `${OFFLINE.slice(0, at)}${text}\n${OFFLINE.slice(at)}`;
}

const CASES: Case[] = [
  // The patterns the review found (issue 9, item 4).
  {
    name: 'macOS modern label',
    unit: (n) => line('* Label: a', ' ', 'b', n),
    parse: parseSoftwareUpdateList,
  },
  {
    name: 'macOS legacy label',
    unit: (n) => line('   * a', ' ', 'b', n),
    parse: parseSoftwareUpdateList,
  },
  {
    name: 'macOS legacy detail',
    unit: (n) => `   * x\n${line('\tx', ' ', 'y', n - 8)}`,
    parse: parseSoftwareUpdateList,
  },
  {
    name: 'macOS legacy detail, parentheses',
    unit: (n) => `   * x\n${line('\tT', ` (${'v'.repeat(59)})`, '', n - 8)}`,
    parse: parseSoftwareUpdateList,
  },
  { name: 'sw_vers', unit: (n) => line('ProductName: a', ' ', 'b', n), parse: parseSwVers },
  {
    name: 'zypper info -t patch field',
    unit: (n) => `Information for patch p:\n${line('A', ' ', '', n - 30)}`,
    parse: parsePatchInfo,
  },
  {
    name: 'zypper info -t patch conflicts',
    unit: (n) => `Information for patch p:\nConflicts : [1]\n${line(' ', 'a.b', '', n - 50)}`,
    parse: parsePatchInfo,
  },
  // Found in the audit of every other parser.
  { name: 'apt lock holders', unit: (n) => line('1', ' ', '\r', n), parse: parseLockHolders },
  {
    name: 'apk lock message',
    unit: (n) => line('', 'Failed to open apk database ', '', n),
    sizes: COLLECTOR_SIZES,
    parse: collectWith(apkCollect, (t) => [{ name: 'updates', stdout: '', stderr: t }]),
  },
  // Shapes close to every other pattern, to keep them honest.
  {
    name: 'macOS detail spaces',
    unit: (n) => `* Label: x\n${line('\t', ' ', ',', n - 12)}`,
    parse: parseSoftwareUpdateList,
  },
  { name: 'os-release quoting', unit: (n) => line('NAME="', '\\"', '"', n), parse: parseOsRelease },
  { name: 'uname words', unit: (n) => line('Linux ', 'a ', 'x', n), parse: parseUname },
  { name: 'Windows OS JSON', unit: (n) => line('{"Caption":"', 'a', '"}', n), parse: parseWindowsOs },
  {
    name: 'zypper table rule',
    unit: (n) => `a | b\n${line('-', '-+', 'x', n - 6)}`,
    parse: parseZypperUpdatesText,
  },
  {
    name: 'zypper table rows',
    unit: (n) => `S | Repository | Name\n--+-+-\n${line('', 'v | ', '', n - 30)}`,
    parse: parseZypperPatchesText,
  },
  {
    name: 'zypper XML',
    unit: (n) => line('<stream><update-status><update-list><update kind="package" name="', 'a', '"/>', n),
    parse: (t) => swallow(Promise.resolve().then(() => parseZypperUpdatesXml(t))),
  },
  {
    name: 'zypper collector sections',
    unit: (n) => line('Information for patch p:\nA', ' ', '', n),
    sizes: COLLECTOR_SIZES,
    parse: collectWith(zypperCollect, (t) => [
      { name: 'updates', stdout: '<stream/>', stderr: t },
      { name: 'patches', stdout: '<stream/>', stderr: t },
      { name: 'patchinfo', stdout: t },
      { name: 'reboot', stdout: t },
      { name: 'age', stdout: t },
    ]),
  },
  { name: 'apt Inst line', unit: (n) => line('Inst a [1] (2 ', '[a', ')', n), parse: parseAptSimulation },
  {
    name: 'apt kept back',
    unit: (n) => `The following packages have been kept back:\n${line(' ', 'a ', '', n - 50)}`,
    parse: parseAptSimulation,
  },
  {
    name: 'apt policy versions',
    unit: (n) => `a:\n${line(' *** ', '1', ' ', n - 4)}`,
    parse: parseAptPolicy,
  },
  { name: 'apt policy header', unit: (n) => line('a', ':', 'x', n), parse: parseAptPolicy },
  { name: 'apt showhold', unit: (n) => line('a', ':', '', n), parse: parseShowHold },
  { name: 'apt reboot', unit: (n) => line('a', ':', '', n), parse: parseRebootSection },
  { name: 'apt lock stderr', unit: (n) => line('', 'Unable to lock ', '', n), parse: isAptLockError },
  {
    name: 'apt collector sections',
    unit: (n) => line('1', ' ', '\r', n),
    sizes: COLLECTOR_SIZES,
    parse: collectWith(aptCollect, (t) => [
      { name: 'lock', stdout: t },
      { name: 'sim', stdout: t, stderr: t },
      { name: 'held', stdout: t },
      { name: 'policy', stdout: t },
      { name: 'installed', stdout: t },
      { name: 'sources', stdout: t },
      { name: 'reboot', stdout: t },
      { name: 'age', stdout: t },
    ]),
  },
  { name: 'dnf name.arch', unit: (n) => line('a', '.a', '. 1 r', n), parse: parseCheckUpdate },
  {
    name: 'dnf repository notice',
    unit: (n) => line('Repository ', ' is listed more than onc', '', n),
    parse: parseCheckUpdate,
  },
  {
    name: 'dnf updateinfo',
    unit: (n) => line('RHSA-1 Important/Sec. ', 'a-', '.x86_64', n),
    parse: parseUpdateinfoList,
  },
  { name: 'dnf rpm -qa', unit: (n) => line('a x86_64 ', '0', '', n), parse: parseRpmInstalled },
  {
    name: 'dnf needs-restarting',
    unit: (n) => line(' * ', 'a ', '\r', n),
    parse: (t) => parseNeedsRestarting(t, 1),
  },
  {
    name: 'dnf metadata age',
    unit: (n) => line('Last metadata expiration check: ', '1', '', n),
    parse: parseExpirationAge,
  },
  {
    name: 'dnf collector sections',
    unit: (n) => line('Ignoring repositories: ', 'Cache-only enabled', '', n),
    sizes: COLLECTOR_SIZES,
    parse: collectWith(dnfCollect, (t) => [
      { name: 'pm', stdout: 'dnf' },
      { name: 'check', stdout: t, stderr: t },
      { name: 'updateinfo', stdout: t },
      { name: 'cves', stdout: t },
      { name: 'installed', stdout: t },
      { name: 'sources', stdout: t },
      { name: 'reboot', stdout: t },
      { name: 'age', stdout: t },
    ]),
  },
  { name: 'apk version', unit: (n) => line('a', '-r1', ' < 1', n), parse: parseApkVersion },
  { name: 'pacman updates', unit: (n) => line('a 1 -> ', '1', '', n), parse: parsePacmanUpdates },
  {
    name: 'pacman collector sections',
    unit: (n) => line('', 'could not lock ', '', n),
    sizes: COLLECTOR_SIZES,
    parse: collectWith(pacmanCollect, (t) => [
      { name: 'tool', stdout: 'pacman' },
      { name: 'updates', stdout: t, stderr: t },
      { name: 'reboot', stdout: t },
      { name: 'age', stdout: t },
    ]),
  },
  {
    name: 'macOS collector sections',
    unit: (n) => line('* Label: a', ' ', 'b', n),
    sizes: COLLECTOR_SIZES,
    parse: collectWith(macCollect, (t) => [
      { name: 'list', stdout: t, stderr: t },
      { name: 'age', stdout: t },
    ]),
  },
  {
    name: 'Windows Update JSON',
    unit: (n) => line('PATCHDECK-WUA-JSON:{"error":"', 'a', '"}', n),
    parse: parseWuaOutput,
  },
  { name: 'clock and mtimes', unit: (n) => line('1', '0', '.', n), parse: parseClockAndMtimes },
  // The installed set and source packages (issue 13).
  { name: 'dpkg-query installed', unit: (n) => line('ii \t', 'a\t', '1', n), parse: parseDpkgInstalled },
  {
    name: 'apt-cache show sources',
    unit: (n) => line('Source: a (', '(1', ')', n),
    parse: (t) => parseAptCacheSources(`Package: a\nVersion: 1\n${t}`),
  },
  {
    name: 'rpm -qa with sources',
    unit: (n) => line('a\t0\t1\t1\tx\t', 'a-', '.src.rpm', n),
    parse: parseRpmQa,
  },
  { name: 'dnf repoquery sources', unit: (n) => line('a\t', '\t', '', n), parse: parseRpmSources },
  {
    name: 'zypper info sources',
    unit: (n) => line('Source package : ', 'a-1', '.src', n),
    parse: (t) => parseZypperInfoSources(`Name : a\nVersion : 1\n${t}`),
  },
  { name: 'apk installed db', unit: (n) => line('P:', 'a', '', n), parse: parseApkInstalledDb },
  { name: 'pacman -Q', unit: (n) => line('a', ' ', '1', n), parse: parsePacmanInstalled },
  // The offline import runs all of the above on a file of up to 32 MiB.
  {
    name: 'offline import, sw-vers',
    unit: (n) => line('ProductName: a', ' ', 'b', n),
    parse: (t) => swallow(parseCollectedOutput(offlineWith('sw-vers', t))),
  },
  {
    name: 'offline import, apt simulation',
    unit: (n) => line('1', ' ', 'x', n),
    parse: (t) => swallow(parseCollectedOutput(offlineWith('sim', t))),
  },
];

/** The work of one parse, and the same parse with the native engine (for the same answer). */
async function work(c: Case, text: string): Promise<number> {
  const counted = await measureRegexWork(() => c.parse(text), STEPS_PER_CHAR * text.length);
  expect(JSON.stringify(counted.result)).toBe(JSON.stringify(await c.parse(text)));
  return counted.steps;
}

describe('collector parsers are linear in their input (regex work counted, not timed)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const steps: number[] = [];
      for (const size of c.sizes ?? SIZES) {
        const text = hostileText(size, c.unit);
        const spent = await work(c, text);
        expect(spent, `${c.name}: ${spent} steps for ${text.length} characters`).toBeLessThanOrEqual(
          STEPS_PER_CHAR * text.length,
        );
        steps.push(spent / text.length);
      }
      // The cost per character does not grow with the input (it falls where a parser reads
      // only a bounded head); a quadratic parser's would quadruple at each step.
      for (let i = 1; i < steps.length; i++)
        expect(steps[i]!, steps.join(', ')).toBeLessThanOrEqual(steps[i - 1]! * 1.25 + 0.05);
    });
  }
});

describe('over-long lines are reported, never silently dropped', () => {
  const long = `Inst ${'a'.repeat(MAX_LINE)} [1] (2 Debian:12/bookworm [amd64])`;

  it('a collector warns about the lines it did not read', async () => {
    const result = await aptCollect(
      sectionExec(() => [
        { name: 'sim', stdout: `${long}\nInst b [1] (2 Debian:12/bookworm [amd64])\n`, code: 0 },
        { name: 'held', stdout: '', code: 0 },
      ]),
      { refresh: false },
    );
    expect(result.updates.map((u) => u.name)).toEqual(['b']);
    expect(result.warnings).toContainEqual(
      expect.stringMatching(/^1 line of the sim output is longer than 16 KiB/),
    );
  });

  it('OS detection refuses to guess from an over-long line', async () => {
    const exec = sectionExec(() => [
      { name: 'os-release', stdout: `ID=debian\nNAME=${'x'.repeat(MAX_LINE)}\n`, code: 0 },
      { name: 'uname', stdout: 'Linux 6.1.0 x86_64\n', code: 0 },
      { name: 'sw-vers', stdout: '', code: 0 },
    ]);
    const { detectOs } = await import('./os');
    await expect(detectOs(exec)).rejects.toMatchObject({
      name: 'CollectorError',
      kind: 'command-failed',
      message: expect.stringContaining('os-release output holds a line longer than 16 KiB'),
    });
  });

  it('an offline import refuses an over-long detection line', async () => {
    await expect(parseCollectedOutput(offlineWith('uname', 'L'.repeat(MAX_LINE + 1)))).rejects.toMatchObject({
      name: 'CollectedOutputError',
      message: expect.stringContaining('uname output holds a line longer than 16 KiB'),
    });
  });
});
