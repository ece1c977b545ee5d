/**
 * A deterministic measure of how much work regular expressions do, for tests that prove a
 * parser linear without timing anything.
 *
 * `measureRegexWork(fn)` runs `fn` with `RegExp.prototype.exec` replaced by a backtracking
 * matcher written here, which follows ECMAScript's matching semantics (the backtracking order
 * V8's irregexp follows too) and counts its steps: one per instruction executed and one per
 * backtrack. Every regex operation goes through `exec` once it is replaced (`test`, `replace`,
 * `split`, `match`, `search`, `matchAll`, per the spec's RegExpExec), so the count covers the
 * parser's own patterns, `lines()`'s split and the libraries it calls. A pattern that backtracks
 * quadratically shows a quadratic count; nothing depends on the machine's speed or load.
 *
 * Supported syntax (what src/ uses): literals and escapes, classes, `.`, `\d\s\w\b` and their
 * negations, groups (capturing, named, non-capturing), alternation, greedy and lazy quantifiers,
 * `^`/`$` (with m), lookahead, fixed-length lookbehind, backreferences, flags g i m s u y.
 * Anything else throws, so a test cannot silently measure a different pattern.
 */

type Pred = (c: number) => boolean;

type Node =
  | { t: 'char'; pred: Pred; width: 1 }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'group'; index: number | null; body: Node }
  | { t: 'repeat'; body: Node; min: number; max: number; greedy: boolean }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'wordb'; negated: boolean }
  | { t: 'look'; ahead: boolean; negated: boolean; body: Node }
  | { t: 'backref'; index: number | string };

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isWord = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace = (c: number): boolean =>
  c === 9 ||
  c === 10 ||
  c === 11 ||
  c === 12 ||
  c === 13 ||
  c === 32 ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;
