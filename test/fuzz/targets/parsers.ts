/**
 * Fuzz targets for every parser of what hosts print: the collectors (through their real
 * `collect()` on replayed, mutated captures, and their pure parsers directly), OS detection,
 * the offline import, and discovery's banner, OS, neighbour-table, NetBIOS, mDNS and target
 * parsers. The only errors they may throw are their documented ones (CollectorError,
 * CollectedOutputError); anything else is a bug in the parser.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { CollectorError, type RemoteExec } from '../../../src/collectors/types';
import {
  loadRecording,
  replayExec,
  sectionExec,
  type RecordedRun,
} from '../../../src/collectors/testing/exec';
import { fixturePath } from '../../../src/collectors/testing/fixtures';
import * as util from '../../../src/collectors/util';
import * as apt from '../../../src/collectors/apt/index';
import * as installed from '../../../src/collectors/installed';
import * as dnf from '../../../src/collectors/dnf/index';
import * as zypper from '../../../src/collectors/zypper/index';
import * as pacman from '../../../src/collectors/pacman/index';
import * as apk from '../../../src/collectors/apk/index';
import * as macos from '../../../src/collectors/macos/index';
import * as windows from '../../../src/collectors/windows/index';
import * as os from '../../../src/collectors/os';
import { packageManagerFor } from '../../../src/collectors/pick';
import {
  CollectedOutputError,
  decodeCollectedBytes,
  parseCollectedOutput,
} from '../../../src/collectors/offline';
import * as protocols from '../../../src/discovery/protocols';
import { collectOsEvidence, inferOs, sshEvidence, type OsObservations } from '../../../src/discovery/os';
import * as neighbours from '../../../src/discovery/neighbours';
import { decodeNbstatResponse } from '../../../src/discovery/netbios';
import { createMdnsBrowser, type MdnsSocketLike } from '../../../src/discovery/mdns';
import { decodeReverseAnswer } from '../../../src/discovery/mdns-unicast';
import { parseTargets } from '../../../src/discovery/targets';
import type { ServiceInfo } from '../../../src/discovery/tcp';
import type { FuzzTarget } from '../target';
import { fixtureText, fixtureTexts, hostBytes, hostText } from '../mutate';

const isCollectorError = (error: unknown): boolean => error instanceof CollectorError;
/** Keeps each target's input type while the lists hold FuzzTarget (methods are bivariant). */
const define = <T>(target: FuzzTarget<T>): FuzzTarget<T> => target;
const MARKER_LINE = (line: string): boolean => line.includes('@@PATCHDECK');

// ---------------------------------------------------------------------------------------------
// Collectors: mutated real recordings replayed into collect()

interface Replay {
  runs: RecordedRun[];
  refresh: boolean;
}

/**
 * The recorded runs of real collector sessions (test/fixtures/<pm>/*.collect.json) with their
 * stdout and stderr mutated between the frame markers, and the exit status sometimes changed.
 */
function replays(paths: readonly string[]): fc.Arbitrary<Replay> {
  const recordings = paths.map((p) => ({
    runs: loadRecording(fixturePath(p)).runs,
    refresh: p.includes('refresh'),
  }));
  // Each recording is mutated from its own output, so its frame (and nonce) survives and the
  // collector gets past the framing into its parsers.
  return fc.oneof(
    ...recordings.map((recording) => {
      const first = recording.runs[0]!;
      return fc
        .tuple(
          hostText([first.stdout], { protect: MARKER_LINE }),
          fc.oneof(fc.constant(first.stderr), hostText([first.stderr], { protect: MARKER_LINE })),
          // Mostly the recorded exit status; sometimes another one the tool can return.
          fc.oneof(
            { weight: 4, arbitrary: fc.constant(undefined) },
            fc.constantFrom(0, 1, 2, 7, 100, 101, 102, 106, null),
          ),
        )
        .map(([stdout, stderr, code]) => ({
          refresh: recording.refresh,
          runs: recording.runs.map((run, i) =>
            i === 0 ? { ...run, stdout, stderr, code: code === undefined ? run.code : code } : run,
          ),
        }));
    }),
  );
}

