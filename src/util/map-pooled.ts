// Bounded concurrency for kernel writes: enough requests in flight to keep the netlink window
// full (the socket packs them into shared datagrams), few enough that thousands of requests,
// promises and buffers are not all alive at once.

/** Like Promise.all(items.map(fn)), with at most `limit` calls running; results in input order. */
export async function mapPooled<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
