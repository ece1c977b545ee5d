/**
 * Shared machinery of the collectors: one-round-trip scripts with section markers, the
 * splitter that takes them apart again, error classification and value hygiene.
 */
import { randomBytes } from 'node:crypto';
import { sanitizeText } from '../util';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type CommandRecord,
  type RemoteExec,
  type RemoteExecResult,
  type Severity,
} from './types';

/** Lines longer than this are not parsed (a package line is never near this long). */
export const MAX_LINE = 16 * 1024;

export interface ScriptSection {
  /** Section name: [a-z0-9-]+, chosen by us. */
  name: string;
  /** Shell text written by us; any remote-derived value inside must already be shellQuote'd. */
  command: string;
  /** Added after the offline collection format shipped: files collected before may lack it. */
  optional?: boolean;
}

export interface SectionOutput {
  stdout: string;
  stderr: string;
  /** Exit status of the section; null when its end marker never arrived. */
  code: number | null;
}

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

const MARKER = '@@PATCHDECK';

/**
 * Builds one POSIX sh script that runs every section in order and frames each section's stdout
 * and stderr with markers carrying a per-run random nonce (remote output cannot forge them).
 */
export function buildSectionScript(sections: readonly ScriptSection[], nonce: string): string {
  if (!/^[0-9a-f]{8,32}$/.test(nonce)) throw new Error('bad nonce');
  const lines = ['export LC_ALL=C LANG=C LANGUAGE=C'];
  for (const section of sections) {
    if (!/^[a-z0-9-]+$/.test(section.name)) throw new Error(`bad section name ${section.name}`);
    const begin = `${MARKER}:${nonce}:begin:${section.name}`;
    const end = `${MARKER}:${nonce}:end:${section.name}`;
    lines.push(
      `printf '\\n%s\\n' '${begin}'; printf '\\n%s\\n' '${begin}' >&2`,
      `{ ${section.command}\n} </dev/null`,
      `pd_rc=$?; printf '\\n%s:%s\\n' '${end}' "$pd_rc"; printf '\\n%s:%s\\n' '${end}' "$pd_rc" >&2`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function splitStream(text: string, nonce: string): Map<string, { body: string; code: number | null }> {
  const out = new Map<string, { body: string; code: number | null }>();
  const beginPrefix = `${MARKER}:${nonce}:begin:`;
  const endPrefix = `${MARKER}:${nonce}:end:`;
  let current: string | null = null;
  let body: string[] = [];
  const flush = (code: number | null): void => {
    if (current === null) return;
    // The script put a newline before each marker so that it starts a line; take it back.
    let joined = body.join('\n');
    if (joined.endsWith('\n')) joined = joined.slice(0, -1);
    out.set(current, { body: joined, code });
    current = null;
    body = [];
  };
  for (const line of text.split('\n')) {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.startsWith(beginPrefix)) {
      flush(null);
      current = trimmed.slice(beginPrefix.length);
      body = [];
      continue;
    }
    if (trimmed.startsWith(endPrefix) && current !== null) {
      const rest = trimmed.slice(endPrefix.length);
      const colon = rest.lastIndexOf(':');
      const codeText = colon >= 0 ? rest.slice(colon + 1) : '';
      const code = /^\d{1,3}$/.test(codeText) ? Number(codeText) : null;
      flush(code);
      continue;
    }
    if (current !== null) body.push(line);
  }
  flush(null);
  return out;
}

/** Splits a section script's stdout and stderr back into sections. Missing sections are absent. */
export function splitSections(stdout: string, stderr: string, nonce: string): Map<string, SectionOutput> {
  const outs = splitStream(stdout, nonce);
  const errs = splitStream(stderr, nonce);
  const result = new Map<string, SectionOutput>();
  for (const [name, { body, code }] of outs) {
    result.set(name, { stdout: body, stderr: errs.get(name)?.body ?? '', code });
  }
  return result;
}

/** Text that goes to logs and the UI: printable, bounded. */
export function cleanStderr(text: string, maxLength = 4000): string {
  return sanitizeText(text.trim(), { maxLength, multiline: true });
}

export function cleanField(text: string, maxLength = 200): string {
  return sanitizeText(text.trim(), { maxLength });
}

/**
 * Splits text into lines, dropping absurdly long ones instead of feeding them to regexes (no
 * package manager prints a 16 KiB line). Collectors say so in their warnings through
 * overlongLineWarnings, so a dropped line never goes unnoticed.
 */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.length <= MAX_LINE);
}

/** How many lines of `text` are longer than MAX_LINE (the ones `lines` drops). Linear, no regex. */
export function countOverlongLines(text: string): number {
  let count = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const length = end - start - (end > start && text.charCodeAt(end - 1) === 13 ? 1 : 0);
    if (length > MAX_LINE) count++;
    start = end + 1;
  }
  return count;
}

