/**
 * Waiting in real time, for specs that talk to real sockets, processes or
 * the broker: every wait is bounded and fails loudly, naming what it waited
 * for. (Specs on the VirtualIOLoop drive virtual time instead.)
 */

/** A promise of a pause of `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once `predicate()` holds, checking it at once and then every
 * `intervalMs`. Rejects with "`what`: not true within `timeoutMs` ms" when
 * the time is up, and also when an async predicate has not settled by then.
 * What the predicate throws (or rejects with) is passed on.
 */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const timedOut = (): Error => new Error(`${what}: not true within ${timeoutMs} ms`);
  for (;;) {
    if (await beforeDeadline(predicate(), deadline, timedOut)) return;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut();
    await sleep(Math.min(intervalMs, left));
  }
}

/** `value` itself, or its settlement if it settles before `deadline`; otherwise rejects with `timedOut()`. */
function beforeDeadline(value: boolean | Promise<boolean>, deadline: number, timedOut: () => Error): boolean | Promise<boolean> {
  if (typeof value === 'boolean') return value;
  return new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), Math.max(0, deadline - Date.now()));
    value.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
