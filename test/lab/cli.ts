// `npm run lab -- up|status|down|<fault> …`: a thin wrapper over test/lab/index.ts.
import {
  cutHost,
  fillDisk,
  isRoot,
  labDown,
  labStatus,
  labUp,
  LAB_PROFILES,
  lockDpkg,
  rekeyHost,
  resetHost,
  sshCommand,
  startHost,
  stopHost,
  uncutHost,
  unfillDisk,
  unlockDpkg,
  type LabInventory,
  type LabProfile,
} from './index';
import { writeLabAdvisories } from './advisories';

const USAGE = `usage: npm run lab -- <command>
  up [--hosts N] [--profile ${LAB_PROFILES.join('|')}]   start the lab (default 3 hosts, mixed)
  status [--json]                                  hosts and their state; --json prints the ground truth
  down                                             remove everything the lab created
  stop-host H | start-host H                       power a host off / on (on = reboot)
  cut H | uncut H                                  take a host's link down / up
  lock-dpkg H | unlock-dpkg H                      hold / release dpkg's locks inside an apt host
  fill-disk H | unfill-disk H                      fill / free a host's disk
  rekey H                                          give a host new SSH host keys
  reset-host H                                     recreate a host fresh from its profile
  advisories DIR                                   write the Debian lab packages' advisories (OSV + tracker JSON) into DIR
H is a host name (lab01) or address (198.18.0.11).`;

function printSummary(inv: LabInventory): void {
  if (inv.hosts.length === 0) {
    console.log('the lab is down');
    return;
  }
  for (const h of inv.hosts) {
    const sec = h.pending.filter((p) => p.security).length;
    console.log(
      `${h.name.padEnd(6)} ${h.address.padEnd(13)} ${h.state.padEnd(8)} ${h.packageManager}${h.emulated ? '*' : ' '} ${h.profile.padEnd(12)} ${h.pending.length} pending (${sec} security)${h.rebootRequired ? ', reboot required' : ''}`,
    );
  }
  if (inv.hosts.some((h) => h.emulated))
    console.log('* emulated: an EL-like (dnf) or SUSE-like (zypper) host over a Debian userland');
}

function printHowTo(inv: LabInventory): void {
  const first = inv.hosts[0];
  if (!first) return;
  console.log(`
Network ${inv.network} on bridge ${inv.bridge} (${inv.gateway}). SSH into any host:
  ${sshCommand(first.address)}
  ${sshCommand(first.address, 'operator')}    # password: ${first.users.find((u) => u.name === 'operator')?.password}
Ground truth: npm run lab -- status --json.  Point Patchdeck at ${inv.network}.  Tear down: npm run lab -- down`);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'advisories') {
    // Files only, no namespaces: needs no root.
    const dir = rest[0];
    if (!dir) throw new Error('advisories needs a folder to write into');
    const files = await writeLabAdvisories(dir);
    for (const f of [...files.osv, files.tracker]) console.log(f);
    return 0;
  }
  if (!isRoot()) {
    console.error(
      `lab: needs root (network namespaces, a bridge, mounts); run: sudo npm run lab -- ${argv.join(' ')}`,
    );
    return 1;
  }
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const host = () => {
    const h = rest[0];
    if (!h) throw new Error(`${cmd} needs a host name`);
    return h;
  };
  switch (cmd) {
    case 'up': {
      const hosts = Number(flag('--hosts') ?? 3);
      const profile = (flag('--profile') ?? 'mixed') as LabProfile;
      const inv = await labUp({ hosts, profile, log: (s) => console.log(s) });
      printSummary(inv);
      printHowTo(inv);
      return 0;
    }
    case 'status': {
      const inv = labStatus();
      if (rest.includes('--json')) console.log(JSON.stringify(inv, null, 2));
      else printSummary(inv);
      return 0;
    }
    case 'down': {
      const t = Date.now();
      await labDown((s) => console.log(s));
      console.log(`down in ${((Date.now() - t) / 1000).toFixed(1)} s; nothing of the lab is left`);
      return 0;
    }
    case 'stop-host':
      await stopHost(host());
      break;
    case 'start-host':
      await startHost(host());
      break;
    case 'cut':
      await cutHost(host());
      break;
    case 'uncut':
      await uncutHost(host());
      break;
    case 'lock-dpkg':
      await lockDpkg(host());
      break;
    case 'unlock-dpkg':
      await unlockDpkg(host());
      break;
    case 'fill-disk':
      await fillDisk(host());
      break;
    case 'unfill-disk':
      await unfillDisk(host());
      break;
    case 'rekey': {
      const keys = await rekeyHost(host());
      for (const k of keys) console.log(`${k.type} ${k.fingerprint}`);
      break;
    }
    case 'reset-host':
      await resetHost(host());
      break;
    default:
      console.error(`lab: unknown command ${cmd}\n${USAGE}`);
      return 2;
  }
  console.log(`${cmd} ${rest[0]}: done`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`lab: ${e.message}`);
    process.exit(1);
  },
);
