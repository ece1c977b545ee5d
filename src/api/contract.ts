import { z } from 'zod';
import { AppInfo, EntityName, Host, HostUpdate, Id, Settings, Task, WorkspaceInfo } from './schemas';

/**
 * The one API contract. Every call the UI can make, with zod schemas for its arguments and
 * result, and every event it can receive. The Electron preload and the browser carrier are
 * two thin carriers of this contract; the router in ./router.ts is the only dispatcher.
 *
 * Argument objects are strict: an unknown key is a bad request, not something ignored.
 */
const call = <A extends z.ZodType, R extends z.ZodType>(args: A, result: R) => ({ args, result });
const none = z.object({}).strict();
const byId = z.object({ id: Id }).strict();

export const calls = {
  'app.info': call(none, AppInfo),

  'workspace.create': call(z.object({ path: z.string().trim().min(1).max(4096) }).strict(), WorkspaceInfo),
  'workspace.open': call(z.object({ path: z.string().trim().min(1).max(4096) }).strict(), WorkspaceInfo),
  'workspace.current': call(none, WorkspaceInfo.nullable()),

  'hosts.list': call(z.object({ inventoryOnly: z.boolean().optional() }).strict(), z.array(Host)),
  'hosts.get': call(byId, Host),
  'hosts.update': call(z.object({ id: Id, patch: HostUpdate }).strict(), Host),
  'hosts.remove': call(byId, z.object({ removed: z.boolean() })),

  'settings.get': call(none, Settings),
  'settings.set': call(z.object({ patch: Settings.partial().strict() }).strict(), Settings),

  'tasks.list': call(z.object({ active: z.boolean().optional() }).strict(), z.array(Task)),
  'tasks.cancel': call(byId, z.object({ cancelled: z.boolean() })),
} as const;

export const events = {
  /** A task started, progressed or finished. */
  'task.changed': Task,
  /** Rows of an entity changed; the UI refetches what it shows. */
  'entity.changed': z.object({ entity: EntityName, ids: z.array(z.number().int()).optional() }),
} as const;

export type Calls = typeof calls;
export type Method = keyof Calls;
export type CallArgs<M extends Method> = z.input<Calls[M]['args']>;
export type ParsedArgs<M extends Method> = z.output<Calls[M]['args']>;
export type CallResult<M extends Method> = z.output<Calls[M]['result']>;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export interface ApiErrorShape {
  code: string;
  message: string;
}
/** What crosses a carrier for each call: a value or an error, never a thrown class instance. */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: ApiErrorShape };

type Namespace = Method extends `${infer NS}.${string}` ? NS : never;
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "every key optional" test
type ArgsParam<M extends Method> = {} extends CallArgs<M> ? [args?: CallArgs<M>] : [args: CallArgs<M>];

/** The shape of `window.patchdeck`: `api.hosts.list()`, `api.on('task.changed', cb)`. */
export type PatchdeckApi = {
  [NS in Namespace]: {
    [M in Method as M extends `${NS}.${infer F}` ? F : never]: (
      ...args: ArgsParam<M>
    ) => Promise<CallResult<M>>;
  };
} & {
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

export const methodNames = Object.keys(calls) as Method[];
export const eventNames = Object.keys(events) as EventName[];

export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(calls, value);
}
export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(events, value);
}
