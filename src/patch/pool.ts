/**
 * The per-host worker pool: at most `concurrency` hosts at a time, taken in the list's order, each
 * worker picking the next host as soon as its last one finished. When one item's work throws, no
 * worker takes another item, and the pool rejects (with that first error) only once the items in
 * hand have finished: the caller then records a run that stopped, with nothing still going on.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let broken: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (broken === null && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        broken ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (broken !== null) throw (broken as { error: unknown }).error;
}