/** Sections for sectionExec: each one's stdout a mutated capture of that very section. */
function sectionSets(
  sections: Record<string, readonly string[]>,
  stderr: readonly string[] = [''],
): fc.Arbitrary<{ name: string; stdout: string; stderr: string; code: number | null }[]> {
  const names = Object.keys(sections);
  return fc.tuple(
    ...names.map((name) =>
      fc.record({
        name: fc.constant(name),
        stdout: hostText(sections[name]!),
        stderr: fc.oneof(fc.constant(''), hostText(stderr)),
        code: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.constantFrom(1, 2, 100, 127, null)),
      }),
    ),
  );
}

function collectorTarget(
  name: string,
  recordings: readonly string[],
  collect: (exec: RemoteExec, options: { refresh: boolean }) => Promise<unknown>,
  parse: (text: string) => unknown,
): FuzzTarget<Replay> {
  return {
    name,
    arbitrary: replays(recordings),
    async run(input) {
      // The pure parsers see each section's raw text too, not only what collect() routes to them.
      parse(input.runs[0]!.stdout);
      await collect(replayExec(input.runs), { refresh: input.refresh });
    },
    classified: isCollectorError,
  };
}

const aptParsers = (t: string): void => {
  apt.parseAptSimulation(t);
  apt.parseShowHold(t);
  apt.parseAptPolicy(t);
  apt.parseRebootSection(t);
  apt.parseLockHolders(t);
  apt.isAptLockError(t);
  apt.isDpkgInterrupted(t);
  for (const line of t.split('\n').slice(0, 200)) {
    apt.parseInstLine(line);
    apt.parseAptOrigin(line);
    apt.policySourceSuite(line);
  }
  apt.aptResultFromSections({ sim: t, held: t, policy: t, reboot: t, age: t });
  apt.aptResultFromSections({ sim: t, held: t, policy: t, reboot: t, age: t, installed: t, sources: t });
  installed.parseDpkgInstalled(t);
  installed.parseAptCacheSources(t);
};

/** The installed-set and source parsers of rpm, zypper, apk and pacman hosts. */
const installedParsers = (t: string): void => {
  installed.parseRpmQa(t);
  installed.parseRpmSources(t);
  installed.parseZypperInfoSources(t);
  installed.parseApkInstalledDb(t);
  installed.parsePacmanInstalled(t);
  for (const word of t.split(/\s+/).slice(0, 200)) installed.splitSourceRpm(word);
};

const dnfParsers = (t: string): void => {
  dnf.parseCheckUpdate(t);
  dnf.parseUpdateinfoList(t);
  dnf.parseRpmInstalled(t);
  dnf.parseNeedsRestarting(t, 1);
  dnf.parseExpirationAge(t);
  dnf.isRpmLocked(t);
  for (const word of t.split(/\s+/).slice(0, 200)) dnf.parseNevra(word);
  dnf.dnfResultFromSections({
    pm: 'dnf',
    check: t,
    updateinfo: t,
    cves: t,
    installed: t,
    reboot: { stdout: t, code: 1 },
    age: t,
    sources: t,
  });
  installedParsers(t);
};

const zypperParsers = (t: string): void => {
  zypper.parseZypperUpdatesText(t);
  zypper.parseZypperPatchesText(t);
  zypper.parsePatchInfo(t);
  installedParsers(t);
  try {
    zypper.parseZypperUpdatesXml(t);
    zypper.parseZypperPatchesXml(t);
  } catch (error) {
    if (!(error instanceof CollectorError)) throw error;
  }
};

