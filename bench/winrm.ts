/**
 * `npm run bench -- winrm [--commands=100] [--rounds=3] [--hosts=20] [--search-ms=2000]`
 *
 * On the WinRM test bed (test/winrm/: a real gss-ntlmssp acceptor and real NTLM sealing; the PC's
 * side is bench/winrm/pc.ts behind the endpoint, in Windows' recorded reply shapes):
 *
 * 1. Patchdeck's WinRM client against python3-winrm, the client an Ansible user has
 *    (`ansible.windows` runs on it), each running the same `--commands` commands in one cmd shell,
 *    sealed over NTLM (python3-winrm with message_encryption='always'). Each side measures itself
 *    from its first request to the shell's deletion: wall time and its own process's CPU time;
 *    interpreter start-up and imports are counted on neither side. Rounds alternate the two.
 *    Goal: Patchdeck ≤ 0.5× python3-winrm's wall time.
 * 2. An audit of `--hosts` Windows PCs at once, each its own sealed endpoint on its own loopback
 *    address (127.0.0.11, .12, …), through Patchdeck's audit (the same code path as the window):
 *    wall time against auditing one of them alone, with Patchdeck's CPU per host. Twice: PCs that
 *    answer at once (Patchdeck's and the test bed's own work, CPU-bound on two cores), and PCs
 *    whose Windows Update search takes `--search-ms` (a MODELLED time; a real search takes
 *    seconds to minutes). Goal: ≤ 1.5× the time of one.
 *
 * The endpoints (Python) and the PC processes run on the same two cores as the client; their CPU
 * is not counted as the client's, but they compete with it for the machine, equally for both
 * clients in part 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '../src/api';
import { auditHost, auditHosts, type HostAuditOutcome } from '../src/audit';
import { addCredential, type CredentialSummary } from '../src/credentials';
import { createMemoryWorkspace, insertHost, listHostKeySightings, trustHostKey } from '../src/db';
import { WinrmSession } from '../src/remote';
import { createNodeSecretBox } from '../src/secrets';
import { withSambaLock } from '../test/winrm/samba-dc';
import {
  startWinrmEndpoint,
  SYSTEM_PYTHON,
  testbedPythonEnv,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../test/winrm/endpoint';
import { formatMs, intOption, median, ratio } from './support';
import type { BenchRow } from './table';

const USER = { domain: 'PATCHDECK', username: 'alice', password: 'Bench-Pa55word!' };

/** Starts the benchmark's PC (bench/winrm/pc.ts) as a process of its own; resolves with its URL. */
export async function startBenchPc(
  env: NodeJS.ProcessEnv = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'winrm/pc.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      out += s;
      const m = /^(\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the bench PC exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/`, child };
}

async function patchdeckRun(
  endpoint: WinrmEndpoint,
  count: number,
): Promise<{ wallMs: number; cpuMs: number; outputs: number }> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const session = await WinrmSession.connect({
    host: '127.0.0.1',
    port: endpoint.port,
    https: false,
    label: 'bench-pc',
    login: { method: 'ntlm', ...USER },
    // The bench reads the PC's announced NTLM names on the first run and pins them.
    pinnedNtlmIdentities: pinnedIdentity ? [pinnedIdentity] : undefined,
    connectTimeoutMs: 20_000,
    maxOutputBytes: 16 * 1024 * 1024,
  }).catch((error: unknown) => {
    const presented = (error as { details?: { presented?: { fingerprint?: string } } }).details?.presented;
    if (!pinnedIdentity && presented?.fingerprint) {
      pinnedIdentity = presented.fingerprint;
      return null;
    }
    throw error;
  });
  if (!session) return patchdeckRun(endpoint, count);
  let outputs = 0;
  for (let i = 0; i < count; i++) {
    const r = await session.run(`echo bench-${i}`);
    if (r.code === 0 && r.stdout.trim() === `bench-${i}`) outputs++;
  }
  await session.close();
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - wall0, cpuMs: (cpu.user + cpu.system) / 1000, outputs };
}
let pinnedIdentity: string | null = null;

function pywinrmRun(
  endpoint: WinrmEndpoint,
  count: number,
): Promise<{ wallMs: number; cpuMs: number; outputs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      SYSTEM_PYTHON,
      [
        path.join(import.meta.dirname, 'winrm/pywinrm-run.py'),
        JSON.stringify({
          url: `http://127.0.0.1:${endpoint.port}/wsman`,
          username: `${USER.domain}\\${USER.username}`,
          password: USER.password,
          count,
        }),
      ],
      { env: testbedPythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`python3-winrm failed (${code}): ${err.slice(-1000)}`);
        resolve(
          JSON.parse(out.trim().split('\n').pop()!) as { wallMs: number; cpuMs: number; outputs: number },
        );
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