const isHex = (s: string, n: number): boolean =>
  s.length === n &&
  [...s].every((ch) => isDigit(ch.charCodeAt(0)) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'));
const isLineTerminator = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

class Unsupported extends Error {}

class Parser {
  pos = 0;
  groupCount = 0;
  names = new Map<string, number>();
  constructor(
    readonly src: string,
    readonly flags: string,
  ) {}

  get unicode(): boolean {
    return this.flags.includes('u') || this.flags.includes('v');
  }

  peek(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  eat(s: string): boolean {
    if (this.src.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) throw new Unsupported(`unexpected ${this.peek()} at ${this.pos}`);
    return node;
  }

  alternation(): Node {
    const alts = [this.sequence()];
    while (this.eat('|')) alts.push(this.sequence());
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  quantified(atom: Node): Node {
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      let i = this.pos + 1;
      let a = '';
      while (isDigit(this.src.charCodeAt(i))) a += this.src[i++];
      let b: string | null = a;
      if (this.src[i] === ',') {
        i++;
        b = '';
        while (isDigit(this.src.charCodeAt(i))) b += this.src[i++];
      }
      if (a === '' || this.src[i] !== '}') {
        if (this.unicode) throw new Unsupported('lone {');
        return atom;
      }
      min = Number(a);
      max = b === '' ? Infinity : Number(b);
      this.pos = i;
    } else return atom;
    this.pos++;
    const greedy = !this.eat('?');
    if (atom.t === 'bol' || atom.t === 'eol' || atom.t === 'wordb')
      throw new Unsupported('quantified assertion');
    return { t: 'repeat', body: atom, min, max, greedy };
  }

  atom(): Node {
    const c = this.peek();
    if (c === '^') {
      this.pos++;
      return { t: 'bol' };
    }
    if (c === '$') {
      this.pos++;
      return { t: 'eol' };
    }
    if (c === '.') {
      this.pos++;
      const dotAll = this.flags.includes('s');
      return this.char(dotAll ? () => true : (x) => !isLineTerminator(x));
    }
    if (c === '(') return this.group();
    if (c === '[') return this.char(this.classSet());
    if (c === '\\') return this.escapeAtom();
    if (c === '*' || c === '+' || c === '?') throw new Unsupported('nothing to repeat');
    if (this.unicode && (c === ')' || c === ']' || c === '{' || c === '}'))
      throw new Unsupported(`lone ${c}`);
    return this.literal(this.codePoint());
  }

  codePoint(): number {
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += this.unicode && cp > 0xffff ? 2 : 1;
    if (cp > 0xffff && !this.unicode) return this.src.charCodeAt(this.pos - 1);
    return cp;
  }

  char(pred: Pred): Node {
    if (this.flags.includes('i')) {
      const base = pred;
      pred = (x) => base(x) || base(lower(x)) || base(upper(x));
    }
    return { t: 'char', pred, width: 1 };
  }

  literal(cp: number): Node {
    return this.char((x) => x === cp);
  }

  group(): Node {
    this.pos++;
    let node: Node;
    if (this.eat('?:')) node = { t: 'group', index: null, body: this.alternation() };
    else if (this.eat('?=')) node = { t: 'look', ahead: true, negated: false, body: this.alternation() };
    else if (this.eat('?!')) node = { t: 'look', ahead: true, negated: true, body: this.alternation() };
    else if (this.eat('?<=')) node = { t: 'look', ahead: false, negated: false, body: this.alternation() };
    else if (this.eat('?<!')) node = { t: 'look', ahead: false, negated: true, body: this.alternation() };
    else if (this.eat('?<')) {
      const end = this.src.indexOf('>', this.pos);
      if (end < 0) throw new Unsupported('bad group name');
      const name = this.src.slice(this.pos, end);
      this.pos = end + 1;
      const index = ++this.groupCount;
      this.names.set(name, index);
      node = { t: 'group', index, body: this.alternation() };
    } else if (this.peek() === '?') throw new Unsupported('group modifier');
    else {
      const index = ++this.groupCount;
      node = { t: 'group', index, body: this.alternation() };
    }
    if (!this.eat(')')) throw new Unsupported('unclosed group');
    return node;
  }

  escapeAtom(): Node {
    this.pos++;
    const c = this.peek();
    if (c === 'b' || c === 'B') {
      this.pos++;
      return { t: 'wordb', negated: c === 'B' };
    }
    if (c >= '1' && c <= '9') {
      let digits = '';
      while (isDigit(this.src.charCodeAt(this.pos))) digits += this.src[this.pos++];
      return { t: 'backref', index: Number(digits) };
    }
    if (c === 'k' && this.src[this.pos + 1] === '<') {
      const end = this.src.indexOf('>', this.pos);
      const name = this.src.slice(this.pos + 2, end);
      this.pos = end + 1;
      return { t: 'backref', index: name };
    }
    const cls = this.classEscape();
    if (cls) return this.char(cls);
    return this.literal(this.characterEscape());
  }

  /** \d \D \s \S \w \W, or null. */
  classEscape(): Pred | null {
    const c = this.peek();
    const table: Record<string, Pred> = {
      d: isDigit,
      D: (x) => !isDigit(x),
      s: isSpace,
      S: (x) => !isSpace(x),
      w: isWord,
      W: (x) => !isWord(x),
    };
    const pred = table[c];
    if (!pred) return null;
    this.pos++;
    return pred;
  }

  /** The escape after a backslash that stands for one character (position just after `\`). */
  characterEscape(): number {
    const c = this.src[this.pos++] ?? '';
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12 };
    if (simple[c] !== undefined) return simple[c];
    if (c === '0' && !isDigit(this.src.charCodeAt(this.pos))) return 0;
    if (c === 'c') {
      const letter = this.src.charCodeAt(this.pos++);
      return letter % 32;
    }
    if (c === 'x') {
      const hex = this.src.slice(this.pos, this.pos + 2);
      if (!isHex(hex, 2)) throw new Unsupported('bad \\x');
      this.pos += 2;
      return parseInt(hex, 16);
    }
    if (c === 'u') {
      if (this.peek() === '{' && this.unicode) {
        const end = this.src.indexOf('}', this.pos);
        const cp = parseInt(this.src.slice(this.pos + 1, end), 16);
        this.pos = end + 1;
        return cp;
      }
      const hex = this.src.slice(this.pos, this.pos + 4);
      if (!isHex(hex, 4)) throw new Unsupported('bad \\u');
      this.pos += 4;
      return parseInt(hex, 16);
    }
    if (c === 'p' || c === 'P') throw new Unsupported('unicode property escapes');
    if (c === '') throw new Unsupported('trailing backslash');
    if (this.unicode && isWord(c.charCodeAt(0)) && c !== '_') throw new Unsupported(`identity escape \\${c}`);
    this.pos--;
    return this.codePointAfterBackslash();
  }

  codePointAfterBackslash(): number {
    return this.codePoint();
  }

  classSet(): Pred {
    this.pos++;
    const negated = this.eat('^');
    const parts: Pred[] = [];
    while (this.pos < this.src.length && this.peek() !== ']') {
      const lo = this.classAtom();
      if (typeof lo !== 'number') {
        parts.push(lo);
        continue;
      }
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        this.pos++;
        const hi = this.classAtom();
        if (typeof hi !== 'number') {
          if (this.unicode) throw new Unsupported('class range with a class escape');
          parts.push(
            (x) => x === lo,
            (x) => x === 45,
            hi,
          );
          continue;
        }
        if (hi < lo) throw new Unsupported('range out of order');
        parts.push((x) => x >= lo && x <= hi);
      } else parts.push((x) => x === lo);
    }
    if (!this.eat(']')) throw new Unsupported('unclosed class');
    const member: Pred = (x) => parts.some((p) => p(x));
    return negated ? (x) => !member(x) : member;
  }

  classAtom(): number | Pred {
    if (this.peek() !== '\\') return this.codePoint();
    this.pos++;
    const cls = this.classEscape();
    if (cls) return cls;
    if (this.peek() === 'b') {
      this.pos++;
      return 8;
    }
    if (this.peek() === '-') {
      this.pos++;
      return 45;
    }
    return this.characterEscape();
  }
}

