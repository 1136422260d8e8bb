/**
 * The wait before each reconnect round: exponential backoff with full
 * jitter (a uniformly random wait between 0 and the capped exponential),
 * so that the clients of a broker that restarted do not all come back in
 * the same instant.
 * @packageDocumentation
 */

/**
 * Seconds to wait before round `round` (1: the first reconnect after the
 * outage): uniform in [0, min(maxDelay, initialDelay * 2^(round-1))).
 * `random` is injectable so that tests can check the bounds.
 */
export function backoffDelay(round: number, initialDelay: number, maxDelay: number, random: () => number = Math.random): number {
  // The exponent stops at 60: 2 ** 1024 is Infinity, and 0 * Infinity would make the wait NaN.
  const ceiling = Math.min(maxDelay, initialDelay * 2 ** Math.min(round - 1, 60));
  return random() * ceiling;
}
