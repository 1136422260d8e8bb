/**
 * "Did you mean" hints for mistyped option and property names.
 * @packageDocumentation
 */

/**
 * The candidate nearest to `name` when it is a likely typo: the same name
 * once case and `_`/`-` are ignored (`virtual_host` for `virtualHost`), or
 * within a small edit distance.
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const squash = (s: string) => s.replace(/[_-]/g, '').toLowerCase();
  const same = candidates.find((c) => squash(c) === squash(name));
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  for (const c of candidates) {
    const d = editDistance(squash(name), squash(c));
    if (d <= bestDistance) {
      best = c;
      bestDistance = d - 1; // later candidates must be strictly closer
    }
  }
  return best;
}

/**
 * "; did you mean 'x'?" for `name`, or "; known options: a, b, c" when no
 * candidate is close: the tail of every unknown-name error message. `alias`:
 * the name another client uses for it (`noAck` for `autoAck`), which wins
 * over the edit-distance guess when it is one of the candidates.
 */
export function unknownNameHint(name: string, candidates: readonly string[], known = 'known options', alias?: string): string {
  const guess = alias !== undefined && candidates.includes(alias) ? alias : closest(name, candidates);
  return guess === undefined ? `; ${known}: ${candidates.join(', ')}` : `; did you mean '${guess}'?`;
}

/**
 * Edit distance counting a swap of two neighbours as one edit (optimal string
 * alignment), since swapped letters are the commonest typo (`hots`).
 */
function editDistance(a: string, b: string): number {
  let older: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, older[j - 2] + 1);
      current.push(d);
    }
    older = previous;
    previous = current;
  }
  return previous[b.length];
}
