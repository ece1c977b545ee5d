/**
 * The hand-off to Ansible (issue 14): an inventory with pinned host keys as known_hosts and, for
 * an approved patch job, a playbook installing exactly the approved package=versions with the
 * same pre-checks, reboot policy and verification; the run's JSON results read back into the job.
 */
export { exportAnsible, importAnsibleResults, type HandoffServiceDeps } from './service';
