/** All stored times are ISO-8601 UTC. One function so tests can reason about it. */
export function now(): string {
  return new Date().toISOString();
}

export function parseJsonArray<T = string>(text: string | null | undefined): T[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}
