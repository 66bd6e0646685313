/**
 * A deterministic movie-reviews dataset in the peachbox format: one JSON object per line with user_id,
 * product_id, review, summary, profile_name, helpfulness ("helpful/total"), time (Unix seconds, whole
 * days, non-decreasing) and score ("1.0"–"5.0"). Same count and seed → the same bytes. Nothing is held in
 * memory but the current record: ids are derived from their rank by hashing, not kept in tables.
 */

/** A small, fast seeded PRNG (mulberry32): uniform floats in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable 32-bit hash of (seed, n), for ids derived from a rank. */
function hash(seed: number, n: number): number {
  let h = (seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function code(seed: number, rank: number, length: number, alphabet: string): string {
  let text = '';
  for (let i = 0; text.length < length; i++) {
    let h = hash(seed + i * 7919, rank);
    for (let j = 0; j < 5 && text.length < length; j++) {
      text += alphabet[h % alphabet.length];
      h = Math.floor(h / alphabet.length);
    }
  }
  return text;
}

/** Skewed ranks: a few very popular items and a long tail (rank = ⌊size·u^power⌋). */
function skewedRank(random: () => number, size: number, power: number): number {
  return Math.min(size - 1, Math.floor(size * random() ** power));
}

const FIRST = [
  'John',
  'Mary',
  'Robert',
  'Linda',
  'Michael',
  'Susan',
  'David',
  'Karen',
  'James',
  'Nancy',
  'Ann',
  'Paul',
  'Grace',
  'Tom',
  'Rosa',
  'Kenji',
  'Amara',
  'Lars',
  'Ines',
  'Omar',
];
const LAST = [
  'Smith',
  'Johnson',
  'Brown',
  'Garcia',
  'Miller',
  'Davis',
  'Wilson',
  'Moore',
  'Taylor',
  'Clark',
  'Lewis',
  'Young',
  'Walker',
  'Hall',
  'Tanaka',
  'Okafor',
  'Berg',
  'Costa',
  'Haddad',
  'Novak',
];
const NICK = ['movie buff', 'film fan', 'cinephile', 'critic at large', 'late-night viewer', 'DVD collector'];
const GOOD = [
  'wonderful',
  'brilliant',
  'moving',
  'hilarious',
  'gripping',
  'beautifully shot',
  'a classic',
  'unforgettable',
];
const BAD = ['dull', 'overlong', 'confusing', 'badly acted', 'a letdown', 'predictable', 'forgettable', 'a mess'];
const THINGS = [
  'the acting',
  'the soundtrack',
  'the story',
  'the ending',
  'the dialogue',
  'the pacing',
  'the special effects',
  'the cast',
  'the director&#39;s cut',
  'the extras on the disc',
];
const PLURAL = new Set(['the special effects', 'the extras on the disc']);
const OPENERS = [
  'I bought this for my family',
  'I saw this in the theater years ago',
  'A friend recommended this',
  'I had high hopes for this one',
  'This arrived on time and in good condition',
  'I watched this twice in one week',
];
const QUOTES = [
  '&quot;best film of the year&quot;',
  '&quot;a must-see&quot;',
  '&#34;not for everyone&#34;',
  '&quot;Rock &amp; Roll&quot;',
];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function reviewText(random: () => number, score: number): { review: string; summary: string } {
  const words = score >= 4 ? GOOD : score <= 2 ? BAD : [...GOOD.slice(0, 3), ...BAD.slice(0, 3)];
  const sentences = [`${pick(random, OPENERS)}.`];
  const count = 2 + Math.floor(random() * 5);
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.15)
      sentences.push(`The box calls it ${pick(random, QUOTES)}, and ${score >= 4 ? 'it is' : 'it is not'}.`);
    else if (roll < 0.3)
      sentences.push(`${cap(pick(random, THINGS))} &amp; ${pick(random, THINGS)} were ${pick(random, words)}.`);
    else {
      const thing = pick(random, THINGS);
      sentences.push(
        `${cap(thing)} ${PLURAL.has(thing) ? 'were' : 'was'} ${pick(random, words)}${random() < 0.3 ? '!' : '.'}`,
      );
    }
  }
  sentences.push(score >= 4 ? 'Highly recommended.' : score <= 2 ? 'Save your money.' : 'Worth a rental.');
  return { review: sentences.join(' '), summary: `${cap(pick(random, words))}${random() < 0.3 ? '!' : ''}` };
}

function cap(text: string): string {
  return text[0]!.toUpperCase() + text.slice(1);
}

const START_TIME = 946684800; // 2000-01-01, whole-day timestamps from here
const DAY = 86400;

/** The reviews as JSON lines (without newline), in time order. */
export function* generateReviews(options: { count: number; seed: number }): Generator<string> {
  const random = prng(options.seed);
  const products = Math.max(20, Math.floor(options.count / 3));
  const users = Math.max(20, Math.floor(options.count / 3));
  // Spread the reviews over about ten years whatever their number: many share a day.
  const days = Math.min(3650, Math.max(30, Math.floor(options.count / 5)));
  // A non-decreasing walk, so the output is sorted without sorting: whole days plus a chance of one more.
  const whole = Math.floor(days / options.count);
  const chance = days / options.count - whole;
  let time = START_TIME;
  for (let i = 0; i < options.count; i++) {
    if (i > 0) time += DAY * (whole + (random() < chance ? 1 : 0));
    const productRank = skewedRank(random, products, 3);
    const userRank = skewedRank(random, users, 3);
    const roll = random();
    const score = roll < 0.45 ? 5 : roll < 0.7 ? 4 : roll < 0.82 ? 3 : roll < 0.9 ? 2 : 1;
    const total = Math.floor(random() ** 3 * 40);
    const helpful = Math.floor(total * random());
    const { review, summary } = reviewText(random, score);
    const nameHash = hash(options.seed ^ 0x5bd1e995, userRank);
    const profileName =
      nameHash % 5 === 0
        ? `${FIRST[nameHash % FIRST.length]} &quot;${NICK[(nameHash >>> 8) % NICK.length]}&quot;`
        : `${FIRST[nameHash % FIRST.length]} ${LAST[(nameHash >>> 8) % LAST.length]}`;
    const productId =
      productRank % 3 === 0
        ? `B0000${code(options.seed + 11, productRank, 5, ALNUM)}`
        : code(options.seed + 13, productRank, 10, '0123456789');
    yield JSON.stringify({
      user_id: `A${code(options.seed + 17, userRank, 13, ALNUM)}`,
      product_id: productId,
      review,
      summary,
      profile_name: profileName,
      helpfulness: `${helpful}/${total}`,
      time,
      score: score.toFixed(1),
    });
  }
}
