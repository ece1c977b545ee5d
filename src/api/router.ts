import { ZodError } from 'zod';
import { isPatchdeckError, PatchdeckError } from '../util';
import { calls, isMethod, type CallResult, type Envelope, type Method, type ParsedArgs } from './contract';

export interface CallContext {
  /** Which carrier the call came through, for the audit log and app.info. */
  carrier: 'electron' | 'browser' | 'cli' | 'test';
}

export type Handlers = {
  [M in Method]: (args: ParsedArgs<M>, ctx: CallContext) => Promise<CallResult<M>> | CallResult<M>;
};

export interface Router {
  call(method: unknown, args: unknown, ctx: CallContext): Promise<Envelope>;
}

function describeZodError(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'arguments'}: ${issue.message}`)
    .join('; ');
}

/** The same issues as data, so a form can mark its fields: bounded like the sentence. */
function zodErrorDetails(error: ZodError): { issues: { path: (string | number)[]; message: string }[] } {
  return {
    issues: error.issues.slice(0, 5).map((issue) => ({
      path: issue.path.slice(0, 16).map((key) => (typeof key === 'number' ? key : String(key).slice(0, 80))),
      message: issue.message.slice(0, 500),
    })),
  };
}

/** Most a PatchdeckError's details may weigh as JSON; bigger ones are left off, not cut. */
const MAX_DETAILS_JSON = 16 * 1024;

/** A PatchdeckError's details as plain JSON that every carrier can hold, or undefined. */
function plainDetails(details: unknown): unknown {
  if (details === undefined) return undefined;
  try {
    const json = JSON.stringify(details);
    return json !== undefined && json.length <= MAX_DETAILS_JSON ? (JSON.parse(json) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Validates the method name and arguments, runs the handler, validates the result (which also
 * strips any field the contract does not declare), and turns every failure into an envelope.
 */
export function createRouter(
  handlers: Handlers,
  options: { onInternalError?: (error: unknown) => void } = {},
): Router {
  return {
    async call(method, rawArgs, ctx) {
      if (!isMethod(method)) {
        const shown = typeof method === 'string' ? method.slice(0, 80) : typeof method;
        return { ok: false, error: { code: 'unknown-method', message: `Unknown method: ${shown}.` } };
      }
      const spec = calls[method];
      const parsed = spec.args.safeParse(rawArgs ?? {});
      if (!parsed.success) {
        return {
          ok: false,
          error: {
            code: 'bad-request',
            message: `Invalid arguments for ${method}: ${describeZodError(parsed.error)}`,
            details: zodErrorDetails(parsed.error),
          },
        };
      }
      try {
        const handler = handlers[method] as (args: unknown, ctx: CallContext) => unknown;
        const value = await handler(parsed.data, ctx);
        const checked = spec.result.safeParse(value);
        if (!checked.success) {
          options.onInternalError?.(checked.error);
          return {
            ok: false,
            error: { code: 'internal', message: `${method} produced a result outside its contract.` },
          };
        }
        return { ok: true, value: checked.data };
      } catch (error) {
        if (isPatchdeckError(error)) {
          const details = plainDetails(error.details);
          return {
            ok: false,
            error:
              details === undefined
                ? { code: error.code, message: error.message }
                : { code: error.code, message: error.message, details },
          };
        }
        if (error instanceof ZodError) {
          return {
            ok: false,
            error: { code: 'bad-request', message: describeZodError(error), details: zodErrorDetails(error) },
          };
        }
        options.onInternalError?.(error);
        return { ok: false, error: { code: 'internal', message: `${method} failed unexpectedly.` } };
      }
    },
  };
}

export { PatchdeckError };
