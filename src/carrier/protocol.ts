import { z } from 'zod';
import type { ApiErrorShape, CallContext, Envelope, schemas } from '../api';
import type { FileDialogOptions } from '../platform';

/**
 * The messages between the process that serves the windows ("main") and the process that runs
 * the core ("core"), over one ordered, structured-clone channel: an Electron MessagePort to a
 * utilityProcess in the desktop app, the IPC channel of `child_process.fork` under Node. Main
 * sends contract calls and answers Platform requests; the core sends results, contract events
 * and Platform requests. Every message is checked on arrival (size first, then shape): neither
 * side trusts the other's bytes to be well-formed.
 */

/** One side's end of the channel. */
export interface Channel {
  send(message: ToCore | ToMain): void;
  /** Every message that arrives, unchecked. */
  onMessage(listener: (message: unknown) => void): void;
  /** The other side went away (its process ended, or the port closed); `reason` says how. */
  onClose(listener: (reason: string) => void): void;
  close(): void;
}

export type Carrier = CallContext['carrier'];

/** What main tells the core about its Platform: the facts a synchronous getter needs. */
export interface PlatformFacts {
  kind: 'electron' | 'node';
  secretsBackend: string;
  /** Whether main can show OS notifications (else the core hands them to the page). */
  notify: boolean;
}

export type PlatformRequest =
  | { op: 'secrets.seal'; plaintext: string }
  | { op: 'secrets.open'; ciphertext: Uint8Array }
  | { op: 'openExternal'; url: string }
  | { op: 'chooseFileToOpen'; options: FileDialogOptions }
  | { op: 'chooseFileToSave'; options: FileDialogOptions }
  | { op: 'printToPdf'; html: string }
  | { op: 'notify'; notification: { title: string; body: string; tone: 'ok' | 'danger' | 'warn' } };

export type ToCore =
  | {
      t: 'start';
      carrier: Carrier;
      platform: PlatformFacts;
      workspace: { path: string; create: 'never' | 'if-missing' | 'always' } | null;
      runScheduledJobs?: boolean;
    }
  | { t: 'call'; id: number; method: string; args: unknown; carrier: Carrier }
  | { t: 'platform.answer'; id: number; ok: true; value: unknown }
  | { t: 'platform.answer'; id: number; ok: false; error: ApiErrorShape }
  | { t: 'stop' };

export type ToMain =
  | { t: 'started'; workspace: schemas.WorkspaceInfo | null }
  | { t: 'start.failed'; error: ApiErrorShape }
  | { t: 'result'; id: number; envelope: Envelope }
  | { t: 'event'; event: string; payload: unknown }
  | { t: 'platform'; id: number; request: PlatformRequest }
  | { t: 'stopped' };

/**
 * The most one message may weigh, in the units `weighs` counts (about bytes). The largest
 * honest message is a report's HTML on its way to printToPdf, or the PDF coming back.
 */
export const MAX_MESSAGE_UNITS = 64 * 1024 * 1024;
/** Nesting deeper than this is no message of ours. */
const MAX_DEPTH = 64;

/**
 * Whether `value` fits in `budget`: strings by length, byte arrays by size, everything else a
 * few units each. Stops as soon as the budget is spent, so a hostile message costs at most
 * `budget` steps, however large it is.
 */
export function fitsBudget(value: unknown, budget: number = MAX_MESSAGE_UNITS): boolean {
  let left = budget;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) return false;
    if (typeof item === 'string') left -= item.length + 1;
    else if (ArrayBuffer.isView(item)) left -= item.byteLength + 1;
    else if (item instanceof ArrayBuffer) left -= item.byteLength + 1;
    else if (typeof item === 'object' && item !== null) {
      left -= 8;
      if (Array.isArray(item)) {
        left -= item.length;
        if (left < 0) return false;
        for (const element of item) stack.push([element, depth + 1]);
      } else {
        for (const key of Object.keys(item)) {
          left -= key.length + 1;
          if (left < 0) return false;
          stack.push([(item as Record<string, unknown>)[key], depth + 1]);
        }
      }
    } else left -= 8;
    if (left < 0) return false;
  }
  return true;
}

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const CarrierName = z.enum(['electron', 'browser', 'cli', 'test']);
const ErrorShape = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(64 * 1024),
  details: z.unknown().optional(),
});
const Bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'bytes');
const DialogOptions = z
  .object({
    title: z.string().max(500).optional(),
    defaultPath: z.string().max(4096).optional(),
    filters: z
      .array(z.object({ name: z.string().max(200), extensions: z.array(z.string().max(32)).max(50) }))
      .max(50)
      .optional(),
  })
  .strict();

const PlatformRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('secrets.seal'), plaintext: z.string().max(1024 * 1024) }).strict(),
  z.object({ op: z.literal('secrets.open'), ciphertext: Bytes }).strict(),
  z.object({ op: z.literal('openExternal'), url: z.string().max(8192) }).strict(),
  z.object({ op: z.literal('chooseFileToOpen'), options: DialogOptions }).strict(),
  z.object({ op: z.literal('chooseFileToSave'), options: DialogOptions }).strict(),
  z.object({ op: z.literal('printToPdf'), html: z.string().max(MAX_MESSAGE_UNITS - 1024) }).strict(),
  z
    .object({
      op: z.literal('notify'),
      notification: z
        .object({
          title: z.string().max(1000),
          body: z.string().max(8000),
          tone: z.enum(['ok', 'danger', 'warn']),
        })
        .strict(),
    })
    .strict(),
]);

const ToCoreSchema = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('start'),
      carrier: CarrierName,
      platform: z
        .object({
          kind: z.enum(['electron', 'node']),
          secretsBackend: z.string().max(500),
          notify: z.boolean(),
        })
        .strict(),
      workspace: z
        .object({ path: z.string().min(1).max(4096), create: z.enum(['never', 'if-missing', 'always']) })
        .strict()
        .nullable(),
      runScheduledJobs: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      t: z.literal('call'),
      id: Id,
      method: z.string().max(200),
      args: z.unknown(),
      carrier: CarrierName,
    })
    .strict(),
  z
    .object({
      t: z.literal('platform.answer'),
      id: Id,
      ok: z.boolean(),
      value: z.unknown().optional(),
      error: ErrorShape.optional(),
    })
    .strict()
    .refine((answer) => answer.ok === (answer.error === undefined), 'a failed answer has an error'),
  z.object({ t: z.literal('stop') }).strict(),
]);

const ToMainSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('started'), workspace: z.unknown() }).strict(),
  z.object({ t: z.literal('start.failed'), error: ErrorShape }).strict(),
  z
    .object({
      t: z.literal('result'),
      id: Id,
      envelope: z.union([
        z.object({ ok: z.literal(true), value: z.unknown() }).strict(),
        z.object({ ok: z.literal(false), error: ErrorShape }).strict(),
      ]),
    })
    .strict(),
  z.object({ t: z.literal('event'), event: z.string().max(100), payload: z.unknown() }).strict(),
  z.object({ t: z.literal('platform'), id: Id, request: PlatformRequestSchema }).strict(),
  z.object({ t: z.literal('stopped') }).strict(),
]);

/** A message that fails its checks: `why` is for the log, never shown with the message's bytes. */
export type Checked<T> = { ok: true; message: T } | { ok: false; why: string; id: number | null };

function check<T>(schema: z.ZodType, raw: unknown): Checked<T> {
  const id =
    typeof raw === 'object' && raw !== null && Number.isSafeInteger((raw as { id?: unknown }).id)
      ? ((raw as { id: number }).id as number)
      : null;
  if (!fitsBudget(raw)) return { ok: false, why: 'the message is too large', id };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      why: `malformed message (${issue?.path.join('.') || 'message'}: ${issue?.message})`,
      id,
    };
  }
  return { ok: true, message: parsed.data as T };
}

/** Checks a message arriving at the core. */
export const checkToCore = (raw: unknown): Checked<ToCore> => check<ToCore>(ToCoreSchema, raw);
/** Checks a message arriving at main. */
export const checkToMain = (raw: unknown): Checked<ToMain> => check<ToMain>(ToMainSchema, raw);

/** An error as data, from anything thrown (only a message, never a stack, crosses). */
export function errorShape(error: unknown, fallbackCode = 'internal'): ApiErrorShape {
  if (typeof error === 'object' && error !== null) {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    const shape: ApiErrorShape = {
      code: typeof code === 'string' && /^[a-z][a-z-]{0,40}$/.test(code) ? code : fallbackCode,
      message: typeof message === 'string' ? message.slice(0, 4000) : String(error).slice(0, 4000),
    };
    if (details !== undefined) {
      try {
        const json = JSON.stringify(details);
        if (json !== undefined && json.length <= 16 * 1024) shape.details = JSON.parse(json) as unknown;
      } catch {
        // Details that are not plain JSON stay behind.
      }
    }
    return shape;
  }
  return { code: fallbackCode, message: String(error).slice(0, 4000) };
}
