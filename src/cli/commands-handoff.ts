import type { Command } from 'commander';
import type { GlobalOptions, WithCore } from './context';

/** The commands of the Ansible hand-off (export ansible, import ansible-results) (issue 14). */
export function registerHandoffCommands(
  _program: Command,
  _globals: () => GlobalOptions,
  _withCore: WithCore,
): void {
  // Built by issue 14's work: see src/api/portable-schemas.ts for the calls these commands make.
}
