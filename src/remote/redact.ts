/**
 * Redaction by value: the second line of defence behind "a secret never goes into argv, logs or
 * error messages". A host can still print a secret back — a terminal that echoes the sudo password
 * typed into it, a shell that traces its input — so everything SshSession hands out (results,
 * streamed chunks, error messages) passes through a Redactor holding that session's secrets.
 */

/** What a secret is replaced with. */
export const SECRET_MASK = '********';
const MASK_LENGTH = SECRET_MASK.length;

/**
 * Secrets shorter than this are not masked: a two-letter password would match ordinary output
 * everywhere and corrupt what the collectors parse. (Such a password is no secret to an attacker.)
 */
export const MIN_REDACTED_LENGTH = 4;

export class Redactor {
  private readonly secrets: string[];
  private readonly pattern: RegExp | null;
  /** KMP failure tables, one per secret (for the streaming hold-back). */
  private readonly failure: number[][];
  readonly mask: string;

  constructor(secrets: readonly (string | null | undefined)[]) {
    const usable = [...new Set(secrets.filter((s): s is string => !!s && s.length >= MIN_REDACTED_LENGTH))];
    // Longest first, so a secret that contains another is masked whole.
    usable.sort((a, b) => b.length - a.length);
    this.secrets = usable;
    this.mask = maskFor(usable);
    this.pattern = usable.length
      ? new RegExp(usable.map((s) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('|'), 'g')
      : null;
    this.failure = usable.map(failureTable);
  }

  /** True when there is nothing to mask (no secret long enough). */
  get empty(): boolean {
    return this.pattern === null;
  }

  /** `text` with every occurrence of a secret replaced by the mask. */
  redact(text: string): string {
    if (!this.pattern || text === '') return text;
    return text.replace(this.pattern, () => this.mask);
  }

  /**
   * A redacting filter for text that arrives in chunks: a secret split across chunks is still
   * masked, because the tail of a chunk that could be the start of a secret is held back until the
   * next chunk (or `end`) shows whether it is.
   */
  stream(emit: (text: string) => void): { push(chunk: string): void; end(): void } {
    let pending = '';
    return {
      push: (chunk) => {
        if (!this.pattern) {
          if (chunk) emit(chunk);
          return;
        }
        const text = pending + chunk;
        let out = '';
        let last = 0;
        this.pattern.lastIndex = 0;
        for (let m = this.pattern.exec(text); m; m = this.pattern.exec(text)) {
          out += text.slice(last, m.index) + this.mask;
          last = m.index + m[0].length;
        }
        const rest = text.slice(last);
        const keep = this.partialSecretAtEnd(rest);
        out += rest.slice(0, rest.length - keep);
        pending = rest.slice(rest.length - keep);
        if (out) emit(out);
      },
      end: () => {
        const rest = this.redact(pending);
        pending = '';
        if (rest) emit(rest);
      },
    };
  }

  /** Length of the longest end of `text` that is the beginning (not the whole) of some secret. */
  private partialSecretAtEnd(text: string): number {
    let longest = 0;
    this.secrets.forEach((secret, i) => {
      const table = this.failure[i]!;
      // Only the last length-1 characters can hold a secret's proper beginning.
      let state = 0;
      for (let j = Math.max(0, text.length - secret.length + 1); j < text.length; j++) {
        const c = text[j];
        while (state > 0 && secret[state] !== c) state = table[state - 1]!;
        if (secret[state] === c) state++;
        // A whole secret here was already masked by the caller; treat it as a fresh start.
        if (state === secret.length) state = table[state - 1]!;
      }
      longest = Math.max(longest, state);
    });
    return longest;
  }
}

/**
 * The mask is one character repeated, a character no secret contains — so neither a mask nor a
 * mask next to the text around it can ever spell a secret. `*` unless a secret uses it.
 */
function maskFor(secrets: readonly string[]): string {
  const used = new Set(secrets.join(''));
  for (const c of '*#~') if (!used.has(c)) return c.repeat(MASK_LENGTH);
  // Secrets that use all three: the first code point from • on that none of them uses.
  let code = 0x2022;
  while (used.has(String.fromCodePoint(code))) code++;
  return String.fromCodePoint(code).repeat(MASK_LENGTH);
}

/** Knuth–Morris–Pratt: for each prefix of `s`, the length of its longest proper border. */
function failureTable(s: string): number[] {
  const table = new Array<number>(s.length).fill(0);
  let k = 0;
  for (let i = 1; i < s.length; i++) {
    while (k > 0 && s[i] !== s[k]) k = table[k - 1]!;
    if (s[i] === s[k]) k++;
    table[i] = k;
  }
  return table;
}
