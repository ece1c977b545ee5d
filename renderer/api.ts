import type {
  CallArgs,
  CallResult,
  Envelope,
  EventName,
  EventPayload,
  Method,
  PatchdeckApi,
  PatchdeckBridge,
} from '../src/api/contract';

/**
 * `api` is the only way the renderer talks to the core. In Electron the preload provides
 * `window.patchdeck`; in a browser (`patchdeck serve`, end-to-end tests) the same shape is
 * built here over the loopback WebSocket. Pages never know which carrier they run on.
 */
declare global {
  interface Window {
    patchdeck?: PatchdeckBridge;
  }
}

/** A failed call, as both carriers deliver it: `{ code, message, details }` taken as data. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The envelope's value, or its error as an ApiError; anything else is not an envelope. */
function unwrap(envelope: unknown): unknown {
  const answer = envelope as Envelope | null;
  if (answer?.ok === true) return answer.value;
  if (answer?.ok === false && typeof answer.error?.code === 'string')
    throw new ApiError(answer.error.code, String(answer.error.message ?? ''), answer.error.details);
  throw new ApiError('internal', 'Patchdeck answered something that is not an answer.');
}

type Listener = (payload: unknown) => void;

const TOKEN_KEY = 'patchdeck.token';

/**
 * The per-launch token of the browser carrier. It arrives in the launch URL's fragment — `#token=`,
 * or `#code=` (a single-use code from `serve --open`, traded once for the token) — which no server
 * ever receives, and leaves the address bar at once. It is kept in sessionStorage, which only this
 * origin (port included) reads, and sent only on this origin's WebSocket. Never a cookie: cookies
 * for 127.0.0.1 go to every port on it.
 */
const LAUNCH_HASH = /^#(token|code)=([A-Za-z0-9_-]{1,128})$/;

/** Told to someone whose page holds the token of an earlier `patchdeck serve`. */
export const RESTARTED_MESSAGE =
  'Patchdeck was restarted since this page was opened, so the page’s token no longer works. Open the new address that `patchdeck serve` printed when it started.';

/** What the page knows about its link to Patchdeck; `message` says what is wrong, in words. */
export interface ConnectionState {
  connected: boolean;
  message?: string;
}

function launchToken(): Promise<string> {
  const match = LAUNCH_HASH.exec(window.location.hash);
  if (match) window.history.replaceState(null, '', window.location.pathname + window.location.search);
  if (match?.[1] === 'token') window.sessionStorage.setItem(TOKEN_KEY, match[2]!);
  const stored = (): string => {
    const token = window.sessionStorage.getItem(TOKEN_KEY);
    if (!token)
      throw new ApiError(
        'forbidden',
        'This page holds no token: open the URL that `patchdeck serve` printed.',
      );
    return token;
  };
  if (match?.[1] !== 'code') return Promise.resolve().then(stored);
  return (async () => {
    const response = await fetch('/api/launch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: match[2] }),
    });
    const envelope = (await response.json()) as Envelope<{ token: string }>;
    if (envelope.ok) {
      window.sessionStorage.setItem(TOKEN_KEY, envelope.value.token);
      return envelope.value.token;
    }
    // A spent code in a tab that already holds the token (a second look at the same link) is fine.
    if (window.sessionStorage.getItem(TOKEN_KEY)) return stored();
    throw new ApiError(envelope.error.code, envelope.error.message, envelope.error.details);
  })();
}

/**
 * True when the carrier answers this token with 401: it belongs to an earlier launch (each start
 * of `patchdeck serve` makes a new one). False when it works, or when nothing answers at all.
 */
async function tokenIsStale(secret: string): Promise<boolean> {
  try {
    const response = await fetch('/api/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ method: 'app.info', args: {} }),
    });
    return response.status === 401;
  } catch {
    return false;
  }
}

/** The browser carrier's token once createBrowserApi asked for it; null in the desktop app. */
let browserToken: Promise<string> | null = null;

/**
 * Browser mode: streams one file to the carrier's upload route (an API call holds at most 1 MiB;
 * a file may be gigabytes) and answers the id a call names it by. The browser reads the file from
 * disk as it sends it. Fails with an ApiError saying why, in words.
 */
export async function uploadFile(file: File): Promise<{ uploadId: string; name: string; bytes: number }> {
  if (!browserToken)
    throw new ApiError('unavailable', 'Uploads are for the browser; the desktop app reads files itself.');
  const secret = await browserToken;
  let response: Response;
  try {
    response = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream' },
      body: file,
    });
  } catch {
    throw new ApiError(
      'unavailable',
      `${file.name} could not be sent: the connection to Patchdeck broke off.`,
    );
  }
  let envelope: unknown;
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(
      'internal',
      `Patchdeck answered the upload of ${file.name} with HTTP ${response.status}.`,
    );
  }
  return unwrap(envelope) as { uploadId: string; name: string; bytes: number };
}

const connectionListeners = new Set<(state: ConnectionState) => void>();