export const collectorTargets: FuzzTarget[] = [
  collectorTarget(
    'collector:apt',
    [
      'apt/aptlab.collect.json',
      'apt/debian-12-self.collect.json',
      'apt/debian-12-self-sources.collect.json',
      'apt/lab-several-sources.collect.json',
    ],
    apt.collect,
    aptParsers,
  ),
  collectorTarget(
    'collector:dnf',
    [
      'dnf/lab-cached.collect.json',
      'dnf/lab-nocache.collect.json',
      'dnf/lab-refresh.collect.json',
      'dnf/lab-sources-refresh.collect.json',
    ],
    dnf.collect,
    dnfParsers,
  ),
  collectorTarget(
    'collector:zypper',
    ['zypper/lab-cached.collect.json', 'zypper/lab-refresh.collect.json', 'zypper/lab-sources.collect.json'],
    zypper.collect,
    zypperParsers,
  ),
  collectorTarget(
    'collector:pacman',
    ['pacman/lab-refresh.collect.json'],
    pacman.collect,
    pacman.parsePacmanUpdates,
  ),
  define({
    name: 'collector:apk',
    arbitrary: sectionSets(
      {
        updates: fixtureTexts('apk'),
        installed: [fixtureText('apk/constructed.lib-apk-db-installed.txt')],
        reboot: ['running-kernel-installed\n', 'running-kernel-missing\n', 'no-kernel-packages\n'],
        age: ['1700000000\n1699990000\n1699990100\n'],
      },
      [
        'ERROR: Unable to lock database: temporary error (try again later)\n',
        'Failed to open apk database: Resource temporarily unavailable\n',
      ],
    ),
    async run(sections) {
      for (const s of sections) {
        apk.parseApkVersion(s.stdout);
        installed.parseApkInstalledDb(s.stdout);
      }
      await apk.collect(
        sectionExec(() => sections),
        { refresh: false },
      );
    },
    classified: isCollectorError,
  }),
  define({
    name: 'collector:macos',
    arbitrary: sectionSets({
      list: fixtureTexts('macos'),
      age: ['1700000000\n2023-11-01 10:00:00 +0000\n', '1700000000\n'],
    }),
    async run(sections) {
      macos.parseSoftwareUpdateList(sections[0]!.stdout);
      for (const u of macos.parseSoftwareUpdateList(sections[0]!.stdout)) macos.isMacSecurityUpdate(u.title);
      await macos.collect(
        sectionExec(() => sections),
        { refresh: false },
      );
    },
    classified: isCollectorError,
  }),
  define({
    name: 'collector:windows',
    arbitrary: fc.record({
      stdout: fc.oneof(
        hostText(fixtureTexts('windows', (f) => f.endsWith('.stdout'))),
        wuaJson().map((json) => `PATCHDECK-WUA-JSON:${json}\n`),
      ),
      stderr: hostText(fixtureTexts('windows', (f) => f.endsWith('.stderr'))),
      code: fc.constantFrom(0, 1, null),
    }),
    async run(input) {
      const data = windows.parseWuaOutput(input.stdout);
      if (data) windows.windowsFindings(data);
      await windows.collect({ run: () => Promise.resolve(input) }, { refresh: false });
    },
    classified: isCollectorError,
  }),
];