/**
 * `{ [name]: stdout }` when the section ran and succeeded, `{}` when it is absent (an optional
 * section of an older collection) or failed; a failure adds a warning naming `what` it read.
 */
export function optionalText<K extends string>(
  sections: ReadonlyMap<string, SectionOutput>,
  name: K,
  what: string,
  warnings: string[],
): Partial<Record<K, string>> {
  const section = sections.get(name);
  if (section === undefined) return {};
  if (section.code !== 0) {
    warnings.push(`${what} failed (exit ${section.code ?? 'unknown'}); this audit has no such list`);
    return {};
  }
  return { [name]: section.stdout } as Partial<Record<K, string>>;
}

/** One warning per section whose output had lines too long to read. */
export function overlongLineWarnings(sections: ReadonlyMap<string, SectionOutput>): string[] {
  const warnings: string[] = [];
  for (const [name, section] of sections) {
    const count = countOverlongLines(section.stdout);
    if (count === 0) continue;
    warnings.push(
      `${count} line${count === 1 ? '' : 's'} of the ${name} output ${count === 1 ? 'is' : 'are'} longer than ${MAX_LINE / 1024} KiB and ${count === 1 ? 'was' : 'were'} not read (no package manager prints such lines); this answer may be incomplete`,
    );
  }
  return warnings;
}

/** Package names as package managers allow them; anything else is refused. */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._@~-]{0,254}$/;
export function isValidPackageName(name: string): boolean {
  return PACKAGE_NAME.test(name);
}

/** Versions: epoch, upstream, revision characters of deb/rpm/apk/pacman versions. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}$/;
export function isValidVersion(version: string): boolean {
  return VERSION.test(version);
}

export function isValidArch(arch: string): boolean {
  return /^[A-Za-z0-9_-]{1,32}$/.test(arch);
}

const SEVERITY_WORDS: Record<string, Severity> = {
  critical: 'critical',
  urgent: 'critical',
  important: 'important',
  high: 'important',
  moderate: 'moderate',
  medium: 'moderate',
  low: 'low',
  minor: 'low',
  none: 'unknown',
  unspecified: 'unknown',
  unknown: 'unknown',
  'n/a': 'unknown',
};

/** Normalises a vendor severity word (Important, High, Medium, …); null for empty input. */
export function normalizeSeverity(word: string | null | undefined): Severity | null {
  if (word === null || word === undefined) return null;
  const key = word.trim().toLowerCase();
  if (key === '' || key === '---') return null;
  return SEVERITY_WORDS[key] ?? 'unknown';
}

const SEVERITY_RANK: Record<Severity, number> = {
  critical: 4,
  important: 3,
  moderate: 2,
  low: 1,
  unknown: 0,
};

/** The more severe of two severities (null counts as nothing known). */
export function maxSeverity(a: Severity | null, b: Severity | null): Severity | null {
  if (a === null) return b;
  if (b === null) return a;
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

const SUDO_PATTERNS: readonly RegExp[] = [
  /sudo: a password is required/,
  /sudo: a terminal is required/,
  /sudo: no tty present/,
  /is not in the sudoers file/,
  /is not allowed to (?:run sudo|execute)/,
  /sudo: \d+ incorrect password attempts?/,
  /sudo: (?:command not found|not found)/,
  /sudo: sorry, you must have a tty/,
];

export function looksLikeSudoFailure(stderr: string): boolean {
  const head = stderr.slice(0, 8192);
  return SUDO_PATTERNS.some((re) => re.test(head));
}

export function isTimeoutError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'TimeoutError' || /timed? ?out/i.test(error.message.slice(0, 500));
}

/**
 * Runs one command through the RemoteExec, recording it, and turns transport-level timeouts and
 * sudo refusals into CollectorErrors. Exit codes are returned, not judged: callers know what
 * their package manager's codes mean.
 */
