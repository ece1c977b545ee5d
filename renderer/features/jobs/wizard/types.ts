import type { Audit, Host, JobStep, PatchJob, Settings } from '../../../../src/api/schemas';

export type UpdateMode = 'all' | 'security' | 'packages';
export type RebootPolicy = Settings['rebootPolicy'];
export type OnFailure = PatchJob['onFailure'];
export type ScheduleKind = 'now' | 'at' | 'window';

export interface PackageChoice {
  name: string;
  security: boolean;
  /** Selected hosts where it is pending. */
  hosts: number;
}

/** What the first step chooses. It outlives the draft: going back to the first step keeps it. */
export interface Choices {
  hostIds: number[];
  mode: UpdateMode;
  /** The packages pending on the selected hosts; read when "Chosen packages" is picked, null until then. */
  packageChoices: PackageChoice[] | null;
  chosenPackages: string[];
}

/** Datetime-local values as the inputs hold them ('' until picked). */
export interface Schedule {
  kind: ScheduleKind;
  at: string;
  start: string;
  end: string;
}

/** What the schedule step chooses; the reboot policy and failure handling are part of the plan. */
export interface RunOptions {
  rebootPolicy: RebootPolicy;
  onFailure: OnFailure;
  schedule: Schedule;
  /** Windows PCs: how long Windows' restart notice gives the signed-in user (shutdown.exe /r /t). */
  windowsRestartDelaySeconds: number;
}

/** The draft job on the server whose dry run is on screen. */
export interface Draft {
  jobId: number;
  /** The dry-run task, deleted with the draft. */
  taskId: number;
  /** Null until the draft is first read. */
  job: PatchJob | null;
  steps: JobStep[];
}

/**
 * Where the wizard is, and what only that step has. A draft exists from the review on; `null`
 * while the plan is being made (review), or made again with new run options (schedule).
 * `reviewed` is the signature of the dry run the operator reviewed (see previewSignature).
 */
export type WizardFlow =
  | { step: 'closed' }
  | { step: 'select' }
  | { step: 'review'; draft: Draft | null }
  | { step: 'schedule'; draft: Draft | null; reviewed: string }
  | { step: 'confirm'; draft: Draft; reviewed: string };

export type WizardStep = Exclude<WizardFlow['step'], 'closed'>;

export interface WizardData {
  flow: WizardFlow;
  /** The inventory, by name, read when the wizard opens. */
  hosts: Host[];
  /** The newest audit of each host, by host id. */
  audits: Record<number, Audit>;
  choices: Choices;
  options: RunOptions;
  /** Windows PCs' KB titles by host id and KB, from their newest audits (a step names KBs by UpdateID). */
  kbTitles: Record<number, Record<string, string>>;
  busy: string | null;
  error: string | null;
  notice: string | null;
}
