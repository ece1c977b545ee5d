/**
 * Records a real collector run on this machine into a replayable JSON fixture:
 *   npx tsx src/collectors/testing/capture.ts <collector> <out.json> "<provenance>" [refresh] [KEY=VALUE…]
 * KEY=VALUE pairs go into the environment (APT_CONFIG, ZYPP_CONF, …) to point tools at a throwaway root.
 */
import { writeFileSync } from 'node:fs';
import { collectorFor } from '../pick';
import { localShellExec, type RecordedRun } from './exec';
import type { PackageManager } from '../types';

const [pm, out, provenance, ...rest] = process.argv.slice(2);
if (!pm || !out || !provenance)
  throw new Error('usage: capture.ts <pm> <out.json> <provenance> [refresh] [K=V…]');
const refresh = rest.includes('refresh');
const env = Object.fromEntries(
  rest.filter((a) => a.includes('=')).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
);
const runs: RecordedRun[] = [];
const result = await collectorFor(pm as PackageManager)
  .collect(localShellExec(env, runs), { refresh })
  .catch((error: unknown) => ({ error: String(error) }));
writeFileSync(out, `${JSON.stringify({ provenance, runs }, null, 1)}\n`);
if ('updates' in result) {
  for (const u of result.updates) console.log(JSON.stringify(u));
  console.log(JSON.stringify({ ...result, updates: result.updates.length }, null, 1));
} else console.log(result);
