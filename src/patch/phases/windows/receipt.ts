/**
 * The receipt the SYSTEM task writes (contract §7) and what it means for the step. The receipt is
 * read back from the PC, so it is untrusted: bounded in size and in number of updates, every field
 * checked and sanitised, one JSON.parse (linear) and no regular expression that can backtrack.
 *
 *   { "version": 1, "jobStep": "12-34", "finishedAt": 1767225600, "rebootRequired": true,
 *     "resultCode": 2, "hresult": "0x00000000",
 *     "updates": [ { "updateId": "…", "revision": 201, "kb": ["5034441"], "title": "…",
 *                    "resultCode": 2, "hresult": "0x00000000", "rebootRequired": true,
 *                    "uninstallable": true } ] }
 *
 * resultCode is WUA's OperationResultCode: 0 NotStarted, 1 InProgress, 2 Succeeded,
 * 3 SucceededWithErrors, 4 Failed, 5 Aborted.
 */
import { windows } from '../../../collectors';
import { sanitizeText } from '../../../util';

/** A receipt larger than this is not one the task wrote. */
export const MAX_RECEIPT_BYTES = 512 * 1024;
export const MAX_RECEIPT_UPDATES = 500;

/** WU_E_NO_UPDATE: the task found the approved update no longer offered (installed or replaced meanwhile). */
export const NOT_OFFERED = '0x80240024';

export interface ReceiptUpdate {
  updateId: string;
  revision: number | null;
  /** Bare numbers, as WUA gives them ('5034441'). */
  kb: string[];
  title: string;
  resultCode: number;
  hresult: string;
  rebootRequired: boolean;
  uninstallable: boolean;
}

export interface Receipt {
  version: 1;
  jobStep: string;
  finishedAt: number | null;
  rebootRequired: boolean;
  resultCode: number;
  hresult: string;
  /** The task's own error (its search, download or install threw), sanitised. */
  error: string | null;
  updates: ReceiptUpdate[];
}

export class ReceiptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReceiptError';
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KB_NUMBER = /^\d{4,8}$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function resultCodeOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 5 ? v : null;
}

function parseUpdate(raw: unknown): ReceiptUpdate | null {
  if (!isRecord(raw)) return null;
  const updateId =
    typeof raw.updateId === 'string' && GUID.test(raw.updateId) ? raw.updateId.toLowerCase() : null;
  const resultCode = resultCodeOf(raw.resultCode);
  if (updateId === null || resultCode === null) return null;
  const kbs = Array.isArray(raw.kb) ? raw.kb : raw.kb === undefined || raw.kb === null ? [] : [raw.kb];
  return {
    updateId,
    revision:
      typeof raw.revision === 'number' && Number.isInteger(raw.revision) && raw.revision >= 0
        ? raw.revision
        : null,
    kb: kbs
      .slice(0, 20)
      .map((k) => (typeof k === 'number' ? String(k) : k))
      .filter((k): k is string => typeof k === 'string' && KB_NUMBER.test(k)),
    title: typeof raw.title === 'string' ? sanitizeText(raw.title, { maxLength: 300 }) : '',
    resultCode,
    hresult: windows.normalizeHresult(raw.hresult) ?? '0x00000000',
    rebootRequired: raw.rebootRequired === true,
    uninstallable: raw.uninstallable === true,
  };
}

/**
 * Reads the receipt text; throws ReceiptError (a sentence) when it is not the receipt of this
 * job's step. Unknown fields are ignored; an update entry that is not well formed is dropped.
 */
export function parseReceipt(text: string, jobStep: string): Receipt {
  if (Buffer.byteLength(text, 'utf8') > MAX_RECEIPT_BYTES)
    throw new ReceiptError(
      `The task's receipt is larger than ${MAX_RECEIPT_BYTES / 1024} KiB; it was not read.`,
    );
  let data: unknown;
  try {
    // The task writes UTF-8 (PowerShell may add a byte-order mark).
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new ReceiptError("The task's receipt is not valid JSON.");
  }
  if (!isRecord(data) || data.version !== 1)
    throw new ReceiptError("The task's receipt is not a version 1 Patchdeck receipt.");
  if (data.jobStep !== jobStep)
    throw new ReceiptError(
      `The receipt found belongs to another job step (${
        typeof data.jobStep === 'string' || typeof data.jobStep === 'number'
          ? sanitizeText(String(data.jobStep), { maxLength: 40 })
          : 'none named'
      }, expected ${jobStep}).`,
    );
  const rawUpdates = Array.isArray(data.updates)
    ? data.updates
    : isRecord(data.updates)
      ? [data.updates]
      : [];
  if (rawUpdates.length > MAX_RECEIPT_UPDATES)
    throw new ReceiptError(
      `The task's receipt lists more than ${MAX_RECEIPT_UPDATES} updates; it was not read.`,
    );
  return {
    version: 1,
    jobStep,
    finishedAt:
      typeof data.finishedAt === 'number' && Number.isFinite(data.finishedAt)
        ? Math.trunc(data.finishedAt)
        : null,
    rebootRequired: data.rebootRequired === true,
    resultCode: resultCodeOf(data.resultCode) ?? 4,
    hresult: windows.normalizeHresult(data.hresult) ?? '0x00000000',
    error:
      typeof data.error === 'string' && data.error !== ''
        ? sanitizeText(data.error, { maxLength: 300 })
        : null,
    updates: rawUpdates.map(parseUpdate).filter((u): u is ReceiptUpdate => u !== null),
  };
}

