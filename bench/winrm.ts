/**
 * `npm run bench -- winrm [--commands=100] [--rounds=3] [--hosts=20]`
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
 *    wall time against auditing one of them alone, with Patchdeck's CPU per host.
 *    Goal: ≤ 1.5× the time of one.
 *
 * The endpoints (Python) and the PC processes run on the same two cores as the client; their CPU
 * is not counted as the client's, but they compete with it for the machine, equally for both
 * clients in part 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WinrmSession } from '../src/remote';
import {
  startWinrmEndpoint,
  SYSTEM_PYTHON,
  testbedPythonEnv,
  writeNtlmUserFile,
  type WinrmEndpoint,
} from '../test/winrm/endpoint';
import { formatMs, intOption, median, ratio } from './support';

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

async function clientVsPywinrm(count: number, rounds: number): Promise<void> {
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
  } finally {
    await endpoint.stop();
    pc.child.kill();
    fs.rmSync(path.dirname(userFile), { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const count = intOption(args, 'commands', 100);
  const rounds = intOption(args, 'rounds', 3);
  console.log(`WinRM benchmark on ${os.cpus().length} cores, Node ${process.version}`);
  await clientVsPywinrm(count, rounds);
}
