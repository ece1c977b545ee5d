/**
 * The playbook of an approved patch job: per host exactly the approved `package=version`s of its
 * step, with Patchdeck's own pre-checks (free disk, a pending reboot, held packages, a dry run
 * that may change only what was approved and must install every approved target), the job's
 * reboot policy, and the same verification (dpkg says each target is installed at its approved
 * version, else the host fails).
 *
 * Every task is `raw`: the hosts need no Python (the lab's have none, and many small-office
 * machines neither). Each host's shell scripts are built here from the patch capability's own
 * commands (installCommand, versionQueryCommand, REBOOT_COMMAND); package names and versions are
 * validated (assertSafeTargets) and quoted by src/remote's shellQuote, never pasted raw; the
 * scripts reach the playbook as `!unsafe` strings, so Ansible never evaluates Jinja inside them.
 *
 * apt only for now: dnf, zypper and the others are refused by the service with the reason.
 */
import { randomBytes } from 'node:crypto';
import type { PatchJob, TargetPackage } from '../api';
import {
  assertSafeTargets,
  installCommand,
  installEnv,
  isSafePackageName,
  isSafeVersion,
  packageSpec,
  REBOOT_COMMAND,
  rebootRequiredCommand,
  versionQueryCommand,
} from '../patch';
import { shellQuote } from '../remote';
import { yamlComment, yamlString, yamlUnsafe } from './yaml';

/** Task names start with this and the phase; the results import reads them back. */
export const TASK_PREFIX = 'patchdeck:';
export type TaskPhase =
  | 'precheck'
  | 'pre-reboot'
  | 'pre-reboot-wait'
  | 'precheck-again'
  | 'install'
  | 'reboot'
  | 'reboot-wait'
  | 'verify';

export interface PlaybookStep {
  stepId: number;
  hostId: number;
  hostName: string;
  inventoryName: string;
  targets: TargetPackage[];
  /** The approved dry run's changes as `name@to` (`name@-` a removal), as src/patch compares them. */
  allowed: string[];
  /** Packages whose versions are read before and after (targets and every approved change). */
  names: string[];
}

export interface PlaybookJob {
  job: Pick<
    PatchJob,
    'id' | 'name' | 'rebootPolicy' | 'onFailure' | 'concurrency' | 'options' | 'approvedBy' | 'approvedAt'
  >;
  digest: string | null;
  steps: PlaybookStep[];
  group: string;
  header: string[];
}

/** The file name of a job's playbook. */
export const playbookFileName = (jobId: number): string => `patch-job-${jobId}.yml`;

/** The play's name; the import finds the job by it. */
export const playName = (jobId: number): string => `Patchdeck job #${jobId}`;

const PREFIX_LINES = ['set -f', 'pd_fail() { echo "PATCHDECK-FAIL $1: $2"; exit 1; }'];

function specsOf(step: PlaybookStep): string[] {
  assertSafeTargets('apt', step.targets);
  return step.targets.map((t) => packageSpec('apt', t.name, t.to));
}

function versions(step: PlaybookStep, tag: string): string {
  const query = versionQueryCommand('apt', step.names);
  // dpkg's Status-Abbrev ends in a space: trimmed, so that a line reads `name version ii`.
  return `pd_${tag}=$( { ${query ?? 'true'}; } | sed 's/ *$//')\nprintf '%s\\n' "$pd_${tag}" | grep . | sed 's/^/PATCHDECK-${tag.toUpperCase()} /'`;
}