function lower(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  if (c < 128) return c;
  const s = String.fromCharCode(c).toLowerCase();
  return s.length === 1 ? s.charCodeAt(0) : c;
}

function upper(c: number): number {
  if (c >= 97 && c <= 122) return c - 32;
  if (c < 128) return c;
  const s = String.fromCharCode(c).toUpperCase();
  const u = s.length === 1 ? s.charCodeAt(0) : c;
  // Canonicalize never maps a non-ASCII character to ASCII (ECMA-262 Canonicalize step).
  return u < 128 ? c : u;
}

// ---------------------------------------------------------------------------------------------
// Compilation to a small backtracking VM

const enum Op {
  Char,
  Split,
  Jmp,
  Save,
  Mark,
  Check,
  Clear,
  Bol,
  Eol,
  WordB,
  Look,
  BackRef,
  Match,
}

interface Instr {
  op: Op;
  pred?: Pred;
  /** Split: preferred target `a`, alternative `b`; Jmp: `a`. */
  a?: number;
  b?: number;
  /** Save/Mark/Check: register; Clear: first..last register; BackRef: group index. */
  reg?: number;
  last?: number;
  negated?: boolean;
  /** Look: sub-program start, whether ahead, fixed width for lookbehind. */
  ahead?: boolean;
  width?: number;
}

interface Program {
  code: Instr[];
  groups: number;
  registers: number;
  names: Map<string, number>;
  anchored: boolean;
  multiline: boolean;
  ignoreCase: boolean;
  /** With u, characters are code points (a surrogate pair is one character). */
  unicode: boolean;
  /** Scratch space reused by every exec of this program (the matcher is not re-entrant). */
  regs: number[];
  undo: number[];
  choices: number[][];
}

function fixedWidth(node: Node): number | null {
  switch (node.t) {
    case 'char':
      return 1;
    case 'seq': {
      let sum = 0;
      for (const item of node.items) {
        const w = fixedWidth(item);
        if (w === null) return null;
        sum += w;
      }
      return sum;
    }
    case 'alt': {
      const widths = node.alts.map(fixedWidth);
      return widths.every((w) => w !== null && w === widths[0]) ? widths[0]! : null;
    }
    case 'group':
      return fixedWidth(node.body);
    case 'repeat': {
      const w = fixedWidth(node.body);
      return w !== null && node.min === node.max ? w * node.min : null;
    }
    case 'backref':
      return null;
    default:
      return 0;
  }
}

function groupsIn(node: Node, out: number[] = []): number[] {
  switch (node.t) {
    case 'seq':
      node.items.forEach((n) => groupsIn(n, out));
      break;
    case 'alt':
      node.alts.forEach((n) => groupsIn(n, out));
      break;
    case 'group':
      if (node.index !== null) out.push(node.index);
      groupsIn(node.body, out);
      break;
    case 'repeat':
    case 'look':
      groupsIn(node.body, out);
      break;
    default:
  }
  return out;
}

class Compiler {
  code: Instr[] = [];
  registers: number;
  constructor(readonly groups: number) {
    this.registers = (groups + 1) * 2;
  }

  emit(instr: Instr): number {
    this.code.push(instr);
    return this.code.length - 1;
  }

