/**
 * Counts how often each callback handed to the library runs, against how
 * often it must run. A completion callback that never runs leaves the
 * application waiting forever; one that runs twice makes it act twice
 * (acknowledge twice, reconnect twice). Both are failures.
 * @packageDocumentation
 */

/** One tracked callback. */
interface Entry {
  label: string;
  calls: number;
  /** Required number of calls; `max` only bounds it when `atMost` is set. */
  expected: number;
  atMost: boolean;
}

/** See the module notes. */
export class CallbackTracker {
  private readonly entries: Entry[] = [];

  /**
   * Wraps `fn` (default: nothing) so that its calls are counted. `label`
   * names it in the report; keep numbers out of it so that equal failures
   * group together.
   */
  track<A extends unknown[]>(label: string, fn: (...args: A) => void = () => undefined, expected = 1): { cb: (...args: A) => void; entry: Entry } {
    const entry: Entry = { label, calls: 0, expected, atMost: false };
    this.entries.push(entry);
    const cb = (...args: A): void => {
      entry.calls++;
      fn(...args);
    };
    return { cb, entry };
  }

  /** The call that took the callback threw synchronously: the library must then never call it. */
  threw(entry: Entry): void {
    entry.expected = 0;
  }

  /** Relaxes an entry to "at most `n` calls". */
  atMost(entry: Entry, n: number): void {
    entry.expected = n;
    entry.atMost = true;
  }

  /** One line per callback whose count is wrong. */
  problems(): string[] {
    const out: string[] = [];
    for (const e of this.entries) {
      const bad = e.atMost ? e.calls > e.expected : e.calls !== e.expected;
      if (bad) out.push(`${e.label}: called ${e.calls} time(s), expected ${e.atMost ? 'at most ' : ''}${e.expected}`);
    }
    return out;
  }
}
