/**
 * Counts the apt-get runs on apt lab hosts, whoever starts them (Patchdeck, Ansible, pssh): a small
 * wrapper takes /usr/bin/apt-get's place on the host's own disk, appends one line per run (its
 * arguments) to a log on that disk, and execs the real apt-get. The host's disk is its per-host
 * overlay upper, so a reset or `lab down` removes both; nothing else is started, nothing to stop.
 */
import { execOnHost } from './index';

/** The host's log of apt-get runs: one line per run, its arguments. World-writable: apt-get -s runs unprivileged. */
export const APT_GET_LOG = '/var/log/patchdeck-lab-apt-get.log';

const WRAP = [
  'set -e',
  'if [ ! -e /usr/bin/apt-get.lab-real ]; then',
  '  mv /usr/bin/apt-get /usr/bin/apt-get.lab-real',
  `  printf '%s\\n' '#!/bin/sh' 'printf "%s\\n" "$*" >> ${APT_GET_LOG}' 'exec /usr/bin/apt-get.lab-real "$@"' > /usr/bin/apt-get`,
  '  chmod 755 /usr/bin/apt-get',
  'fi',
  `: > ${APT_GET_LOG}`,
  `chmod 666 ${APT_GET_LOG}`,
].join('\n');

/** Starts counting on an apt host (idempotent); the count starts at zero. */
export async function countAptGet(name: string): Promise<void> {
  await execOnHost(name, ['/bin/sh', '-c', WRAP]);
}

/** The apt-get runs since countAptGet, each as its argument line. */
export async function aptGetRuns(name: string): Promise<string[]> {
  const r = await execOnHost(name, ['/bin/cat', APT_GET_LOG]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}