/** Codes an install meets that an audit does not; the audit's table (collectors/windows/errors.ts) covers the rest. */
const INSTALL_ERRORS: Record<string, string> = {
  '0x80240024': 'Windows Update no longer offers it to the PC (installed or replaced meanwhile).',
  '0x80240017': 'It is not applicable to this PC.',
  '0x80240016': 'Another install was running on the PC: try again when it is done.',
  '0x8024000B': 'The install was cancelled on the PC.',
  '0x8024001E': 'The Windows Update service stopped during the install.',
  '0x8024200D': 'It needs another download: run the job again.',
  '0x80242014': 'An earlier update waits for the PC to restart: restart it, then run the job again.',
  '0x80246007': 'Its download did not finish.',
  '0x80246008': 'Its download failed (the Background Intelligent Transfer Service refused it).',
  '0x80070070': 'The PC ran out of disk space.',
  '0x80070643': 'Its installer failed (a fatal error during installation).',
  '0x800F0922':
    'It could not be installed (often too little space on the system reserved partition, or no connection to the update server).',
  '0x80070005': 'Windows denied it access.',
};

/** A WUA HRESULT as a sentence an admin can act on, the code in brackets. */
export function hresultSentence(hresult: string): string {
  const text =
    INSTALL_ERRORS[hresult] ??
    windows.wuaErrorMeaning(hresult)?.sentence ??
    'Windows Update reported an error.';
  return `${text} (${hresult})`;
}

const RESULT_WORDS: Record<number, string> = {
  0: 'was not started',
  1: 'was still in progress when the task ended',
  2: 'installed',
  3: 'installed with errors',
  4: 'failed',
  5: 'was aborted',
};

/** "KB5034441" (its first KB) or the title, or the UpdateID. */
export function updateLabel(u: Pick<ReceiptUpdate, 'kb' | 'title' | 'updateId'>): string {
  return u.kb[0] ? `KB${u.kb[0]}` : u.title || u.updateId;
}

export type UpdateResult = 'installed' | 'not-offered' | 'failed';

export function updateResult(u: ReceiptUpdate): UpdateResult {
  if (u.resultCode === 2 || u.resultCode === 3) return 'installed';
  if (u.resultCode === 0 && u.hresult === NOT_OFFERED) return 'not-offered';
  return 'failed';
}

/** One log line per update: what happened, and why in words when it did not install. */
export function receiptLines(receipt: Receipt): string[] {
  return receipt.updates.map((u) => {
    const result = updateResult(u);
    const label = updateLabel(u);
    if (result === 'not-offered') return `${label}: ${hresultSentence(u.hresult)}`;
    const words = RESULT_WORDS[u.resultCode] ?? 'ended';
    if (result === 'installed')
      return `${label} ${words}${u.resultCode === 3 ? ` (${hresultSentence(u.hresult)})` : ''}${u.rebootRequired ? '; it needs a restart' : ''}`;
    return `${label} ${words}: ${hresultSentence(u.hresult)}`;
  });
}

export interface ReceiptOutcome {
  installed: ReceiptUpdate[];
  notOffered: ReceiptUpdate[];
  failed: ReceiptUpdate[];
  /** Approved UpdateIDs the receipt says nothing about. */
  missing: string[];
  rebootRequired: boolean;
  /** The step's failure in one sentence; null when nothing failed. */
  failure: string | null;
}

/** What the receipt means for the approved UpdateIDs. */
export function receiptOutcome(receipt: Receipt, approved: readonly string[]): ReceiptOutcome {
  const byId = new Map(receipt.updates.map((u) => [u.updateId, u]));
  const installed: ReceiptUpdate[] = [];
  const notOffered: ReceiptUpdate[] = [];
  const failed: ReceiptUpdate[] = [];
  const missing: string[] = [];
  for (const id of approved) {
    const u = byId.get(id.toLowerCase());
    if (!u) missing.push(id);
    else if (updateResult(u) === 'installed') installed.push(u);
    else if (updateResult(u) === 'not-offered') notOffered.push(u);
    else failed.push(u);
  }
  const rebootRequired = receipt.rebootRequired || installed.some((u) => u.rebootRequired);
  const parts: string[] = [];
  if (failed.length)
    parts.push(
      failed
        .slice(0, 5)
        .map(
          (u) => `${updateLabel(u)} ${RESULT_WORDS[u.resultCode] ?? 'failed'}: ${hresultSentence(u.hresult)}`,
        )
        .join('; '),
    );
  if (missing.length && receipt.error)
    parts.push(`The task stopped before installing: ${receipt.error} ${hresultSentence(receipt.hresult)}`);
  else if (missing.length)
    parts.push(
      `The receipt says nothing about ${missing.length} approved update(s)${receipt.hresult === '0x00000000' ? '.' : `: ${hresultSentence(receipt.hresult)}`}`,
    );
  let failure: string | null = null;
  if (parts.length) {
    failure = parts.join(' ');
    if (installed.length) failure += ` ${installed.length} other update(s) installed.`;
  }
  return { installed, notOffered, failed, missing, rebootRequired, failure };
}

/** `wusa /uninstall /kb:N /quiet /norestart` for each installed update that Windows lets be removed. */
export function undoRecipe(installed: readonly ReceiptUpdate[]): string | null {
  const lines = installed
    .filter((u) => u.uninstallable && u.kb[0])
    .map((u) => `wusa /uninstall /kb:${u.kb[0]} /quiet /norestart`);
  return lines.length ? lines.join('\n') : null;
}
