import { setMaxListeners } from 'node:events';
import { sanitizeText } from '../util';
import { compareAddresses } from './ip';
import { AdaptiveLimiter, type LimiterOptions } from './limiter';
import {
  cachedNeighbourReader,
  macVendor,
  readSystemNeighbours,
  type NeighbourEntry,
  type NeighbourReader,
} from './neighbours';
import { planArpFirst, resolveByArp, systemArpFirst, type ArpFirstSystem } from './onlink';
import { inferOs, managementChannel, type ManagementChannel, type OsGuess } from './os';
import { parsePorts, type PortPreset } from './ports';
import {
  CancelScope,
  DEFAULT_HANDSHAKES,
  connectPort,
  runHandshake,
  type ConnectHandle,
  type HandshakeKind,
  type PortResult,
  type ServiceInfo,
} from './tcp';
import { queryNetbios, type NetbiosInfo } from './netbios';
import { queryMdnsName } from './mdns-unicast';
import { systemPtrResolver, type PtrResolver } from './dns';
import { icmpAvailability, pingOnce, type PingResult } from './icmp';
import type { MdnsBrowser, MdnsHost } from './mdns';
import type { WsmanIdentity } from './wsman';

export type AliveReason = 'tcp-open' | 'tcp-closed' | 'icmp' | 'neighbour' | 'mdns';

export interface HostName {
  name: string;
  source: 'target' | 'ptr' | 'mdns' | 'netbios' | 'certificate';
}

export interface HostResult {
  address: string;
  /** Why we believe the host exists. */
  aliveBy: AliveReason[];
  /** Every probed port with its state, by port number. */
  ports: PortResult[];
  openPorts: number[];
  /** What open ports said during their protocol check. */
  services: ServiceInfo[];
  mac: string | null;
  macVendor: string | null;
  names: HostName[];
  netbios: NetbiosInfo | null;
  mdns: { services: string[]; model: string | null } | null;
  icmp: PingResult | null;
  os: OsGuess;
  management: ManagementChannel;
  /** Fastest answer (SYN-ACK, RST or echo reply) in ms. */
  rttMs: number | null;
  notes: string[];
  /** The SSH host key, when the sweep read it (SweepOptions.sshHostKey). */
  sshHostKey: (SshHostKeySeen & { port: number }) | null;
  /** WS-Man Identify replies of its WinRM listeners, when the sweep asked (SweepOptions.wsmanIdentify). */
  wsman?: { port: number; identity: WsmanIdentity }[];
}

export interface SweepProgress {
  /** Addresses whose probes are finished. */
  probed: number;
  total: number;
  /** Live hosts reported so far. */
  found: number;
}

