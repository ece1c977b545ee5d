/**
 * Records a real collector run on a lab host into a replayable JSON fixture, like capture.ts
 * does on this machine: the collector's framed script goes to the host's `sh` (through `sudo -n`
 * when the collector asks for root) over the system's ssh client.
 *   npx tsx src/collectors/testing/capture-ssh.ts <collector> <out.json> "<provenance>" <user@address> [refresh]
 * The lab's key and known_hosts are used (test/lab/README.md); run it inside the lab's flock.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { collectorFor } from '../pick';
import type { RecordedRun } from './exec';
import type { PackageManager, RemoteExec } from '../types';

const [pm, out, provenance, target, ...rest] = process.argv.slice(2);
if (!pm || !out || !provenance || !target || !/^[a-z]+@[0-9.]+$/.test(target))
  throw new Error('usage: capture-ssh.ts <pm> <out.json> <provenance> <user@address> [refresh]');
const SSH_OPTIONS = [
  '-i',
  '/var/cache/patchdeck-lab/ssh/id_ed25519',
  '-o',
  'UserKnownHostsFile=/run/patchdeck-lab/known_hosts',
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'BatchMode=yes',
];

const runs: RecordedRun[] = [];
const exec: RemoteExec = {
  run(command, options = {}) {
    return new Promise((resolve, reject) => {
      const remote = options.sudo ? 'sudo -n sh' : 'sh';
      const child = spawn('ssh', [...SSH_OPTIONS, target, remote], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        runs.push({ command, sudo: options.sudo ?? false, stdout, stderr, code });
        resolve({ stdout, stderr, code });
      });
      child.stdin.end(command);
    });
  },
};
const result = await collectorFor(pm as PackageManager)
  .collect(exec, { refresh: rest.includes('refresh') })
  .catch((error: unknown) => ({ error: String(error) }));
writeFileSync(out, `${JSON.stringify({ provenance, runs }, null, 1)}\n`);
if ('updates' in result) {
  for (const u of result.updates) console.log(JSON.stringify(u));
  console.log(
    JSON.stringify({ ...result, updates: result.updates.length, installed: result.installed?.length }),
  );
} else console.log(result);