export async function runRecorded(
  exec: RemoteExec,
  command: string,
  options: CollectOptions & { sudo: boolean },
  record: CommandRecord[],
  displayCommand: string = command,
): Promise<RemoteExecResult> {
  options.signal?.throwIfAborted();
  let result: RemoteExecResult;
  try {
    result = await exec.run(command, {
      sudo: options.sudo,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    if (options.signal?.aborted) throw error;
    if (isTimeoutError(error)) {
      throw new CollectorError('timeout', null, {
        stderr: cleanStderr(error instanceof Error ? error.message : String(error)),
        command: displayCommand,
      });
    }
    throw error;
  }
  if (!displayCommand.includes('@@PATCHDECK')) {
    record.push({ command: displayCommand, code: result.code, stderr: cleanStderr(result.stderr) });
  }
  if (options.sudo && looksLikeSudoFailure(result.stderr)) {
    throw new CollectorError('sudo', sudoSentence(result.stderr), {
      stderr: cleanStderr(result.stderr),
      command: displayCommand,
      code: result.code,
    });
  }
  return result;
}

function sudoSentence(stderr: string): string {
  if (/is not in the sudoers file|is not allowed to/.test(stderr))
    return 'The account is not allowed to use sudo on this host.';
  if (/incorrect password/.test(stderr)) return 'The sudo password was wrong.';
  if (/terminal is required|no tty present|must have a tty/.test(stderr))
    return 'sudo on this host needs a terminal or a password.';
  if (/command not found|not found/.test(stderr)) return 'sudo is not installed on this host.';
  return 'sudo on this host needs a password.';
}

/**
 * Records what a framed script ran: one entry per section (its own command text, exit status and
 * stderr), or the whole script's stderr when no section came back.
 */
/**
 * Runs a framed section script in one round-trip, splits its output by the script's nonce and
 * records every section's command, exit code and stderr. Every collector starts this way.
 */
export async function runSectionScript(
  exec: RemoteExec,
  plan: readonly ScriptSection[],
  options: CollectOptions & { sudo: boolean },
  record: CommandRecord[],
): Promise<{ sections: Map<string, SectionOutput>; raw: RemoteExecResult }> {
  const nonce = newNonce();
  const raw = await runRecorded(exec, buildSectionScript(plan, nonce), options, record);
  const sections = splitSections(raw.stdout, raw.stderr, nonce);
  recordSections(record, plan, sections, raw);
  return { sections, raw };
}

export function recordSections(
  record: CommandRecord[],
  sections: readonly ScriptSection[],
  outputs: Map<string, SectionOutput>,
  raw: RemoteExecResult,
): void {
  if (outputs.size === 0) {
    record.push({
      command: sections.map((s) => s.command).join('\n'),
      code: raw.code,
      stderr: cleanStderr(raw.stderr),
    });
    return;
  }
  for (const section of sections) {
    const out = outputs.get(section.name);
    if (out) record.push({ command: section.command, code: out.code, stderr: cleanStderr(out.stderr) });
  }
}

/**
 * The error for a framed audit script that came back without the section every answer needs:
 * the script itself did not run (no POSIX shell, a forced command, the connection cut before the
 * first marker). `tool` names the package manager in the sentence. One wording for every collector.
 */
export function scriptDidNotRun(tool: string, raw: RemoteExecResult): CollectorError {
  return new CollectorError('command-failed', `The ${tool} audit script did not run on this host.`, {
    stderr: cleanStderr(raw.stderr),
    command: 'sh',
    code: raw.code,
  });
}

/** Seconds between a remote "now" and the newest of some remote mtimes (epoch seconds text). */
export function metadataAge(nowText: string, mtimes: readonly string[]): number | null {
  const now = Number.parseInt(nowText.trim(), 10);
  let newest = -1;
  for (const text of mtimes) {
    const value = Number.parseFloat(text.trim());
    if (Number.isFinite(value) && value > newest) newest = value;
  }
  if (!Number.isFinite(now) || newest < 0) return null;
  return Math.max(0, Math.round(now - newest));
}

/** Parses the output of `date +%s; stat -c %Y files…` (first line now, then mtimes). */
export function parseClockAndMtimes(text: string): number | null {
  const all = lines(text)
    .map((l) => l.trim())
    .filter((l) => /^\d{1,12}(?:\.\d+)?$/.test(l));
  const [now, ...rest] = all;
  if (now === undefined) return null;
  return metadataAge(now, rest);
}

/**
 * Reads the output of the running-kernel check (pacman and apk have no reboot flag of their
 * own): when the running kernel's modules are gone, the kernel was upgraded and a reboot is due.
 */
export function kernelRebootState(text: string): { rebootRequired: boolean | null; rebootReasons: string[] } {
  if (/running-kernel-missing/.test(text)) {
    return {
      rebootRequired: true,
      rebootReasons: ["the running kernel's modules are no longer installed (kernel upgraded)"],
    };
  }
  return { rebootRequired: /running-kernel-installed/.test(text) ? false : null, rebootReasons: [] };
}

/**
 * Audits once; when that fails because the host has no package metadata at all (`noMetadata`)
 * and the caller allows it (a live audit, no refresh asked), refreshes once and says so first in
 * the result's warnings. A host with some metadata, however old, is audited against it, so an
 * offline site stays offline.
 */
export async function refreshedOnceWithoutMetadata(
  collectOnce: (options: CollectOptions) => Promise<CollectorResult>,
  options: CollectOptions,
  noMetadata: (error: unknown) => boolean,
  warning: (refreshed: CollectorResult) => string,
): Promise<CollectorResult> {
  try {
    return await collectOnce(options);
  } catch (error) {
    if (!noMetadata(error) || options.refresh || !options.autoRefresh) throw error;
  }
  const refreshed = await collectOnce({ ...options, refresh: true });
  return { ...refreshed, warnings: [warning(refreshed), ...refreshed.warnings] };
}