/** The pre-check script of one host (read-only). */
export function precheckScript(step: PlaybookStep, job: PlaybookJob['job']): string {
  const specs = specsOf(step);
  for (const key of step.allowed) {
    const [name, version] = [key.slice(0, key.lastIndexOf('@')), key.slice(key.lastIndexOf('@') + 1)];
    if (!isSafePackageName(name, 'apt') || (version !== '-' && !isSafeVersion(version)))
      throw new Error(`unsafe approved change ${JSON.stringify(key.slice(0, 80))}`);
  }
  const minKb = Math.max(0, Math.floor(job.options.minFreeMb)) * 1024;
  const names = step.targets.map((t) => shellQuote(t.name));
  return [
    ...PREFIX_LINES,
    "pd_free=$(df -Pk / /var /tmp 2>/dev/null | awk 'NR>1 {print $4}' | sort -n | head -n 1)",
    'echo "PATCHDECK-DISK ${pd_free:-unknown}"',
    `if [ -n "$pd_free" ] && [ "$pd_free" -lt ${minKb} ]; then pd_fail disk-full "Only $((pd_free / 1024)) MB free (the job needs at least ${job.options.minFreeMb} MB); nothing was installed."; fi`,
    `if [ "$(${rebootRequiredCommand('apt')})" = required ]; then echo 'PATCHDECK-REBOOT required'; else echo 'PATCHDECK-REBOOT no'; fi`,
    versions(step, 'before'),
    `pd_held=$(apt-mark showhold 2>/dev/null | grep -Fx ${names.map((n) => `-e ${n}`).join(' ')} | tr '\\n' ' ')`,
    'if [ -n "$pd_held" ]; then pd_fail held "A held package would have to change ($pd_held); Patchdeck never changes held packages."; fi',
    'set --',
    `for pd_t in ${specs.map(shellQuote).join(' ')}; do`,
    '  printf \'%s\\n\' "$pd_before" | grep -Fqx -- "${pd_t%%=*} ${pd_t#*=} ii" || set -- "$@" "$pd_t"',
    'done',
    'echo "PATCHDECK-TODO $#"',
    'if [ "$#" -eq 0 ]; then echo "PATCHDECK-PRECHECK ok"; exit 0; fi',
    'pd_dry=$(LC_ALL=C apt-get -s -q install --only-upgrade "$@" 2>&1); pd_rc=$?',
    "printf '%s\\n' \"$pd_dry\" | grep -E '^(Inst|Remv|E:) ' | head -n 200 | sed 's/^/PATCHDECK-DRY /'",
    "pd_err=$(printf '%s\\n' \"$pd_dry\" | grep '^E: ' | head -n 5 | tr '\\n' ' ')",
    'case "$pd_err" in',
    '  "") ;;',
    '  *[Ll]ock*) pd_fail package-manager-locked "The dry run before installing failed: $pd_err" ;;',
    '  *) pd_fail dry-run-failed "The dry run before installing failed: $pd_err" ;;',
    'esac',
    'if [ "$pd_rc" -ne 0 ]; then pd_fail dry-run-failed "The dry run before installing exited with $pd_rc."; fi',
    `pd_allowed=${shellQuote(` ${step.allowed.join(' ')} `)}`,
    'pd_changes=$(printf \'%s\\n\' "$pd_dry" | awk \'/^Inst /{n=$2; sub(/:.*/,"",n); v=($3 ~ /^\\[/) ? $4 : $3; sub(/^\\(/,"",v); print n "@" v} /^Remv /{n=$2; sub(/:.*/,"",n); print n "@-"}\' | tr \'\\n\' \' \')',
    "pd_extra=''",
    'for pd_c in $pd_changes; do case "$pd_allowed" in *" $pd_c "*) ;; *) pd_extra="$pd_extra $pd_c" ;; esac; done',
    'if [ -n "$pd_extra" ]; then pd_fail not-approved "Installing now would change what was not approved ($pd_extra ); nothing was installed. Plan and approve again."; fi',
    'for pd_t in "$@"; do',
    '  case " $pd_changes " in *" ${pd_t%%=*}@${pd_t#*=} "*) ;; *) pd_fail dry-run-failed "The dry run does not install ${pd_t}; nothing was installed." ;; esac',
    'done',
    'echo "PATCHDECK-PRECHECK ok"',
  ].join('\n');
}

/** The install of exactly the approved targets (apt-get install --only-upgrade name=version …). */
export function installScript(step: PlaybookStep, job: PlaybookJob['job']): string {
  const env = Object.entries({ LC_ALL: 'C', ...installEnv('apt') })
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(' ');
  const install = installCommand('apt', step.targets, { lockWaitSeconds: job.options.lockWaitSeconds });
  return [
    `${env} ${install}`,
    'pd_rc=$?',
    `if [ "$(${rebootRequiredCommand('apt')})" = required ]; then echo 'PATCHDECK-REBOOT required'; else echo 'PATCHDECK-REBOOT no'; fi`,
    'exit $pd_rc',
  ].join('\n');
}

/** Marks this boot in /run (emptied by a reboot) and issues Patchdeck's detached reboot. */
export function rebootScript(marker: string): string {
  return `: > ${shellQuote(marker)} || exit 1\n${REBOOT_COMMAND}`;
}

/** Prints `rebooted` once the marker is gone (a new boot), `same` before. */
export function waitScript(marker: string): string {
  return `if [ -e ${shellQuote(marker)} ]; then echo same; else echo rebooted; fi`;
}

/** The verification: every target installed (dpkg `ii`) at exactly its approved version. */
export function verifyScript(step: PlaybookStep): string {
  const specs = specsOf(step);
  return [
    ...PREFIX_LINES,
    versions(step, 'after'),
    `if [ "$(${rebootRequiredCommand('apt')})" = required ]; then echo 'PATCHDECK-REBOOT required'; else echo 'PATCHDECK-REBOOT no'; fi`,
    "pd_missing=''",
    `for pd_t in ${specs.map(shellQuote).join(' ')}; do`,
    '  printf \'%s\\n\' "$pd_after" | grep -Fqx -- "${pd_t%%=*} ${pd_t#*=} ii" || pd_missing="$pd_missing ${pd_t%%=*} (wanted ${pd_t#*=})"',
    'done',
    'if [ -n "$pd_missing" ]; then pd_fail verify-failed "Still pending after the install:$pd_missing."; fi',
    'echo "PATCHDECK-VERIFIED ok"',
  ].join('\n');
}

function task(
  phase: TaskPhase,
  title: string,
  raw: string,
  extra: string[] = [],
  register = `patchdeck_${phase.replace(/-/g, '_')}`,
): string[] {
  return [
    `    - name: ${yamlString(`${TASK_PREFIX}${phase} ${title}`)}`,
    `      raw: ${yamlString(`{{ patchdeck_steps[inventory_hostname].${raw} }}`)}`,
    `      register: ${register}`,
    ...extra.map((e) => `      ${e}`),
  ];
}

