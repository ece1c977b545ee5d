import { Resolver } from 'node:dns/promises';

/** Reverse lookup of one address to its PTR names; rejects or returns [] when there are none. */
export type PtrResolver = (address: string) => Promise<string[]>;

/**
 * PTR lookups through the system's DNS servers (not /etc/hosts), one try, bounded by
 * `timeoutMs`. A fresh c-ares resolver per sweep so a slow server cannot queue behind others.
 */
export function systemPtrResolver(timeoutMs = 1500): PtrResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  return async (address) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        resolver.reverse(address),
        new Promise<string[]>((resolve) => {
          timer = setTimeout(() => resolve([]), timeoutMs + 100);
        }),
      ]);
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  };
}