/** Hears when the browser carrier's connection drops, comes back, or is refused for good. */
export function onConnectionChange(listener: (state: ConnectionState) => void): () => void {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}

function createBrowserApi(): PatchdeckApi {
  // The new address after a restart on the same port differs from this page's only in its
  // fragment, so opening it in this tab loads nothing: load the page again to take its token.
  window.addEventListener('hashchange', () => {
    if (LAUNCH_HASH.test(window.location.hash)) window.location.reload();
  });
  const token = launchToken();
  browserToken = token;
  const listeners = new Map<string, Set<Listener>>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let ready: Promise<WebSocket> | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  const announce = (state: ConnectionState): void => {
    for (const listener of connectionListeners) listener(state);
    for (const listener of listeners.get('$connection') ?? []) listener(state);
  };
  const scheduleReconnect = (): void => {
    if (reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect().catch(() => undefined);
    }, 1000);
  };

  const connect = (): Promise<WebSocket> => {
    if (ready) return ready;
    ready = token.then(open);
    return ready;
  };
  const open = (secret: string): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const url = new URL('/api/ws', window.location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      // Browsers cannot set headers on a WebSocket: the token rides as a subprotocol.
      const ws = new WebSocket(url, ['patchdeck', `patchdeck.token.${secret}`]);
      let opened = false;
      ws.onopen = () => {
        opened = true;
        socket = ws;
        announce({ connected: true });
        resolve(ws);
      };
      ws.onclose = () => {
        socket = null;
        ready = null;
        for (const entry of pending.values())
          entry.reject(new ApiError('unavailable', 'The connection to Patchdeck closed.'));
        pending.clear();
        if (opened) {
          announce({ connected: false, message: 'The connection to Patchdeck closed. Reconnecting…' });
          scheduleReconnect();
          return;
        }
        // A browser hides why a handshake failed: ask over HTTP whether the token is refused.
        void tokenIsStale(secret).then((stale) => {
          const error = stale
            ? new ApiError('forbidden', RESTARTED_MESSAGE)
            : new ApiError('unavailable', 'Cannot reach Patchdeck. Is `patchdeck serve` still running?');
          reject(error);
          announce({ connected: false, message: error.message });
          // Nothing but the new address will make a stale token work again: stop knocking.
          if (!stale) scheduleReconnect();
        });
      };
      ws.onmessage = (message) => {
        const data = JSON.parse(String(message.data)) as
          ({ type: 'result'; id: number } & Envelope) | { type: 'event'; event: string; payload: unknown };
        if (data.type === 'event') {
          for (const listener of listeners.get(data.event) ?? []) listener(data.payload);
          return;
        }
        if (data.type !== 'result') return;
        const entry = pending.get(data.id);
        if (!entry) return;
        pending.delete(data.id);
        try {
          entry.resolve(unwrap(data));
        } catch (error) {
          entry.reject(error as Error);
        }
      };
    });

  const invoke = async (method: string, args: unknown): Promise<unknown> => {
    const ws = socket ?? (await connect());
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, args: args ?? {} }));
    });
  };

  void connect().catch(() => undefined);
  return new Proxy({} as PatchdeckApi, {
    get(_target, namespace: string) {
      if (namespace === 'on') {
        return (event: string, listener: Listener) => {
          if (!listeners.has(event)) listeners.set(event, new Set());
          listeners.get(event)!.add(listener);
          return () => listeners.get(event)?.delete(listener);
        };
      }
      return new Proxy(
        {},
        { get: (_t, name: string) => (args?: unknown) => invoke(`${namespace}.${name}`, args) },
      );
    },
  });
}

/**
 * The Electron preload resolves every call with its envelope (plain data crosses contextBridge
 * whole): unwrap it the way the browser carrier does, so pages see the same values and ApiErrors
 * (code, message and details) on both carriers.
 */
function fromBridge(bridge: PatchdeckBridge): PatchdeckApi {
  return new Proxy(bridge, {
    get(target, namespace: string) {
      const value = (target as unknown as Record<string, unknown>)[namespace];
      if (namespace === 'on' || typeof value !== 'object' || value === null) return value;
      return new Proxy(value, {
        get: (ns, name: string) => async (args?: unknown) =>
          unwrap(await (ns as Record<string, (a: unknown) => Promise<unknown>>)[name]!(args)),
      });
    },
  }) as unknown as PatchdeckApi;
}

export const api: PatchdeckApi = window.patchdeck ? fromBridge(window.patchdeck) : createBrowserApi();

/** Typed helper for code that has a method name in hand (stores use `api.ns.fn` directly). */
export async function call<M extends Method>(method: M, args: CallArgs<M>): Promise<CallResult<M>> {
  const [ns, fn] = method.split('.') as [string, string];
  const target = (api as unknown as Record<string, Record<string, (a: unknown) => Promise<unknown>>>)[ns]![
    fn
  ]!;
  return target(args) as Promise<CallResult<M>>;
}

export function onEvent<E extends EventName>(
  event: E,
  listener: (payload: EventPayload<E>) => void,
): () => void {
  return api.on(event, listener);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