  node(node: Node): void {
    switch (node.t) {
      case 'char':
        this.emit({ op: Op.Char, pred: node.pred });
        return;
      case 'seq':
        node.items.forEach((n) => this.node(n));
        return;
      case 'alt': {
        const jumps: number[] = [];
        node.alts.forEach((alt, i) => {
          if (i < node.alts.length - 1) {
            const split = this.emit({ op: Op.Split });
            this.code[split]!.a = this.code.length;
            this.node(alt);
            jumps.push(this.emit({ op: Op.Jmp }));
            this.code[split]!.b = this.code.length;
          } else this.node(alt);
        });
        for (const j of jumps) this.code[j]!.a = this.code.length;
        return;
      }
      case 'group':
        if (node.index === null) {
          this.node(node.body);
          return;
        }
        this.emit({ op: Op.Save, reg: node.index * 2 });
        this.node(node.body);
        this.emit({ op: Op.Save, reg: node.index * 2 + 1 });
        return;
      case 'bol':
        this.emit({ op: Op.Bol });
        return;
      case 'eol':
        this.emit({ op: Op.Eol });
        return;
      case 'wordb':
        this.emit({ op: Op.WordB, negated: node.negated });
        return;
      case 'backref':
        this.emit({ op: Op.BackRef, reg: node.index as number });
        return;
      case 'look': {
        const width = node.ahead ? 0 : fixedWidth(node.body);
        if (width === null) throw new Unsupported('variable-width lookbehind');
        const look = this.emit({ op: Op.Look, ahead: node.ahead, negated: node.negated, width });
        const start = this.code.length;
        this.node(node.body);
        this.emit({ op: Op.Match });
        this.code[look]!.a = start;
        this.code[look]!.b = this.code.length;
        return;
      }
      case 'repeat':
        this.repeat(node);
        return;
    }
  }

  repeat(node: Extract<Node, { t: 'repeat' }>): void {
    const inner = groupsIn(node.body);
    const clear = (): void => {
      if (inner.length > 0)
        this.emit({ op: Op.Clear, reg: Math.min(...inner) * 2, last: Math.max(...inner) * 2 + 1 });
    };
    for (let i = 0; i < node.min; i++) {
      clear();
      this.node(node.body);
    }
    if (node.max === node.min) return;
    const split = (): number => this.emit({ op: Op.Split });
    const setTargets = (at: number, body: number, exit: number): void => {
      const instr = this.code[at]!;
      instr.a = node.greedy ? body : exit;
      instr.b = node.greedy ? exit : body;
    };
    if (node.max === Infinity) {
      const reg = this.registers++;
      const top = split();
      const body = this.code.length;
      this.emit({ op: Op.Mark, reg });
      clear();
      this.node(node.body);
      this.emit({ op: Op.Check, reg });
      this.emit({ op: Op.Jmp, a: top });
      setTargets(top, body, this.code.length);
      return;
    }
    const pending: number[] = [];
    for (let i = node.min; i < node.max; i++) {
      const reg = this.registers++;
      const at = split();
      pending.push(at);
      this.emit({ op: Op.Mark, reg });
      clear();
      this.node(node.body);
      this.emit({ op: Op.Check, reg });
    }
    const exit = this.code.length;
    for (const at of pending) setTargets(at, at + 1, exit);
  }
}

const programs = new Map<string, Program>();
const programOf = new WeakMap<RegExp, Program>();

function programFor(re: RegExp): Program {
  let program = programOf.get(re);
  if (!program) {
    program = compile(re.source, re.flags);
    programOf.set(re, program);
  }
  return program;
}

function compile(source: string, flags: string): Program {
  const key = `${flags}/${source}`;
  const cached = programs.get(key);
  if (cached) return cached;
  const parser = new Parser(source, flags);
  const ast = parser.parse();
  const compiler = new Compiler(parser.groupCount);
  compiler.emit({ op: Op.Save, reg: 0 });
  compiler.node(ast);
  compiler.emit({ op: Op.Save, reg: 1 });
  compiler.emit({ op: Op.Match });
  // Resolve named backreferences now that every group is known.
  for (const instr of compiler.code) {
    if (instr.op === Op.BackRef && typeof instr.reg !== 'number')
      instr.reg = parser.names.get(String(instr.reg)) ?? 0;
  }
  const multiline = flags.includes('m');
  const first = ast.t === 'seq' ? ast.items[0] : ast;
  const program: Program = {
    code: compiler.code,
    groups: parser.groupCount,
    registers: compiler.registers,
    names: parser.names,
    anchored: first?.t === 'bol' && !multiline,
    multiline,
    ignoreCase: flags.includes('i'),
    unicode: parser.unicode,
    regs: new Array<number>(compiler.registers).fill(-1),
    undo: [],
    choices: [],
  };
  programs.set(key, program);
  return program;
}

