/**
 * Discovery benchmark on the lab: Patchdeck's sweep vs `nmap -sT -Pn -T4` on the same ports,
 * and vs `nmap -sn`, several rounds in one run. Prints medians, ratios, and whether both found
 * the same hosts and open ports. Needs root (the lab) and nmap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labUp } from '../test/lab';
import { parseTargets, sweep } from '../src/discovery';
import { DEFAULT_SETTINGS } from '../src/api/schemas';
import { assertLabRoute } from '../test/integration/support';
import { bundledCli, formatMs, intOption, median, ratio, timeCommand } from './support';

function parseNmapXml(xml: string): Map<string, number[]> {
  const hosts = new Map<string, number[]>();
  for (const block of xml.split('<host ').slice(1)) {
    const address = /<address addr="([^"]+)" addrtype="ipv4"/.exec(block)?.[1];
    if (!address) continue;
    const ports = [...block.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="(\w+)"/g)];
    const open = ports.filter((m) => m[2] === 'open').map((m) => Number(m[1]));
    const answered = ports.some((m) => m[2] === 'open' || m[2] === 'closed');
    // With -Pn every address is "up"; a host is live when a port answered (open or RST).
    if (answered || /<status state="up" reason="(?!user-set)/.test(block))
      hosts.set(
        address,
        open.sort((a, b) => a - b),
      );
  }
  return hosts;
}

const same = (a: Map<string, number[]>, b: Map<string, number[]>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => JSON.stringify(b.get(k)) === JSON.stringify(v));

export async function main(args: string[]): Promise<void> {
  const rounds = intOption(args, 'rounds', 5);
  const hostCount = intOption(args, 'hosts', 20);
  const lab = await labUp({ hosts: hostCount, profile: 'clean' });
  const ports = DEFAULT_SETTINGS.discoveryPorts;
  const targets = lab.network;
  const exclude = lab.gateway; // this machine's own bridge address, not a lab host
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-disc-'));
  const cli = bundledCli();
  const rows: Record<string, { wall: number[]; cpu: number[] }> = {
    sweep: { wall: [], cpu: [] },
    cli: { wall: [], cpu: [] },
    nmapT: { wall: [], cpu: [] },
    nmapSn: { wall: [], cpu: [] },
  };
  let identical = true;
  let sweepHosts = new Map<string, number[]>();
  let nmapHosts = new Map<string, number[]>();
  const parsed = await parseTargets(targets, { exclude });
  for (let round = 0; round < rounds; round++) {
    assertLabRoute(lab);
    // In-process sweep (the library the app uses), same options as nmap: no reverse DNS.
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const summary = await sweep(parsed.addresses, { ports, reverseDns: false, netbios: false });
    rows.sweep!.wall.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    rows.sweep!.cpu.push((cpu.user + cpu.system) / 1000);
    sweepHosts = new Map(summary.hosts.map((h) => [h.address, [...h.openPorts].sort((a, b) => a - b)]));

    // The whole CLI process: start-up, workspace, sweep, recording in SQLite, output.
    const ws = path.join(workdir, `ws-${round}.sqlite`);
    const cliRun = await timeCommand(process.execPath, [
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
    rows.cli!.wall.push(cliRun.wallMs);
    rows.cli!.cpu.push(cliRun.cpuMs);
    const cliHosts = new Map(
      (JSON.parse(cliRun.stdout) as { hosts: { address: string; openPorts: number[] }[] }).hosts.map((h) => [
        h.address,
        [...h.openPorts].sort((a, b) => a - b),
      ]),
    );

    const nmap = await timeCommand('nmap', [
      '-sT',
      '-Pn',
      '-n',
      '-T4',
      '-p',
      ports.join(','),
      '--exclude',
      exclude,
      '-oX',
      '-',
      targets,
    ]);
    rows.nmapT!.wall.push(nmap.wallMs);
    rows.nmapT!.cpu.push(nmap.cpuMs);
    nmapHosts = parseNmapXml(nmap.stdout);

    const sn = await timeCommand('nmap', ['-sn', '-n', '-T4', '--exclude', exclude, '-oX', '-', targets]);
    rows.nmapSn!.wall.push(sn.wallMs);
    rows.nmapSn!.cpu.push(sn.cpuMs);
    const snHosts = [...sn.stdout.matchAll(/<address addr="([^"]+)" addrtype="ipv4"/g)].map((m) => m[1]);

    // Checked again after the round: had the lab vanished mid-round, these figures would be void.
    assertLabRoute(lab);
    identical &&= same(sweepHosts, nmapHosts) && same(cliHosts, nmapHosts);
    if (snHosts.length !== nmapHosts.size)
      console.log(`round ${round}: nmap -sn saw ${snHosts.length} hosts, -sT saw ${nmapHosts.size}`);
  }
  fs.rmSync(workdir, { recursive: true, force: true });
  const m = (k: string, f: 'wall' | 'cpu') => median(rows[k]![f]);
  console.log(
    `\nDiscovery benchmark: ${targets} minus ${exclude} (${parsed.addresses.length} addresses, ${lab.hosts.length} lab hosts), ports ${ports.join(',')}, ${rounds} rounds, medians`,
  );
  console.log(
    `  nmap -sT -Pn -n -T4            wall ${formatMs(m('nmapT', 'wall'))}  cpu ${formatMs(m('nmapT', 'cpu'))}`,
  );
  console.log(
    `  nmap -sn -n -T4                wall ${formatMs(m('nmapSn', 'wall'))}  cpu ${formatMs(m('nmapSn', 'cpu'))}`,
  );
  console.log(
    `  Patchdeck sweep (in-process)   wall ${formatMs(m('sweep', 'wall'))}  cpu ${formatMs(m('sweep', 'cpu'))}`,
  );
  console.log(
    `  Patchdeck CLI (whole process)  wall ${formatMs(m('cli', 'wall'))}  cpu ${formatMs(m('cli', 'cpu'))}`,
  );
  console.log(
    `  ratio sweep/nmap -sT  wall ${ratio(m('sweep', 'wall'), m('nmapT', 'wall'))}   (goal ≤ 0.50)`,
  );
  console.log(`  ratio CLI/nmap -sT    wall ${ratio(m('cli', 'wall'), m('nmapT', 'wall'))}`);
  console.log(`  ratio sweep/nmap -sn  wall ${ratio(m('sweep', 'wall'), m('nmapSn', 'wall'))}`);
  console.log(
    `  same hosts and open ports as nmap -sT in every round: ${identical ? 'yes' : 'NO'} (${nmapHosts.size} hosts)`,
  );
  if (!identical) {
    console.log('  nmap:', JSON.stringify([...nmapHosts].slice(0, 30)));
    console.log('  sweep:', JSON.stringify([...sweepHosts].slice(0, 30)));
    process.exitCode = 1;
  }
}
