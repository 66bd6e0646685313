/** The candidate closest to a mistyped `word` within `most` edits, if one is that close. */
export function closest(word: string, candidates: readonly string[], most: number): string | undefined {
  const [best] = candidates
    .map((candidate) => ({ candidate, distance: editDistance(candidate, word) }))
    .filter(({ distance }) => distance <= most)
    .sort((a, b) => a.distance - b.distance);
  return best?.candidate;
}

/** Levenshtein's distance: the fewest insertions, deletions and substitutions that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