// ---------------------------------------------------------------------------------------------
// Execution

export class RegexWorkBudgetExceeded extends Error {
  constructor(readonly budget: number) {
    super(`regex work exceeded the budget of ${budget} steps`);
    this.name = 'RegexWorkBudgetExceeded';
  }
}

interface Meter {
  steps: number;
  calls: number;
  budget: number;
  exceeded: boolean;
  /** The most expensive single exec: its pattern and step count. */
  worst: { source: string; steps: number };
}

let meter: Meter | null = null;

function tick(m: Meter, n: number): void {
  m.steps += n;
  if (m.steps > m.budget) {
    m.exceeded = true;
    throw new RegexWorkBudgetExceeded(m.budget);
  }
}

/** Runs the program from `pc` at `start`; returns the end position or -1. Registers are shared. */
function run(p: Program, input: string, pcStart: number, start: number, depth: number, m: Meter): number {
  const code = p.code;
  const regs = p.regs;
  const undo = p.undo;
  // Choice points: [pc, pos, undo length] triples; one reused stack per lookaround depth.
  const choices = (p.choices[depth] ??= []);
  choices.length = 0;
  let pc = pcStart;
  let pos = start;
  const len = input.length;
  let local = 0;
  for (;;) {
    if (++local >= 4096) {
      tick(m, local);
      local = 0;
    }
    const instr = code[pc]!;
    let ok = true;
    switch (instr.op) {
      case Op.Char: {
        if (pos >= len) {
          ok = false;
          break;
        }
        const cp = p.unicode ? input.codePointAt(pos)! : input.charCodeAt(pos);
        if (instr.pred!(cp)) {
          pos += cp > 0xffff ? 2 : 1;
          pc++;
        } else ok = false;
        break;
      }
      case Op.Split:
        choices.push(instr.b!, pos, undo.length);
        pc = instr.a!;
        break;
      case Op.Jmp:
        pc = instr.a!;
        break;
      case Op.Save:
      case Op.Mark:
        undo.push(instr.reg!, regs[instr.reg!]!);
        regs[instr.reg!] = pos;
        pc++;
        break;
      case Op.Check:
        if (regs[instr.reg!] === pos) ok = false;
        else pc++;
        break;
      case Op.Clear:
        for (let r = instr.reg!; r <= instr.last!; r++) {
          undo.push(r, regs[r]!);
          regs[r] = -1;
        }
        pc++;
        break;
      case Op.Bol:
        if (pos === 0 || (p.multiline && isLineTerminator(input.charCodeAt(pos - 1)))) pc++;
        else ok = false;
        break;
      case Op.Eol:
        if (pos === len || (p.multiline && isLineTerminator(input.charCodeAt(pos)))) pc++;
        else ok = false;
        break;
      case Op.WordB: {
        const before = pos > 0 && isWord(input.charCodeAt(pos - 1));
        const after = pos < len && isWord(input.charCodeAt(pos));
        if ((before !== after) !== instr.negated) pc++;
        else ok = false;
        break;
      }
      case Op.Look: {
        const from = instr.ahead ? pos : pos - instr.width!;
        const mark = undo.length;
        let matched = false;
        if (from >= 0) {
          tick(m, local);
          local = 0;
          const end = run(p, input, instr.a!, from, depth + 1, m);
          matched = end >= 0 && (instr.ahead || end === pos);
        }
        if (matched === !instr.negated) {
          if (instr.negated) revert(regs, undo, mark);
          pc = instr.b!;
        } else {
          revert(regs, undo, mark);
          ok = false;
        }
        break;
      }
      case Op.BackRef: {
        const s = regs[instr.reg! * 2]!;
        const e = regs[instr.reg! * 2 + 1]!;
        if (s < 0 || e < 0) {
          pc++;
          break;
        }
        const n = e - s;
        local += n;
        if (pos + n > len) {
          ok = false;
          break;
        }
        for (let i = 0; i < n && ok; i++) {
          const x = input.charCodeAt(s + i);
          const y = input.charCodeAt(pos + i);
          if (x !== y && !(p.ignoreCase && (lower(x) === lower(y) || upper(x) === upper(y)))) ok = false;
        }
        if (ok) {
          pos += n;
          pc++;
        }
        break;
      }
      case Op.Match:
        tick(m, local);
        return pos;
    }
    if (!ok) {
      if (choices.length === 0) {
        tick(m, local);
        return -1;
      }
      local++;
      const mark = choices.pop()!;
      pos = choices.pop()!;
      pc = choices.pop()!;
      revert(regs, undo, mark);
    }
  }
}