async function clientVsPywinrm(count: number, rounds: number): Promise<BenchRow[]> {
  const userFile = writeNtlmUserFile([USER]);
  const pc = await startBenchPc();
  const endpoint = await startWinrmEndpoint({ mode: { backend: pc.url }, acceptor: { userFile } });
  try {
    // One unmeasured run each: the endpoint's and the PC's first connections, Python's caches.
    await patchdeckRun(endpoint, 3);
    await pywinrmRun(endpoint, 3);
    const ours: Array<{ wallMs: number; cpuMs: number }> = [];
    const theirs: Array<{ wallMs: number; cpuMs: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const a = await patchdeckRun(endpoint, count);
      const b = await pywinrmRun(endpoint, count);
      if (a.outputs !== count || b.outputs !== count)
        throw new Error(
          `wrong outputs: Patchdeck ${a.outputs}/${count}, python3-winrm ${b.outputs}/${count}`,
        );
      ours.push(a);
      theirs.push(b);
    }
    const requests = await endpoint.requests();
    if (requests.some((q) => !q.encrypted && !q.refused && q.action !== ''))
      throw new Error('the endpoint accepted a plaintext body');
    const w = median(ours.map((x) => x.wallMs));
    const c = median(ours.map((x) => x.cpuMs));
    const pw = median(theirs.map((x) => x.wallMs));
    const pc2 = median(theirs.map((x) => x.cpuMs));
    console.log(`\n${count} commands in one sealed NTLM cmd shell, median of ${rounds} rounds`);
    console.log(`  python3-winrm (baseline)  wall ${formatMs(pw)}  CPU ${formatMs(pc2)}`);
    console.log(`  Patchdeck                 wall ${formatMs(w)}  CPU ${formatMs(c)}`);
    console.log(
      `  ratio (Patchdeck / python3-winrm): wall ${ratio(w, pw)}, CPU ${ratio(c, pc2)}  (goal: wall ≤ 0.50×)`,
    );
    return [
      {
        benchmark: `winrm: ${count} commands in one sealed NTLM cmd shell, wall`,
        baseline: `python3-winrm (message_encryption='always'): ${formatMs(pw)}`,
        patchdeck: formatMs(w),
        ratio: w / pw,
        goal: { of: 'ratio', max: 0.5 },
        note: `median of ${rounds} rounds, alternating; each side times itself from its first request to the shell's deletion`,
      },
      {
        benchmark: `winrm: ${count} commands in one sealed NTLM cmd shell, client CPU`,
        baseline: `python3-winrm: ${formatMs(pc2)}`,
        patchdeck: formatMs(c),
        ratio: c / pc2,
        goal: null,
      },
    ];
  } finally {
    await endpoint.stop();
    pc.child.kill();
    fs.rmSync(path.dirname(userFile), { recursive: true, force: true });
  }
}

const WUA_SAMPLE = path.resolve(import.meta.dirname, '../test/fixtures/windows/constructed-wua-v2.stdout');