export interface SweepOptions {
  /** Port list, preset name or "22,80,8000-8010". Default: the 'default' preset. */
  ports?: readonly number[] | PortPreset | string;
  /** Per-connect timeout; an address with no answer on any port by then is dead. Default 1000 ms. */
  connectTimeoutMs?: number;
  /**
   * Once a host answered (SYN-ACK or RST) in r ms, its still-silent ports only get
   * max(floorMs, rttFactor × r) more before they count as filtered. Default { floorMs: 300,
   * rttFactor: 10 }; false waits the full connect timeout everywhere.
   */
  adaptiveTimeout?: false | { floorMs?: number; rttFactor?: number };
  /**
   * Host discovery before the port scan, the way nmap does it as root on a local segment: targets
   * on a directly connected Ethernet segment are ARP-resolved first (the kernel asks, on one empty
   * UDP datagram each; src/discovery/onlink.ts) and only those that answered are port-scanned.
   * An address gets W = max(floorMs, rttFactor × the slowest ARP answer seen), capped at the
   * connect timeout, then one later chance of the same length (2W, 600 ms on a fast LAN); while
   * live hosts are still being probed anyway, up to the kernel's second ARP request plus W.
   * Defaults { floorMs: 300, rttFactor: 10 }, the adaptive timeout's rule. Targets behind a router, this machine's own
   * addresses and non-IPv4 targets are scanned as before; so is everything when the route or
   * neighbour table cannot be read, or when no on-link address answered at all. false: scan
   * every address (no host discovery). A `system` replaces the machine's tables (tests).
   */
  arpFirst?: false | { floorMs?: number; rttFactor?: number; system?: ArpFirstSystem };
  /** Protocol checks on open ports: true = DEFAULT_HANDSHAKES, a map port → kind, or false. */
  banners?: boolean | Readonly<Record<number, HandshakeKind>>;
  /** Whole-handshake deadline per open port (connect excluded). Default 2000 ms. */
  bannerTimeoutMs?: number;
  /** The one adaptive concurrency limit (initial 512, max 4096 or the fd limit). */
  concurrency?: LimiterOptions;
  /** MACs from the OS neighbour table. Default: read it (local, sends nothing); false to skip. */
  neighbours?: false | NeighbourReader;
  /** PTR lookups for live hosts. Default: system DNS servers; false to skip. */
  reverseDns?: false | PtrResolver;
  dnsTimeoutMs?: number;
  /**
   * NetBIOS node-status query (UDP 137). 'auto' (default): live hosts with 139 or 445 open;
   * 'all': every live host; false: never. A function replaces the UDP query (tests).
   */
  netbios?: false | 'auto' | 'all' | ((address: string, signal: AbortSignal) => Promise<NetbiosInfo | null>);
  netbiosTimeoutMs?: number;
  /**
   * ICMP echo through the system `ping`. false (default: it costs a process per address),
   * 'auto' (when this user may ping, see icmpAvailability), or a pinger (tests).
   */
  icmp?:
    | false
    | 'auto'
    | ((address: string, timeoutMs: number, signal: AbortSignal) => Promise<PingResult | null>);
  /**
   * mDNS/DNS-SD browse while the sweep runs. Default false (multicast on the LAN); pass a browser.
   * Discovery does not: it asks each live host by unicast instead (mdnsNames).
   */
  mdns?: false | MdnsBrowser;
  /**
   * The name each live host announces over mDNS, asked by unicast to that host's own UDP 5353
   * (queryMdnsName: nothing is multicast). 'all': every live host; false (default): never. A
   * function replaces the UDP query (tests).
   */
  mdnsNames?: false | 'all' | ((address: string, signal: AbortSignal) => Promise<string[]>);
  mdnsNamesTimeoutMs?: number;
  /** Names the targets came from (parseTargets().names), reported as source 'target'. */
  names?: { name: string; addresses: string[] }[];
  /**
   * Reads the SSH host key of a live host whose SSH check answered (a key exchange, no login),
   * so the admin can review and pin it from the scan's results. Default false.
   */
  sshHostKey?:
    false | ((address: string, port: number, signal: AbortSignal) => Promise<SshHostKeySeen | null>);
  /**
   * Asks each WinRM listener the check found (an HTTP.sys /wsman on 5985/5986) the unauthenticated
   * WS-Man Identify; its product and version become OS evidence. Default false.
   */
  wsmanIdentify?:
    | false
    | ((address: string, port: number, https: boolean, signal: AbortSignal) => Promise<WsmanIdentity | null>);
}

/** An SSH host key the sweep saw: no login was attempted. */
export interface SshHostKeySeen {
  type: string;
  fingerprint: string;
  /** base64 of the key blob. */
  publicKey: string;
}

export interface SweepCallbacks {
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress) => void;
  /** Each live host, once, as soon as its own probes are done. */
  onHost?: (host: HostResult) => void;
  /** A host already reported learned more (late mDNS answers). */
  onHostUpdate?: (host: HostResult) => void;
}

export interface SweepSummary {
  status: 'completed' | 'cancelled';
  /** Live hosts in address order. */
  hosts: HostResult[];
  durationMs: number;
  probed: number;
  total: number;
  ports: number[];
  notes: string[];
  stats: {
    connects: number;
    peakConcurrency: number;
    finalLimit: number;
    backoffs: number;
    /** ARP-first host discovery, when it ran: addresses asked, answered, and not port-scanned. */
    arp?: { asked: number; answered: number; skipped: number; windowMs: number; slowestMs: number | null };
  };
}