/** Windows Update Agent JSON with every field of every type, as a hostile host could print it. */
function wuaJson(): fc.Arbitrary<string> {
  const any = fc.jsonValue({ maxDepth: 3 });
  const update = fc.record(
    {
      title: fc.oneof(fc.string(), any),
      kb: fc.oneof(fc.array(fc.stringMatching(/^\d{4,8}$/)), any),
      severity: fc.oneof(fc.constantFrom('Critical', 'Important', '', 'Moderate'), any),
      categories: fc.oneof(fc.array(fc.constantFrom('Security Updates', 'Updates', 'Drivers')), any),
      cves: fc.oneof(fc.array(fc.stringMatching(/^CVE-\d{4}-\d{4,7}$/)), any),
      bulletins: any,
      rebootBehavior: fc.oneof(fc.integer(), any),
      type: any,
    },
    { requiredKeys: [] },
  );
  return fc
    .record(
      {
        ok: fc.oneof(fc.boolean(), any),
        error: fc.oneof(fc.string(), any),
        hresult: fc.oneof(fc.constantFrom('0x80070005', '0x8024402C', '0x80072EE7', '0x00000000'), any),
        rebootRequired: fc.oneof(fc.boolean(), any),
        rebootReasons: fc.oneof(fc.array(fc.constantFrom('CBS RebootPending', 'x')), any),
        lastSearch: fc.oneof(fc.integer(), any),
        now: fc.oneof(fc.integer(), any),
        updates: fc.oneof(fc.array(update, { maxLength: 20 }), update, any),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
}

// ---------------------------------------------------------------------------------------------
// OS detection and the helpers every collector shares

const OS_RELEASES = fixtureTexts('os', (f) => f.endsWith('.os-release'));
const SW_VERS = fixtureTexts('os', (f) => f.endsWith('.sw_vers'));
const UNAMES = [
  ...fixtureTexts('os', (f) => f.endsWith('.uname')),
  'Darwin 23.1.0 arm64\n',
  'FreeBSD 14.0-RELEASE amd64\n',
];
const WINDOWS_OS_JSON =
  '{"Caption":"Microsoft Windows 11 Pro","Version":"10.0.22631","BuildNumber":"22631","OSArchitecture":"64-bit","DisplayVersion":"23H2","UBR":2861}';

export const osTargets: FuzzTarget[] = [
  define({
    name: 'collector:os-detection',
    arbitrary: fc.record({
      osRelease: hostText(OS_RELEASES),
      uname: hostText(UNAMES),
      swVers: fc.oneof(fc.constant(''), hostText(SW_VERS)),
      windows: fc.oneof(
        hostText([WINDOWS_OS_JSON]),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      posix: fc.boolean(),
    }),
    async run(input) {
      const release = os.parseOsRelease(input.osRelease);
      const uname = os.parseUname(input.uname);
      const sw = os.parseSwVers(input.swVers);
      const info = os.osInfoFromPosix(release, uname, sw);
      const win = os.parseWindowsOs(input.windows);
      for (const guess of [info, win]) {
        if (!guess) continue;
        try {
          packageManagerFor(guess);
        } catch (error) {
          if (!(error instanceof CollectorError)) throw error;
        }
      }
      // detectOs end to end: POSIX sections, or no markers and then the PowerShell answer.
      let asked = 0;
      const exec: RemoteExec = input.posix
        ? sectionExec(() => [
            { name: 'os-release', stdout: input.osRelease, code: 0 },
            { name: 'uname', stdout: input.uname, code: 0 },
            { name: 'sw-vers', stdout: input.swVers, code: 0 },
          ])
        : {
            run: () =>
              Promise.resolve(
                asked++ === 0
                  ? { stdout: '', stderr: input.uname, code: 1 }
                  : { stdout: input.windows, stderr: '', code: 0 },
              ),
          };
      await os.detectOs(exec);
    },
    classified: isCollectorError,
  }),
  define({
    name: 'collector:util',
    arbitrary: fc.record({
      text: hostText([
        ...OS_RELEASES,
        fixtureText('apt/aptlab.dist-upgrade.stderr'),
        '1700000000\n1699990000.5\n',
      ]),
      nonce: fc.constantFrom('0123456789abcdef', 'deadbeef00000000'),
    }),
    run({ text, nonce }) {
      util.splitSections(text, text, nonce);
      util.splitSections(
        `@@PATCHDECK:${nonce}:begin:a\n${text}\n@@PATCHDECK:${nonce}:end:a:0\n`,
        text,
        nonce,
      );
      util.parseClockAndMtimes(text);
      util.kernelRebootState(text);
      util.looksLikeSudoFailure(text);
      util.normalizeSeverity(text);
      util.isValidPackageName(text);
      util.isValidVersion(text);
      util.isValidArch(text);
      util.cleanStderr(text);
      util.cleanField(text);
      util.countOverlongLines(text);
      util.metadataAge(text, text.split('\n'));
    },
    classified: () => false,
  }),
];

// ---------------------------------------------------------------------------------------------
// The offline import

const OFFLINE = fixtureTexts('offline', (f) => f.endsWith('.txt'));

export const offlineTargets: FuzzTarget[] = [
  define({
    name: 'offline-import',
    arbitrary: fc.oneof(
      {
        weight: 8,
        arbitrary: hostText(OFFLINE, { protect: MARKER_LINE }).map((text) => ({ text, bytes: null })),
      },
      { weight: 1, arbitrary: hostText(OFFLINE).map((text) => ({ text, bytes: null })) },
      {
        weight: 1,
        arbitrary: hostBytes(OFFLINE.map((t) => Buffer.from(t.slice(0, 600)))).map((bytes) => ({
          text: null,
          bytes,
        })),
      },
    ),
    async run(input) {
      const text = input.bytes ? decodeCollectedBytes(input.bytes) : input.text!;
      await parseCollectedOutput(text);
    },
    classified: (error) => error instanceof CollectedOutputError || error instanceof CollectorError,
  }),
];

// ---------------------------------------------------------------------------------------------
// Discovery

const BANNER_LINES = fixtureText('banners/ssh-banners.tsv')
  .split('\n')
  .filter((l) => l.startsWith('SSH-'))
  .map((l) => l.split('\t')[0]!);
const NBSTAT_ANSWER = (() => {
  // A real-shaped node-status answer: two names (workstation, workgroup) and a unit id.
  const name = (text: string, suffix: number, flags: number): number[] => [
    ...Buffer.from(text.padEnd(15, ' '), 'latin1'),
    suffix,
    flags >> 8,
    flags & 0xff,
  ];
  const rdata = [
    2,
    ...name('PDWIN', 0x00, 0x0400),
    ...name('WORKGROUP', 0x00, 0x8400),
    0,
    0x1c,
    0x42,
    0,
    0,
    8,
  ];
  return Uint8Array.from([
    0x12,
    0x34,
    0x84,
    0x00,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0x20,
    ...Array<number>(32).fill(0x41),
    0,
    0x00,
    0x21,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    rdata.length >> 8,
    rdata.length & 0xff,
    ...rdata,
  ]);
})();

function bannerBytes(): fc.Arbitrary<Uint8Array> {
  const messages = [
    ...BANNER_LINES.map((b) => Buffer.from(`${b}\r\n`, 'latin1')),
    Buffer.from(fixtureText('banners/httpapi-401.http'), 'latin1'),
    Buffer.from('RFB 003.008\n', 'latin1'),
    Buffer.from([0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 0x02, 0, 0x08, 0, 0x02, 0, 0, 0]),
    protocols.smbNegotiateRequest(),
    Buffer.concat([Buffer.from([0, 0, 0, 0x50]), Buffer.from('\xfeSMB', 'latin1'), Buffer.alloc(76)]),
  ];
  return hostBytes(messages);
}

const service = (identification: string, server: string): ServiceInfo[] => {
  const id = protocols.parseSshIdentification(Buffer.from(identification, 'latin1'), true);
  return [
    ...(id ? [{ port: 22, kind: 'ssh' as const, identification: id }] : []),
    {
      port: 5985,
      kind: 'http',
      tls: false,
      status: 401,
      server,
      authenticate: null,
      winrm: server.length % 2 === 0,
    },
    { port: 445, kind: 'smb', version: 2, dialect: server.slice(0, 5), signingRequired: null },
  ];
};

/** A multicast-dns stand-in that delivers the generated response packets, then goes quiet. */
function fakeMdns(packets: unknown[], addresses: string[]): MdnsSocketLike {
  const listeners: ((packet: never, rinfo: { address: string }) => void)[] = [];
  return {
    query() {},
    on(event: string, listener: (...args: never[]) => void) {
      if (event === 'response') {
        listeners.push(listener as (packet: never, rinfo: { address: string }) => void);
        queueMicrotask(() =>
          packets.forEach((p, i) =>
            listener(...([p, { address: addresses[i % addresses.length]! }] as never[])),
          ),
        );
      }
      return this;
    },
    destroy() {},
  };
}

// multicast-dns hands the browser what dns-packet decodes from the datagram: the fuzzer
// encodes generated records, damages the bytes, and decodes them the same way.
interface DnsPacketModule {
  encode(packet: unknown): Buffer;
  decode(bytes: Buffer): unknown;
}
const dnsPacket = createRequire(import.meta.url)('dns-packet') as DnsPacketModule;

const MDNS_NAMES = [
  '_services._dns-sd._udp.local',
  '_ssh._tcp.local',
  'nas._smb._tcp.local',
  'mac._device-info._tcp.local',
  'nas.local',
  'x.local',
];
const mdnsName = fc.oneof(fc.constantFrom(...MDNS_NAMES), fc.stringMatching(/^[\w.-]{1,60}$/));
const mdnsRecord = fc.oneof(
  fc.record({ name: mdnsName, type: fc.constant('A'), data: fc.constantFrom('198.18.0.7', '127.0.0.1') }),
  fc.record({ name: mdnsName, type: fc.constant('AAAA'), data: fc.constantFrom('fe80::1', '::1') }),
  fc.record({ name: mdnsName, type: fc.constant('PTR'), data: mdnsName }),
  fc.record({
    name: mdnsName,
    type: fc.constant('SRV'),
    data: fc.record({ port: fc.integer({ min: 0, max: 65535 }), target: mdnsName }),
  }),
  fc.record({
    name: mdnsName,
    type: fc.constant('TXT'),
    data: fc.array(fc.oneof(fc.constant('model=MacBookPro18,1'), fc.string({ maxLength: 40 })), {
      maxLength: 4,
    }),
  }),
);
const mdnsPacket = fc
  .tuple(
    fc.array(mdnsRecord, { maxLength: 8 }),
    fc.array(mdnsRecord, { maxLength: 4 }),
    fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([answers, additionals, edits, cut]) => {
    const bytes = dnsPacket.encode({ type: 'response', flags: 0x8400, answers, additionals });
    for (const e of edits) bytes[e.at % bytes.length] = e.value;
    return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });

export const discoveryTargets: FuzzTarget[] = [
  define({
    name: 'discovery:banners',
    arbitrary: bannerBytes(),
    run(bytes) {
      protocols.parseSshIdentification(bytes);
      protocols.parseSshIdentification(bytes, true);
      protocols.httpHeadComplete(bytes);
      const head = protocols.parseHttpHead(bytes);
      if (head) protocols.looksLikeWinrm(head);
      protocols.parseRdpConfirm(bytes);
      protocols.smbMessageComplete(bytes);
      protocols.parseSmbNegotiate(bytes);
      protocols.parseRfbVersion(bytes);
    },
    classified: () => false,
  }),
  define({
    name: 'discovery:os',
    arbitrary: fc.record({
      banner: hostText(BANNER_LINES),
      server: hostText([
        'Microsoft-HTTPAPI/2.0',
        'Apache/2.4.57 (Debian)',
        'nginx/1.18.0 (Ubuntu)',
        'Microsoft-IIS/10.0',
      ]),
      vendor: fc.oneof(
        fc.constantFrom('Apple, Inc.', 'Raspberry Pi Trading Ltd', 'Cisco Systems, Inc', ''),
        fc.string(),
      ),
      ttl: fc.oneof(fc.integer({ min: -1, max: 300 }), fc.constant(null)),
      ports: fc.array(fc.constantFrom(22, 135, 445, 3389, 5985, -1, 70000), { maxLength: 6 }),
      model: fc.oneof(fc.constantFrom('MacBookPro18,1', 'iMac20,1'), fc.string(), fc.constant(null)),
      mdns: fc.array(fc.constantFrom('_workstation._tcp', '_smb._tcp', 'x'), { maxLength: 3 }),
    }),
    run(o) {
      sshEvidence(o.banner);
      const observations: OsObservations = {
        services: service(o.banner, o.server),
        openPorts: o.ports,
        macVendor: o.vendor,
        ttl: o.ttl,
        netbiosName: o.vendor.slice(0, 15) || null,
        mdnsServices: o.mdns,
        mdnsModel: o.model,
      };
      inferOs(collectOsEvidence(observations));
      inferOs(observations);
    },
    classified: () => false,
  }),
  define({
    name: 'discovery:neighbours',
    arbitrary: hostText(fixtureTexts('neighbours', (f) => f.endsWith('.txt') && f !== 'VERSIONS.txt')),
    run(text) {
      neighbours.parseIpNeigh(text);
      neighbours.parseProcNetArp(text);
      for (const e of neighbours.parseArpA(text)) neighbours.macVendor(e.mac);
      for (const word of text.split(/\s+/).slice(0, 50)) {
        const mac = neighbours.normalizeMac(word);
        if (mac) neighbours.macVendor(mac);
      }
    },
    classified: () => false,
  }),
  define({
    name: 'discovery:netbios',
    arbitrary: fc.tuple(
      hostBytes([NBSTAT_ANSWER]),
      fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    ),
    run([bytes, id]) {
      decodeNbstatResponse(bytes, id);
    },
    classified: () => false,
  }),
  define({
    name: 'discovery:mdns-unicast',
    // avahi-daemon 0.8's captured answer to the unicast reverse query (test/fixtures/mdns).
    arbitrary: fc.tuple(
      hostBytes([Buffer.from(fixtureText('mdns/avahi-0.8-reverse-ptr-198.18.0.200.hex').trim(), 'hex')]),
      fc.integer({ min: 0, max: 0xffff }),
    ),
    run([bytes, id]) {
      for (const name of decodeReverseAnswer(bytes, '198.18.0.200', id))
        if (name.length > 253) throw new Error(`unbounded name: ${name.length}`);
    },
    classified: () => false,
  }),
  define({
    name: 'discovery:mdns',
    arbitrary: fc.record({
      packets: fc.array(mdnsPacket, { maxLength: 6 }),
      addresses: fc.array(fc.constantFrom('198.18.0.7', '::ffff:198.18.0.8', 'fe80::1%eth0', 'x'), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
    async run({ packets, addresses }) {
      const decoded: unknown[] = [];
      for (const bytes of packets) {
        try {
          decoded.push(dnsPacket.decode(bytes));
        } catch {
          // multicast-dns drops what dns-packet cannot decode (its 'warning' event).
        }
      }
      const browse = createMdnsBrowser({ windowMs: 1, open: () => fakeMdns(decoded, addresses) });
      await browse(new AbortController().signal);
    },
    classified: () => false,
  }),
  define({
    name: 'discovery:targets',
    // A typed /16 expands to 65 534 addresses: legitimately slower than the rest.
    timeoutMs: 5000,
    arbitrary: fc.record({
      text: hostText(
        [
          '198.18.0.1, 198.18.0.0/30\n198.18.0.10-20 nas.lab.test',
          'fe80::1 ::1/126 host-a;host-b\n10.0.0.1-10.0.0.9',
        ],
        { words: ['/', '-', '::', '%eth0', '198.18.0.255', '255.255.255.255/0', '0.0.0.0/16'] },
      ),
      exclude: fc.oneof(fc.constant(''), fc.constantFrom('198.18.0.5', '198.18.0.0/31', 'nas.lab.test')),
      force: fc.boolean(),
    }),
    async run({ text, exclude, force }) {
      // Names resolve to loopback or lab addresses only: the fuzzer never asks a real resolver.
      await parseTargets(text, {
        exclude,
        force,
        resolveTimeoutMs: 50,
        resolve: (name) =>
          name.length % 3 === 0
            ? Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }))
            : Promise.resolve(name.length % 3 === 1 ? ['127.0.0.1', '198.18.0.9'] : ['::1', 'garbage']),
      });
    },
    classified: () => false,
  }),
];
