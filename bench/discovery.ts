/**
 * Discovery benchmark on the lab's /24: the whole `patchdeck discover` process against nmap as an
 * admin runs it as root on a local segment (`-n -sT -T4`, nmap's default host discovery, which is
 * ARP here), and the same with `-sV --version-light`, because Patchdeck also reads banners and
 * guesses the OS. Every fourth lab host also listens on Windows-like ports (135, 139, 445, 3389,
 * WinRM 5985; test/lab/services.ts), so banners matter. `-sT -Pn` and `-sn` are extra rows. Same
 * targets, exclusions and ports (DEFAULT_SETTINGS.discoveryPorts) for everyone; the order of the
 * contenders alternates per round; every round checks that all of them found the same hosts and
 * open ports, and a mismatch fails the benchmark. Needs root (the lab, nmap's ARP) and nmap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { holdLab, labUp, windowsLikePorts } from '../test/lab';
import { parseTargets, sweep } from '../src/discovery';
import { DEFAULT_SETTINGS } from '../src/api/schemas';
import { assertLabRoute } from '../test/integration/support';
import { bundledCli, formatMs, intOption, median, timeCommand } from './support';
import type { BenchRow } from './table';

/** What `npm run bench` runs: the issue's 20-host lab, and the /24 with 200 live hosts. */
export const modest: string[][] = [
  ['--hosts=20', '--rounds=3'],
  ['--hosts=200', '--rounds=3'],
];

type Found = Map<string, number[]>;

/** Hosts nmap reported up, with their open TCP ports; with -Pn, a host is up when a port answered. */
export function parseNmapXml(xml: string): Found {
  const hosts: Found = new Map();
  for (const block of xml.split(/<host[ >]/).slice(1)) {
    const address = /<address addr="([^"]+)" addrtype="ipv4"/.exec(block)?.[1];
    if (!address) continue;
    const ports = [...block.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="(\w+)"/g)];
    const open = ports.filter((m) => m[2] === 'open').map((m) => Number(m[1]));
    const answered = ports.some((m) => m[2] === 'open' || m[2] === 'closed');
    if (answered || /<status state="up" reason="(?!user-set)/.test(block))
      hosts.set(
        address,
        open.sort((a, b) => a - b),
      );
  }
  return hosts;
}

function difference(name: string, a: Found, reference: Found): string | null {
  const problems: string[] = [];
  for (const [address, ports] of reference) {
    const mine = a.get(address);
    if (!mine) problems.push(`${address} missing`);
    else if (mine.join(',') !== ports.join(',')) problems.push(`${address} ports ${mine} ≠ ${ports}`);
  }
  for (const address of a.keys()) if (!reference.has(address)) problems.push(`${address} extra`);
  return problems.length ? `${name}: ${problems.slice(0, 8).join('; ')}` : null;
}

interface Contender {
  key: string;
  label: string;
  run: (round: number) => Promise<{ wallMs: number; cpuMs: number; found: Found; detail?: string }>;
}