interface AddressState {
  address: string;
  index: number;
  ports: Map<number, PortResult>;
  services: ServiceInfo[];
  pending: number;
  handles: Set<ConnectHandle>;
  /** Timeout for this host's ports that have not started yet (adaptive). */
  fastTimeoutMs: number | null;
  minRtt: number | null;
  icmp: PingResult | null;
  icmpPending: boolean;
  done: boolean;
  /**
   * The SSH host-key read, started as soon as the first SSH banner of this address is seen, so
   * that it runs while the address's other ports are still being probed (not after them).
   */
  hostKey: Promise<HostResult['sshHostKey']> | null;
}

const nowMs = (): number => performance.now();

/**
 * Sweeps `addresses` (from parseTargets) and streams each live host as soon as it is known.
 * Every probe of every address runs under one adaptive concurrency limit; cancelling the
 * signal destroys open sockets and empties the queue, and the promise settles within a second
 * with status 'cancelled' and the hosts found so far. Never rejects for network errors.
 */
export async function sweep(
  addresses: readonly string[],
  options: SweepOptions = {},
  callbacks: SweepCallbacks = {},
): Promise<SweepSummary> {
  const started = nowMs();
  const ports = parsePorts(options.ports ?? 'default');
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const bannerTimeoutMs = options.bannerTimeoutMs ?? 2000;
  const adaptive =
    options.adaptiveTimeout === false
      ? null
      : {
          floorMs: options.adaptiveTimeout?.floorMs ?? 300,
          rttFactor: options.adaptiveTimeout?.rttFactor ?? 10,
        };
  const handshakes: Readonly<Record<number, HandshakeKind>> =
    options.banners === false
      ? {}
      : options.banners === true || options.banners === undefined
        ? DEFAULT_HANDSHAKES
        : options.banners;
  const limiter = new AdaptiveLimiter(options.concurrency);
  const notes: string[] = [];

  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const outer = callbacks.signal;
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;
  const scope = new CancelScope(signal);

  const neighbours =
    options.neighbours === false ? null : cachedNeighbourReader(options.neighbours ?? readSystemNeighbours);
  const ptr =
    options.reverseDns === false
      ? null
      : (options.reverseDns ?? systemPtrResolver(options.dnsTimeoutMs ?? 1500));
  const netbiosMode = options.netbios ?? 'auto';
  const netbiosTimeoutMs = options.netbiosTimeoutMs ?? 1000;
  const readHostKey = options.sshHostKey || null;
  const askIdentify = options.wsmanIdentify || null;
  const mdnsNameQuery =
    typeof options.mdnsNames === 'function'
      ? options.mdnsNames
      : options.mdnsNames === 'all'
        ? (a: string, s: AbortSignal) =>
            queryMdnsName(a, { timeoutMs: options.mdnsNamesTimeoutMs ?? 1000, signal: s })
        : null;
  let pinger: ((a: string, t: number, s: AbortSignal) => Promise<PingResult | null>) | null = null;
  if (typeof options.icmp === 'function') pinger = options.icmp;
  else if (options.icmp === 'auto') {
    const availability = await icmpAvailability();
    if (availability.available) pinger = pingOnce;
    else notes.push(`ICMP echo skipped: ${availability.reason}`);
  }
  const targetNames = new Map<string, string[]>();
  for (const { name, addresses: list } of options.names ?? []) {
    for (const a of list) targetNames.set(a, [...(targetNames.get(a) ?? []), name]);
  }

  const total = addresses.length;
  let probed = 0;
  let connects = 0;
  const found = new Map<string, HostResult>();
  const unanswered: AddressState[] = [];
  const enrichments = new Set<Promise<void>>();
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    resolveAll = r;
  });
  if (total === 0) resolveAll();
  let settled = false;
  const report = (): void => {
    if (settled) return;
    try {
      callbacks.onProgress?.({ probed, total, found: found.size });
    } catch {
      // Called from the probes' own promise chains: a throw there would be an unhandled
      // rejection and would skip finishAddress's bookkeeping, leaving the sweep waiting forever.
    }
  };

  // mDNS runs beside the sweep for at least its minimum window.
  let mdnsHosts: Promise<MdnsHost[]> = Promise.resolve([]);
  if (options.mdns) mdnsHosts = options.mdns(signal).catch(() => []);

  const emit = (host: HostResult): void => {
    found.set(host.address, host);
    try {
      callbacks.onHost?.(host);
    } catch {
      // A consumer's bug must not stop the sweep.
    }
  };

  const enrich = async (
    state: AddressState,
    aliveBy: AliveReason[],
    extra?: { mac?: NeighbourEntry },
  ): Promise<void> => {
    const openPorts = [...state.ports.values()]
      .filter((p) => p.state === 'open')
      .map((p) => p.port)
      .sort((a, b) => a - b);
    const names: HostName[] = (targetNames.get(state.address) ?? []).map((name) => ({
      name,
      source: 'target',
    }));
    const hostNotes: string[] = [];
    const tasks: Promise<unknown>[] = [];
    let mac: NeighbourEntry | undefined = extra?.mac;
    if (!mac && neighbours)
      tasks.push(
        neighbours().then((table) => {
          mac = table.find((e) => e.address === state.address);
        }),
      );
    if (ptr) {
      tasks.push(
        withSignal(ptr(state.address), signal).then(
          (list) => {
            for (const n of list ?? [])
              names.push({ name: sanitizeText(n.replace(/\.$/u, ''), { maxLength: 253 }), source: 'ptr' });
          },
          () => {},
        ),
      );
    }
    let netbios: NetbiosInfo | null = null;
    const wantsNetbios =
      netbiosMode === 'all' ||
      typeof netbiosMode === 'function' ||
      (netbiosMode === 'auto' && (openPorts.includes(139) || openPorts.includes(445)));
    if (netbiosMode !== false && wantsNetbios) {
      const query =
        typeof netbiosMode === 'function'
          ? netbiosMode
          : (a: string, s: AbortSignal) => queryNetbios(a, { timeoutMs: netbiosTimeoutMs, signal: s });
      tasks.push(
        limiter
          .acquire(signal)
          .then(async () => {
            try {
              netbios = await query(state.address, signal);
            } finally {
              limiter.release('neutral');
            }
          })
          .catch(() => {}),
      );
    }
    if (mdnsNameQuery) {
      tasks.push(
        limiter
          .acquire(signal)
          .then(async () => {
            try {
              for (const name of await mdnsNameQuery(state.address, signal))
                names.push({ name, source: 'mdns' });
            } finally {
              limiter.release('neutral');
            }
          })
          .catch(() => {}),
      );
    }
    let sshHostKey: HostResult['sshHostKey'] = null;
    const sshPort = state.services.find((s) => s.kind === 'ssh')?.port;
    if (sshPort !== undefined) startHostKeyRead(state, sshPort);
    if (state.hostKey)
      tasks.push(
        state.hostKey.then((key) => {
          sshHostKey = key;
        }),
      );
    const wsman: { port: number; identity: WsmanIdentity }[] = [];
    if (askIdentify) {
      for (const s of state.services) {
        if (s.kind !== 'http' || !s.winrm) continue;
        tasks.push(
          limiter
            .acquire(signal)
            .then(async () => {
              try {
                const identity = await askIdentify(state.address, s.port, s.tls, signal);
                if (identity) wsman.push({ port: s.port, identity });
              } finally {
                limiter.release('neutral');
              }
            })
            .catch(() => {}),
        );
      }
    }
    await Promise.all(tasks);
    wsman.sort((a, b) => a.port - b.port);
    if (netbios) {
      const nb = netbios as NetbiosInfo;
      if (nb.name) names.push({ name: nb.name, source: 'netbios' });
    }
    for (const s of state.services) {
      if (s.kind === 'http' && s.certificate?.subject && /^[A-Za-z0-9.-]+$/u.test(s.certificate.subject)) {
        names.push({ name: s.certificate.subject, source: 'certificate' });
      }
    }
    const vendor = mac ? macVendor(mac.mac) : null;
    const services = [...state.services].sort((a, b) => a.port - b.port);
    const host: HostResult = {
      address: state.address,
      aliveBy,
      ports: [...state.ports.values()].sort((a, b) => a.port - b.port),
      openPorts,
      services,
      mac: mac?.mac ?? null,
      macVendor: vendor,
      names: dedupeNames(names),
      netbios,
      mdns: null,
      icmp: state.icmp,
      os: inferOs({
        services,
        openPorts,
        macVendor: vendor,
        ttl: state.icmp?.ttl ?? null,
        netbiosName: (netbios as NetbiosInfo | null)?.name ?? null,
        wsman,
      }),
      management: managementChannel(services),
      rttMs: state.minRtt,
      notes: hostNotes,
      sshHostKey,
      ...(wsman.length ? { wsman } : {}),
    };
    if (!signal.aborted) emit(host);
  };

  const track = (p: Promise<void>): void => {
    enrichments.add(p);
    void p.finally(() => enrichments.delete(p));
  };

  const finishAddress = (state: AddressState): void => {
    if (state.done || state.pending > 0 || state.icmpPending) return;
    state.done = true;
    probed++;
    const aliveBy: AliveReason[] = [];
    const states = [...state.ports.values()].map((p) => p.state);
    if (states.includes('open')) aliveBy.push('tcp-open');
    if (states.includes('closed')) aliveBy.push('tcp-closed');
    if (state.icmp) aliveBy.push('icmp');
    if (aliveBy.length > 0 && !signal.aborted) track(enrich(state, aliveBy));
    else unanswered.push(state);
    report();
    if (probed === total) resolveAll();
  };

  const answered = (state: AddressState, rtt: number): void => {
    state.minRtt = state.minRtt === null ? rtt : Math.min(state.minRtt, rtt);
    if (!adaptive) return;
    const budget = Math.max(adaptive.floorMs, adaptive.rttFactor * rtt);
    state.fastTimeoutMs = Math.min(connectTimeoutMs, budget);
    const at = nowMs() + budget;
    for (const h of state.handles) h.shortenDeadline(Math.max(at, h.startedAt + adaptive.floorMs));
  };

  // Under the same concurrency limit as every probe; never rejects (null on any failure).
  const startHostKeyRead = (state: AddressState, port: number): void => {
    if (!readHostKey || state.hostKey || signal.aborted) return;
    state.hostKey = limiter
      .acquire(signal)
      .then(async () => {
        try {
          const key = await readHostKey(state.address, port, signal);
          return key ? { ...key, port } : null;
        } finally {
          limiter.release('neutral');
        }
      })
      .catch(() => null);
  };

  const probePort = async (state: AddressState, port: number): Promise<void> => {
    let attempts = 0;
    for (;;) {
      const timeout = state.fastTimeoutMs ?? connectTimeoutMs;
      let handle: ConnectHandle | null = null;
      connects++;
      const outcome = await connectPort(state.address, port, timeout, scope, (h) => {
        handle = h;
        state.handles.add(h);
      });
      if (handle) state.handles.delete(handle);
      if (outcome.resourceError && attempts < 6 && !signal.aborted) {
        attempts++;
        limiter.release('resource');
        await limiter.acquire(signal);
        continue;
      }
      state.ports.set(port, outcome.result);
      if (outcome.result.rttMs !== null) answered(state, outcome.result.rttMs);
      const kind = handshakes[port];
      if (outcome.socket) {
        if (kind && !signal.aborted) {
          const service = await runHandshake(
            outcome.socket,
            state.address,
            port,
            kind,
            bannerTimeoutMs,
            scope,
          );
          state.services.push(service);
          if (service.kind === 'ssh') startHostKeyRead(state, port);
        } else outcome.socket.destroy();
      }
      const timedOutOnLiveHost = outcome.result.state === 'filtered' && state.minRtt !== null;
      limiter.release(outcome.resourceError ? 'resource' : timedOutOnLiveHost ? 'neutral' : 'ok');
      return;
    }
  };

  const states: AddressState[] = addresses.map((address, index) => ({
    address,
    index,
    ports: new Map(),
    services: [],
    pending: ports.length,
    handles: new Set(),
    fastTimeoutMs: null,
    minRtt: null,
    icmp: null,
    icmpPending: pinger !== null,
    done: false,
    hostKey: null,
  }));
  // An on-link address that never answered ARP: counted as probed, not port-scanned, not reported.
  const skipAddress = (state: AddressState): void => {
    if (state.done) return;
    state.done = true;
    state.pending = 0;
    state.icmpPending = false;
    probed++;
    report();
    if (probed === total) resolveAll();
  };
  let arpStats: SweepSummary['stats']['arp'];
  // Addresses in the order they are to be scanned: those scanned directly at once, the on-link
  // ones as they answer ARP.
  const toScan = new AddressChannel<AddressState>();
  let arpRun: Promise<void> = Promise.resolve();
  const arpOptions = options.arpFirst === false ? null : (options.arpFirst ?? {});
  const arpSystem = arpOptions ? (arpOptions.system ?? systemArpFirst()) : null;
  const plan = arpSystem && total > 0 ? await planArpFirst(addresses, arpSystem) : null;
  if (plan && plan.viaArp.length > 0) {
    const byAddress = new Map(states.map((s) => [s.address, s]));
    for (const a of plan.direct) toScan.push(byAddress.get(a)!);
    arpRun = resolveByArp(
      plan.viaArp,
      arpSystem!,
      {
        floorMs: arpOptions!.floorMs ?? 300,
        rttFactor: arpOptions!.rttFactor ?? 10,
        capMs: connectTimeoutMs,
        // Live hosts still being probed, or their names, keys and banners still being read.
        busy: () => limiter.inFlight > 0 || enrichments.size > 0,
      },
      signal,
      (address) => toScan.push(byAddress.get(address)!),
    ).then(
      (outcome) => {
        const left = outcome.unresolved.map((a) => byAddress.get(a)!);
        if (outcome.resolved === 0 && !signal.aborted) {
          // Not one on-link address answered: the table may not tell the truth here (policy
          // routing, a bridge that filters ARP); scan them all rather than report nothing.
          notes.push(
            `no address answered ARP on ${plan.interfaces.join(', ')}: every address was port-scanned`,
          );
          for (const state of left) toScan.push(state);
        } else {
          for (const state of left) skipAddress(state);
          notes.push(
            `ARP first on ${plan.interfaces.join(', ')}: ${outcome.resolved} of ${plan.viaArp.length} addresses answered; ` +
              `${left.length} did not within twice ${Math.round(outcome.windowMs)} ms and were not port-scanned`,
          );
          arpStats = {
            asked: plan.viaArp.length,
            answered: outcome.resolved,
            skipped: left.length,
            windowMs: Math.round(outcome.windowMs),
            slowestMs: outcome.slowestMs === null ? null : Math.round(outcome.slowestMs * 10) / 10,
          };
        }
        toScan.close();
      },
      () => {
        // The neighbour table could not be read: scan what has not answered, as without ARP first.
        notes.push('the neighbour table could not be read: every address was port-scanned');
        for (const state of states) if (!state.done && !toScan.has(state)) toScan.push(state);
        toScan.close();
      },
    );
  } else {
    for (const state of states) toScan.push(state);
    toScan.close();
    arpSystem?.close();
  }
  try {
    let scanned = 0;
    addressLoop: for (let state = await toScan.next(); state; state = await toScan.next()) {
      const { address } = state;
      const index = scanned++;
      if (pinger) {
        const ping = pinger;
        await limiter.acquire(signal);
        void ping(address, connectTimeoutMs, signal)
          .catch(() => null)
          .then((r) => {
            limiter.release('ok');
            state.icmp = r && r.alive ? r : null;
            if (state.icmp?.rttMs != null)
              state.minRtt =
                state.minRtt === null ? state.icmp.rttMs : Math.min(state.minRtt, state.icmp.rttMs);
            state.icmpPending = false;
            finishAddress(state);
          });
      }
      // Let timers and sockets (a cancel request, the UI's own calls) run between addresses:
      // when every probe answers at once (a loopback or LAN sweep) slots free up in microtasks
      // and this loop would otherwise keep the event loop to itself.
      if (index % 64 === 63) await new Promise<void>((resolve) => setImmediate(resolve));
      for (const port of ports) {
        if (signal.aborted) break addressLoop;
        await limiter.acquire(signal);
        void probePort(state, port)
          .catch(() => {
            state.ports.set(port, { port, state: 'filtered', rttMs: null, reason: 'ERROR' });
          })
          .finally(() => {
            state.pending--;
            finishAddress(state);
          });
      }
    }
    // Wait for the last probes: they all finish by their own deadlines or on abort.
    await Promise.race([allDone, abortPromise(signal)]);
    await arpRun;
    if (!signal.aborted) {
      // Hosts that answered nothing but are in the neighbour table (ARP/NDP replied): alive, all filtered.
      if (neighbours && unanswered.length > 0) {
        const table = await neighbours.refresh();
        const byAddress = new Map(table.map((e) => [e.address, e]));
        for (const state of unanswered) {
          const entry = byAddress.get(state.address);
          if (entry) track(enrich(state, ['neighbour'], { mac: entry }));
        }
      }
      // Wait for every enrichment in one go (racing them one by one is quadratic on a big sweep);
      // loop only if waiting let new ones start.
      while (enrichments.size > 0 && !signal.aborted)
        await Promise.race([Promise.allSettled([...enrichments]), abortPromise(signal)]);
      if (options.mdns && !signal.aborted) {
        const seen = await Promise.race([mdnsHosts, abortPromise(signal).then(() => [] as MdnsHost[])]);
        const wanted = new Set(addresses);
        for (const m of seen) {
          if (!wanted.has(m.address)) continue;
          const existing = found.get(m.address);
          const mdns = { services: m.services, model: m.model };
          const extraNames: HostName[] = m.names.map((name: string): HostName => ({ name, source: 'mdns' }));
          if (existing) {
            const updated: HostResult = {
              ...existing,
              mdns,
              names: dedupeNames([...existing.names, ...extraNames]),
            };
            updated.os = inferOs({
              services: updated.services,
              openPorts: updated.openPorts,
              macVendor: updated.macVendor,
              ttl: updated.icmp?.ttl ?? null,
              netbiosName: updated.netbios?.name ?? null,
              mdnsServices: m.services,
              mdnsModel: m.model,
              wsman: updated.wsman,
            });
            found.set(m.address, updated);
            try {
              callbacks.onHostUpdate?.(updated);
            } catch {
              // ignore consumer errors
            }
          } else {
            const state = states.find((s) => s.address === m.address);
            if (state) {
              await enrich(state, ['mdns']);
              const host = found.get(m.address);
              if (host)
                found.set(m.address, { ...host, mdns, names: dedupeNames([...host.names, ...extraNames]) });
            }
          }
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    controller.abort(); // stops anything still listening (mDNS browse, stray reads)
  }
  const cancelled = outer?.aborted === true;
  report();
  // Probes cut short by a cancel finish a few microtasks later: the caller has moved on by then.
  settled = true;
  return {
    status: cancelled ? 'cancelled' : 'completed',
    hosts: [...found.values()].sort((a, b) => compareAddresses(a.address, b.address)),
    durationMs: Math.round(nowMs() - started),
    probed,
    total,
    ports,
    notes,
    stats: {
      connects,
      peakConcurrency: limiter.peak,
      finalLimit: limiter.limit,
      backoffs: limiter.backoffs,
      ...(arpStats ? { arp: arpStats } : {}),
    },
  };
}

/** A queue the scan loop awaits: addresses arrive while earlier ones are being scanned. */
class AddressChannel<T> {
  private readonly items: T[] = [];
  private readonly seen = new Set<T>();
  private head = 0;
  private waiter: ((value: T | null) => void) | null = null;
  private closed = false;

  push(item: T): void {
    if (this.closed || this.seen.has(item)) return;
    this.seen.add(item);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(item);
    } else this.items.push(item);
  }

  has(item: T): boolean {
    return this.seen.has(item);
  }

  close(): void {
    this.closed = true;
    if (this.waiter && this.head >= this.items.length) {
      const w = this.waiter;
      this.waiter = null;
      w(null);
    }
  }

  next(): Promise<T | null> {
    if (this.head < this.items.length) {
      const item = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

function dedupeNames(names: HostName[]): HostName[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const key = `${n.source}:${n.name.toLowerCase()}`;
    if (!n.name || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  return Promise.race([promise, abortPromise(signal).then(() => null)]);
}
