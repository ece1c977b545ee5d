import type { Database } from 'better-sqlite3';
import type { CallResult, EventBus, ParsedArgs } from '../api';
import type { TaskRunner } from '../tasks';
import { PatchdeckError, type Clock } from '../util';

/** What the hand-off calls need of the workspace. */
export interface HandoffServiceDeps {
  db: Database;
  tasks: TaskRunner;
  events: EventBus;
  clock: Clock;
  actor: string;
}

export async function exportAnsible(
  _deps: HandoffServiceDeps,
  _args: ParsedArgs<'handoff.exportAnsible'>,
): Promise<CallResult<'handoff.exportAnsible'>> {
  throw new PatchdeckError('unavailable', 'The Ansible hand-off is not built yet.');
}

export async function importAnsibleResults(
  _deps: HandoffServiceDeps,
  _args: ParsedArgs<'handoff.importAnsibleResults'>,
): Promise<CallResult<'handoff.importAnsibleResults'>> {
  throw new PatchdeckError('unavailable', 'The Ansible hand-off is not built yet.');
}