async function auditAtOnce(hostCount: number, rounds: number, searchMs: number): Promise<BenchRow> {
  const userFile = writeNtlmUserFile([USER]);
  const pc = await startBenchPc({
    PATCHDECK_BENCH_WUA: WUA_SAMPLE,
    PATCHDECK_BENCH_SEARCH_MS: String(searchMs),
  });
  const endpoints: WinrmEndpoint[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-winrm-'));
  const db = createMemoryWorkspace();
  try {
    // Each PC on WinRM's own port of its own loopback address, as a scan finds PCs.
    for (let i = 0; i < hostCount; i++) {
      endpoints.push(
        await startWinrmEndpoint({
          mode: { backend: pc.url },
          acceptor: { userFile },
          address: `127.0.77.${11 + i}`,
          port: 5985,
        }),
      );
    }
    const secrets = createNodeSecretBox({
      configDir: dir,
      passphrase: 'bench-passphrase',
      useKeychain: false,
    });
    const credential: CredentialSummary = await addCredential(db, secrets, {
      name: 'office',
      kind: 'windows',
      username: `${USER.domain}\\${USER.username}`,
      secret: USER.password,
      scope: ['*'],
    });
    const hosts: Host[] = endpoints.map((_, i) =>
      insertHost(db, {
        name: `PC-${String(i + 1).padStart(2, '0')}`,
        address: `127.0.77.${11 + i}`,
        management: ['winrm'],
      }),
    );
    const deps = { db, secrets, actor: 'bench' };
    const options = { credential, refresh: false, timeoutMs: 120_000 };
    // The admin's first contact: each PC presents its NTLM identity, which is reviewed and pinned.
    for (const o of await auditHosts(deps, hosts, { ...options, concurrency: hostCount })) {
      if (o.errorKind !== 'host-key-unknown')
        throw new Error(`${o.hostName}: expected an untrusted PC first, got ${o.status} ${o.error ?? ''}`);
    }
    for (const host of hosts) {
      const sighting = listHostKeySightings(db, host.id).find((s) => s.type === 'ntlm-identity');
      if (!sighting) throw new Error(`${host.name} presented no NTLM identity`);
      trustHostKey(db, {
        hostId: host.id,
        type: 'ntlm-identity',
        fingerprint: sighting.fingerprint,
        publicKey: null,
        actor: 'bench',
        reviewed: true,
      });
    }
    const check = (outcomes: HostAuditOutcome[]): void => {
      for (const o of outcomes)
        if (o.status !== 'succeeded' || o.updates === 0)
          throw new Error(`${o.hostName}: ${o.status} ${o.error ?? ''}`);
    };
    check([await auditHost(deps, hosts[0]!, options)]);
    const one: number[] = [];
    const all: number[] = [];
    const cpuAll: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      check([await auditHost(deps, hosts[0]!, options)]);
      one.push(performance.now() - t);
      const cpu0 = process.cpuUsage();
      t = performance.now();
      check(await auditHosts(deps, hosts, { ...options, concurrency: hostCount }));
      all.push(performance.now() - t);
      const cpu = process.cpuUsage(cpu0);
      cpuAll.push((cpu.user + cpu.system) / 1000);
    }
    const w1 = median(one);
    const wn = median(all);
    console.log(
      `\nAudit of ${hostCount} Windows PCs at once (sealed NTLM, one endpoint each), median of ${rounds} rounds, each PC's Windows Update search taking ${searchMs} ms`,
    );
    console.log(`  one PC alone (baseline)   wall ${formatMs(w1)}`);
    console.log(
      `  ${hostCount} PCs at once          wall ${formatMs(wn)}  Patchdeck CPU ${formatMs(median(cpuAll) / hostCount)} per PC`,
    );
    console.log(`  ratio (${hostCount} at once / one alone): wall ${ratio(wn, w1)}  (goal: ≤ 1.50×)`);
    return {
      benchmark: `winrm: audit of ${hostCount} PCs at once, ${searchMs ? `each search ${formatMs(searchMs)} (modelled)` : 'PCs answering at once'}`,
      baseline: `one PC alone: ${formatMs(w1)}`,
      patchdeck: `${formatMs(wn)}, ${formatMs(median(cpuAll) / hostCount)} CPU per PC`,
      ratio: wn / w1,
      goal: { of: 'ratio', max: 1.5 },
      note: `median of ${rounds} rounds; the ${hostCount} Python endpoints share the cores with Patchdeck`,
    };
  } finally {
    db.close();
    for (const e of endpoints) await e.stop();
    pc.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(path.dirname(userFile), { recursive: true, force: true });
  }
}

/** `npm run bench` (no argument): the README's sizes. */
export const modest: string[][] = [['--commands=100', '--rounds=3', '--hosts=20', '--search-ms=2000']];

export async function main(args: string[]): Promise<BenchRow[]> {
  const count = intOption(args, 'commands', 100);
  const rounds = intOption(args, 'rounds', 3);
  const hostCount = intOption(args, 'hosts', 20);
  const searchMs = intOption(args, 'search-ms', 2000);
  console.log(`WinRM benchmark on ${os.cpus().length} cores, Node ${process.version}`);
  // A Samba DC of a test run would answer for the standalone acceptor (winbind): run alone.
  return withSambaLock(async () => {
    const rows = await clientVsPywinrm(count, rounds);
    // First with PCs that answer at once: what is left is Patchdeck's own work and the test bed's
    // (20 Python endpoints on the same two cores). Then with a search time on each PC, as on a
    // real office, where the search takes seconds to minutes.
    rows.push(await auditAtOnce(hostCount, rounds, 0));
    rows.push(await auditAtOnce(hostCount, rounds, searchMs));
    return rows;
  });
}
