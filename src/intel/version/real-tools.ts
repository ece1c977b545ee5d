import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Cmp } from './bytes';

/**
 * The real tools' answers for many version pairs at once, for the tests: one `sh` process runs
 * `dpkg --compare-versions` per pair, one python3 process asks rpm's own library. Pairs are
 * passed as lines on stdin (no shell string is built from them; versions hold no whitespace).
 */

export const PYTHON = '/usr/bin/python3';

/** Why the real tool cannot be used here, or null when it can. */
export function missingDpkg(): string | null {
  const r = spawnSync('dpkg', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'dpkg is not installed';
}

export function missingRpm(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  const r = spawnSync(PYTHON, ['-c', 'import rpm; rpm.labelCompare'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'python3-rpm is not installed (apt-get install python3-rpm)';
}

const DPKG_LOOP = `
while read -r a b; do
  if dpkg --compare-versions "$a" lt "$b"; then echo -1
  elif dpkg --compare-versions "$a" eq "$b"; then echo 0
  else echo 1; fi
done`;

// rpm.ver splits an EVR the way rpm does; labelCompare compares epoch, version, release by rpmvercmp.
const RPM_LOOP = `
import sys, rpm
out = []
for line in sys.stdin.buffer.read().decode("utf-8").splitlines():
    a, b = line.split()
    x, y = rpm.ver(a), rpm.ver(b)
    try:
        out.append(str(rpm.labelCompare((x.e, x.v, x.r), (y.e, y.v, y.r))))
    except ValueError:
        out.append("refused")  # an empty version part: rpm will not compare it
sys.stdout.write("\\n".join(out) + "\\n")
`;

/** The tool's answers, null where it refuses to compare the pair. */
function run(command: string, args: string[], pairs: [string, string][]): (Cmp | null)[] {
  for (const [a, b] of pairs) {
    if (/\s/.test(a) || /\s/.test(b) || a === '' || b === '') {
      throw new Error(`a test version is empty or holds whitespace: ${JSON.stringify([a, b])}`);
    }
  }
  const r = spawnSync(command, args, {
    input: pairs.map(([a, b]) => `${a} ${b}\n`).join(''),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  // dpkg warns on stderr about versions with bad syntax: the generator must not make them.
  if (r.stderr.trim() !== '') throw new Error(`${command} complained: ${r.stderr.slice(0, 2000)}`);
  const answers = r.stdout.split('\n').filter((l) => l !== '');
  if (answers.length !== pairs.length) {
    throw new Error(`${command} answered ${answers.length} of ${pairs.length} pairs`);
  }
  return answers.map((l) => {
    if (l === 'refused') return null;
    const n = Number(l);
    if (n !== -1 && n !== 0 && n !== 1) throw new Error(`${command} answered ${l}`);
    return n as Cmp;
  });
}

export function dpkgCompareAll(pairs: [string, string][]): (Cmp | null)[] {
  return run('sh', ['-c', DPKG_LOOP], pairs);
}

export function rpmCompareAll(pairs: [string, string][]): (Cmp | null)[] {
  return run(PYTHON, ['-c', RPM_LOOP], pairs);
}