export async function main(args: string[]): Promise<BenchRow[]> {
  const rounds = intOption(args, 'rounds', 3);
  const hostCount = intOption(args, 'hosts', 20);
  const windowsEvery = intOption(args, 'windows-every', 4);
  return holdLab(async () => {
    const lab = await labUp({ hosts: hostCount, profile: 'clean' });
    const windows = await windowsLikePorts(
      lab.hosts.filter((_, i) => i % windowsEvery === windowsEvery - 1).map((h) => h.name),
    );
    const ports = DEFAULT_SETTINGS.discoveryPorts;
    const targets = lab.network;
    const exclude = lab.gateway; // this machine's own bridge address, not a lab host
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-disc-'));
    const cli = bundledCli();
    const parsed = await parseTargets(targets, { exclude });
    const nmapBase = ['-n', '-T4', '--exclude', exclude, '-oX', '-'];
    const nmap = async (extra: string[]) => {
      const r = await timeCommand('nmap', [...extra, ...nmapBase, targets]);
      if (r.code !== 0) throw new Error(`nmap ${extra.join(' ')} exited ${r.code}: ${r.stderr.slice(-300)}`);
      return { wallMs: r.wallMs, cpuMs: r.cpuMs, found: parseNmapXml(r.stdout) };
    };
    let windowsGuessed = 0;
    const contenders: Contender[] = [
      {
        key: 'cli',
        label: 'patchdeck discover (whole CLI process)',
        run: async (round) => {
          const ws = path.join(workdir, `ws-${round}.sqlite`);
          const r = await timeCommand(process.execPath, [
            cli,
            '-w',
            ws,
            '--json',
            'discover',
            targets,
            '--exclude',
            exclude,
            '--no-rdns',
          ]);
          if (r.code !== 0) throw new Error(`patchdeck discover exited ${r.code}: ${r.stderr.slice(-300)}`);
          const out = JSON.parse(r.stdout) as {
            hosts: { address: string; openPorts: number[]; os?: { family: string | null } }[];
          };
          windowsGuessed = out.hosts.filter((h) => h.os?.family === 'windows').length;
          return {
            wallMs: r.wallMs,
            cpuMs: r.cpuMs,
            found: new Map(out.hosts.map((h) => [h.address, [...h.openPorts].sort((a, b) => a - b)])),
          };
        },
      },
      {
        key: 'sweep',
        label: 'Patchdeck sweep (in-process library)',
        run: async () => {
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          const summary = await sweep(parsed.addresses, { ports, reverseDns: false, netbios: false });
          const wallMs = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          const arp = summary.stats.arp;
          return {
            wallMs,
            cpuMs: (cpu.user + cpu.system) / 1000,
            found: new Map(summary.hosts.map((h) => [h.address, [...h.openPorts].sort((a, b) => a - b)])),
            detail: arp
              ? `ARP first: ${arp.answered}/${arp.asked} answered, ${arp.skipped} not port-scanned, window ${arp.windowMs} ms, slowest answer ${arp.slowestMs} ms; ${summary.stats.connects} connects`
              : `no ARP first; ${summary.stats.connects} connects`,
          };
        },
      },
      {
        key: 'nmapDefault',
        label: 'nmap -n -sT -T4 (root, ARP host discovery)',
        run: () => nmap(['-sT', '-p', ports.join(',')]),
      },
      {
        key: 'nmapSv',
        label: 'nmap -n -sT -T4 -sV --version-light',
        run: () => nmap(['-sT', '-sV', '--version-light', '-p', ports.join(',')]),
      },
      {
        key: 'nmapPn',
        label: 'nmap -n -sT -Pn -T4 (no host discovery)',
        run: () => nmap(['-sT', '-Pn', '-p', ports.join(',')]),
      },
      { key: 'nmapSn', label: 'nmap -n -sn -T4 (host discovery only)', run: () => nmap(['-sn']) },
    ];
    const times = new Map(contenders.map((c) => [c.key, { wall: [] as number[], cpu: [] as number[] }]));
    let details: string[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        assertLabRoute(lab);
        const order = round % 2 === 0 ? contenders : [...contenders].reverse();
        const found = new Map<string, Found>();
        details = [];
        for (const c of order) {
          const r = await c.run(round);
          times.get(c.key)!.wall.push(r.wallMs);
          times.get(c.key)!.cpu.push(r.cpuMs);
          found.set(c.key, r.found);
          if (r.detail) details.push(r.detail);
        }
        console.log(
          `round ${round + 1}/${rounds}: ${contenders.map((c) => `${c.key} ${formatMs(times.get(c.key)!.wall.at(-1)!)}`).join(', ')}`,
        );
        // Checked again after the round: had the lab vanished mid-round, these figures would be void.
        assertLabRoute(lab);
        const reference = found.get('nmapDefault')!;
        const problems = ['cli', 'sweep', 'nmapSv', 'nmapPn']
          .map((k) => difference(k, found.get(k)!, reference))
          .filter((p): p is string => p !== null);
        const sn = found.get('nmapSn')!;
        if (sn.size !== reference.size || [...reference.keys()].some((a) => !sn.has(a)))
          problems.push(`nmapSn: ${sn.size} hosts, nmap -sT ${reference.size}`);
        if (reference.size !== lab.hosts.length)
          problems.push(`nmap found ${reference.size} hosts, the lab has ${lab.hosts.length}`);
        if (problems.length)
          throw new Error(
            `discovery round ${round}: not the same hosts and open ports:\n  ${problems.join('\n  ')}`,
          );
      }
    } finally {
      fs.rmSync(workdir, { recursive: true, force: true });
    }
    const wall = (k: string) => median(times.get(k)!.wall);
    const cpu = (k: string) => median(times.get(k)!.cpu);
    const scope = `${hostCount} live in /24`;
    console.log(
      `\nDiscovery: ${targets} minus ${exclude} (${parsed.addresses.length} addresses, ${lab.hosts.length} live lab hosts, ` +
        `${windows.length} with Windows-like ports), ports ${ports.join(',')}, ${rounds} rounds, medians`,
    );
    for (const c of contenders)
      console.log(
        `  ${c.label.padEnd(46)} wall ${formatMs(wall(c.key)).padStart(8)}  cpu ${formatMs(cpu(c.key))}`,
      );
    for (const d of details) console.log(`  ${d}`);
    console.log(
      `  same hosts and open ports in every round: yes (${lab.hosts.length} hosts); Patchdeck guessed Windows for ${windowsGuessed} of ${windows.length} Windows-like hosts`,
    );
    const cliText = formatMs(wall('cli'));
    const row = (baselineKey: string, baseline: string, goal: BenchRow['goal'], note?: string): BenchRow => ({
      benchmark: `discovery ${scope}, CLI wall ÷ ${baseline}`,
      baseline: `${baseline}: ${formatMs(wall(baselineKey))}`,
      patchdeck: cliText,
      ratio: wall('cli') / wall(baselineKey),
      goal,
      note,
    });
    const note = `${rounds} rounds, medians, ${parsed.addresses.length} addresses, ${windows.length} hosts with Windows-like ports, ports ${ports.join(',')}`;
    return [
      row('nmapDefault', 'nmap -n -sT -T4', { of: 'ratio', max: 0.7 }, note),
      row('nmapSv', 'nmap -sT -sV --version-light', { of: 'ratio', max: 0.5 }),
      row('nmapPn', 'nmap -sT -Pn', null),
      row('nmapSn', 'nmap -sn', null),
      {
        benchmark: `discovery ${scope}, in-process sweep ÷ nmap -n -sT -T4`,
        baseline: `nmap -n -sT -T4: ${formatMs(wall('nmapDefault'))}`,
        patchdeck: formatMs(wall('sweep')),
        ratio: wall('sweep') / wall('nmapDefault'),
        goal: null,
        note: details.join('; '),
      },
    ];
  });
}