function revert(regs: number[], undo: number[], mark: number): void {
  while (undo.length > mark) {
    const old = undo.pop()!;
    const reg = undo.pop()!;
    regs[reg] = old;
  }
}

/** Matches `re` against `input` like RegExp.prototype.exec, counting the work. */
export function countedExec(re: RegExp, input: string, m: Meter): RegExpExecArray | null {
  m.calls++;
  const before = m.steps;
  const p = programFor(re);
  const global = re.global || re.sticky;
  const lastIndex = global ? Math.max(0, Math.min(Number(re.lastIndex) || 0, Infinity)) : 0;
  if (lastIndex > input.length) {
    if (global) re.lastIndex = 0;
    return null;
  }
  const regs = p.regs;
  const undo = p.undo;
  const lastStart = re.sticky || p.anchored ? lastIndex : input.length;
  let found = -1;
  regs.fill(-1);
  undo.length = 0;
  for (let start = lastIndex; start <= lastStart; start++) {
    tick(m, 1);
    if (run(p, input, 0, start, 0, m) >= 0) {
      found = start;
      break;
    }
    // A failed attempt leaves the registers it set on the undo log: take them all back.
    revert(regs, undo, 0);
    if (p.anchored) break;
  }
  const spent = m.steps - before;
  if (spent > m.worst.steps) m.worst = { source: re.source, steps: spent };
  if (found < 0) {
    if (global) re.lastIndex = 0;
    return null;
  }
  const result: string[] = [];
  for (let g = 0; g <= p.groups; g++) {
    const s = regs[g * 2]!;
    const e = regs[g * 2 + 1]!;
    result.push(s >= 0 && e >= 0 ? input.slice(s, e) : (undefined as unknown as string));
  }
  const array = result as unknown as RegExpExecArray;
  array.index = regs[0]!;
  array.input = input;
  if (p.names.size > 0) {
    const groups: Record<string, string | undefined> = Object.create(null) as Record<string, string>;
    for (const [name, index] of p.names) groups[name] = result[index];
    array.groups = groups as Record<string, string>;
  } else array.groups = undefined;
  if (global) re.lastIndex = regs[1]!;
  return array;
}

export interface RegexWork<T> {
  result: T;
  /** Matcher steps: instructions executed plus backtracks, summed over every exec. */
  steps: number;
  /** How many times a regex was executed. */
  calls: number;
  /** The single most expensive exec. */
  worst: { source: string; steps: number };
}

const nativeExec = RegExp.prototype.exec;

/**
 * Runs `fn` (sync or async) with every regex execution counted. Throws RegexWorkBudgetExceeded
 * once the work passes `budget` steps, so a quadratic parser fails fast instead of hanging.
 * Not re-entrant; the native exec is back in place when the returned promise settles.
 */
export async function measureRegexWork<T>(
  fn: () => T | Promise<T>,
  budget = 200_000_000,
): Promise<RegexWork<Awaited<T>>> {
  if (meter !== null) throw new Error('measureRegexWork is not re-entrant');
  const m: Meter = { steps: 0, calls: 0, budget, exceeded: false, worst: { source: '', steps: 0 } };
  meter = m;
  RegExp.prototype.exec = function exec(this: RegExp, input: string) {
    return countedExec(this, String(input), m);
  };
  try {
    const result = await fn();
    if (m.exceeded) throw new RegexWorkBudgetExceeded(budget);
    return { result, steps: m.steps, calls: m.calls, worst: m.worst };
  } finally {
    RegExp.prototype.exec = nativeExec;
    meter = null;
  }
}

/** The same matcher outside measureRegexWork, for checking it against V8 itself. */
export function execCounting(re: RegExp, input: string): { match: RegExpExecArray | null; steps: number } {
  const m: Meter = {
    steps: 0,
    calls: 0,
    budget: Number.MAX_SAFE_INTEGER,
    exceeded: false,
    worst: { source: '', steps: 0 },
  };
  const match = countedExec(re, input, m);
  return { match, steps: m.steps };
}
