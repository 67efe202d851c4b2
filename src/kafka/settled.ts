// Several kafkajs requests at once, for code that disconnects its client afterwards.

/**
 * Like Promise.all, but rejects only once every request has settled: kafkajs retries a failed request
 * in the background, and a retry still pending when the caller disconnects reconnects the client (a
 * `console --once` on a missing topic then never exited).
 */
export async function allSettled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