function rebootTasks(prefix: 'pre-reboot' | 'reboot', when: string, timeoutSeconds: number): string[] {
  const wait = prefix === 'reboot' ? 'reboot-wait' : 'pre-reboot-wait';
  const reg = `patchdeck_${prefix.replace(/-/g, '_')}`;
  const retries = Math.max(1, Math.ceil(timeoutSeconds / 5));
  return [
    ...task(prefix, "(Patchdeck's detached reboot, as the job's reboot policy asks)", 'reboot', [
      `when: ${yamlString(when)}`,
    ]),
    ...task(wait, `(until the host is back from a new boot; at most ${timeoutSeconds} s)`, 'wait', [
      `when: ${yamlString(`${reg} is not skipped`)}`,
      `until: ${yamlString(`'rebooted' in (patchdeck_${wait.replace(/-/g, '_')}.stdout | default(''))`)}`,
      `retries: ${retries}`,
      'delay: 5',
      'changed_when: false',
      'vars:',
      // While the host is down the SSH connection is refused: ssh retries (with backoff) before
      // Ansible gives up on the host as unreachable.
      '        ansible_ssh_retries: 6',
    ]),
  ];
}

/** The playbook's text. */
export function playbookYaml(model: PlaybookJob): string {
  const { job } = model;
  const policy = job.rebootPolicy;
  const out: string[] = model.header.map((h) => yamlComment(h));
  out.push(
    yamlComment(
      `Patchdeck job #${job.id} "${job.name}", approved by ${job.approvedBy ?? '?'} at ${job.approvedAt ?? '?'}; plan digest ${model.digest ?? 'not recorded'}.`,
    ),
    yamlComment(`Reboot policy "${policy}"; on a failed host: ${job.onFailure}.`),
    '# The hosts need no Python: every task is `raw` (a shell command over SSH). Per host it runs',
    "# Patchdeck's pre-checks (free disk, a pending reboot, held packages, a dry run that may change",
    '# only what was approved), installs exactly the approved package=version list of its step,',
    '# reboots as the policy says, and verifies with dpkg that every target is at its approved version.',
    '# Run from this folder, then give the results to Patchdeck:',
    `#   ANSIBLE_STDOUT_CALLBACK=json ansible-playbook ${playbookFileName(job.id)} > results.json`,
    '#   patchdeck import ansible-results results.json',
    `- name: ${yamlString(playName(job.id))}`,
    `  hosts: ${yamlString(model.group)}`,
    '  gather_facts: false',
    '  become: true',
    `  serial: ${Math.max(1, job.concurrency)}`,
  );
  if (job.onFailure === 'stop') out.push('  max_fail_percentage: 0');
  out.push('  vars:', `    patchdeck_job: ${job.id}`, '    patchdeck_steps:');
  for (const step of model.steps) {
    const marker = `/run/patchdeck-boot-${randomBytes(6).toString('hex')}`;
    out.push(
      `      ${yamlString(step.inventoryName)}:`,
      `        step: ${step.stepId}`,
      `        host_id: ${step.hostId}`,
      `        precheck: ${yamlUnsafe(precheckScript(step, job))}`,
      `        install: ${yamlUnsafe(installScript(step, job))}`,
      `        reboot: ${yamlUnsafe(rebootScript(marker))}`,
      `        wait: ${yamlUnsafe(waitScript(marker))}`,
      `        verify: ${yamlUnsafe(verifyScript(step))}`,
    );
  }
  const timeout = job.options.rebootTimeoutSeconds;
  out.push('  tasks:');
  out.push(
    ...task(
      'precheck',
      '(free disk, pending reboot, held packages, dry run of exactly the approved set)',
      'precheck',
      ['changed_when: false'],
    ),
  );
  if (policy !== 'never') {
    // A reboot already pending before the install: the host reboots first, then is checked again.
    out.push(
      ...rebootTasks(
        'pre-reboot',
        "'PATCHDECK-REBOOT required' in patchdeck_precheck.stdout and 'PATCHDECK-TODO 0' not in patchdeck_precheck.stdout",
        timeout,
      ),
      ...task('precheck-again', '(after the reboot that was pending)', 'precheck', [
        'changed_when: false',
        `when: ${yamlString('patchdeck_pre_reboot is not skipped')}`,
      ]),
    );
  }
  out.push(
    ...task('install', '(exactly the approved package=version list)', 'install', [
      `changed_when: ${yamlString("'0 upgraded, 0 newly installed' not in patchdeck_install.stdout")}`,
    ]),
  );
  if (policy !== 'never')
    out.push(
      ...rebootTasks(
        'reboot',
        policy === 'always' ? 'true' : "'PATCHDECK-REBOOT required' in patchdeck_install.stdout",
        timeout,
      ),
    );
  out.push(
    ...task('verify', '(dpkg: every target at its approved version)', 'verify', ['changed_when: false']),
  );
  return `${out.join('\n')}\n`;
}
