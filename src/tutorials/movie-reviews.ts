// movie-reviews (after peachbox): the stack with the reviews schema, the sample replayed at 2/s keyed by movie and
// then flat out, a real-time view and a batch view in Cassandra, and a serving query merging them. Every check
// compares what the services hold with what reviews.json says, counted here independently of pbx's pipelines.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { count, plural, replayedOnce, withSchema } from './checks';
import { tutorialRecords } from './files';
import type { CheckResult, StepContext, Tutorial } from './types';

const TOPIC = 'movie_reviews';
const TOTAL = 10_000;
/** Reviews in the topic before the 2/s step counts as done: enough to see them arrive (10 s). */
const FIRST_REVIEWS = 20;
const HOUR_MS = 3_600_000;
const REPLAY = [
  'replay',
  'reviews.json',
  '--topic',
  TOPIC,
  '--key',
  'product_id',
  '--checkpoint',
  'reviews.checkpoint',
];

interface Review {
  product_id: string;
  time: number;
}

const reviews = () => tutorialRecords<Review>('movie-reviews', 'reviews.json');

/** Each movie's number of reviews in the sample: what the serving query must answer. */
export function reviewsPerMovie(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of reviews()) counts.set(r.product_id, (counts.get(r.product_id) ?? 0) + 1);
  return counts;
}

/** Reviews per movie and hour ("movie|hour ms"), what the batch view must hold. */
function reviewsPerHour(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of reviews()) {
    const key = `${r.product_id}|${Math.floor((r.time * 1000) / HOUR_MS) * HOUR_MS}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const hour = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

async function stackCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `Kafka with the topic ${TOPIC}, Cassandra with the tables of schema.cql`;
  const records = await services.topicRecords(TOPIC);
  if (records === undefined) return { ok: false, expected, found: `Kafka answers but has no topic ${TOPIC}` };
  const tables = await services.query('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [TOPIC]);
  const names = tables.map((t) => String(t.table_name)).sort();
  const missing = ['counts_by_hour', 'reviews_by_product'].filter((t) => !names.includes(t));
  if (missing.length > 0) return { ok: false, expected, found: `Cassandra has no table ${missing.join(', ')}` };
  return { ok: true, expected, found: `Kafka has ${TOPIC}; Cassandra has ${names.join(', ')}` };
}

async function slowReplayCheck({ services, memo }: StepContext): Promise<CheckResult> {
  const expected = `at least ${FIRST_REVIEWS} reviews in ${TOPIC}, each keyed by its movie (product_id)`;
  const records = (await services.topicRecords(TOPIC)) ?? 0;
  if (records < FIRST_REVIEWS) {
    const eta = records > 0 ? ` (at 2 a second, ${Math.ceil((FIRST_REVIEWS - records) / 2)} s more)` : '';
    return { ok: false, expected, found: `${TOPIC} holds ${plural(records, 'record')}${eta}` };
  }
  if (memo.get('keyed') !== true) {
    const messages = await services.readRecords(TOPIC, 5);
    const wrong = messages.find((m) => {
      const value = JSON.parse(m.value?.toString() ?? 'null') as Review | null;
      return m.key?.toString() !== value?.product_id;
    });
    if (wrong) {
      return {
        ok: false,
        expected,
        found: `${TOPIC} holds ${count(records)} records, but keyed ${wrong.key === null ? 'by nothing' : `"${wrong.key.toString()}"`}, not by their product_id (--key product_id)`,
      };
    }
    memo.set('keyed', true);
  }
  return { ok: true, expected, found: `${TOPIC} holds ${count(records)} reviews, keyed by movie` };
}

async function realtimeCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `reviews_by_product to keep up with ${TOPIC} (at least ${FIRST_REVIEWS} rows, at most 10 behind)`;
  const records = (await services.topicRecords(TOPIC)) ?? 0;
  const [row] = await services.query('SELECT COUNT(*) AS n FROM movie_reviews.reviews_by_product');
  const rows = Number((row?.n as { toString(): string } | undefined)?.toString() ?? 0);
  const ok = rows >= Math.min(records, FIRST_REVIEWS) && rows >= records - 10 && rows > 0;
  return {
    ok,
    expected,
    found: `reviews_by_product holds ${count(rows)} of the ${plural(records, 'review')} in ${TOPIC}`,
  };
}

async function batchCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `counts_by_hour to count the reviews replayed so far per movie and hour (at least ${FIRST_REVIEWS})`;
  const rows = await services.query('SELECT product_id, hour, reviews FROM movie_reviews.counts_by_hour');
  if (rows.length === 0) return { ok: false, expected, found: 'counts_by_hour is empty' };
  const truth = reviewsPerHour();
  const last = rows.reduce((latest, r) => Math.max(latest, (r.hour as Date).getTime()), 0);
  let total = 0;
  for (const r of rows) {
    const at = (r.hour as Date).getTime();
    const counted = Number(r.reviews);
    const replayed = truth.get(`${String(r.product_id)}|${at}`) ?? 0;
    total += counted;
    // The batch's last hour may hold only part of its reviews (the replay was still going): no more than replayed.
    if (at < last ? counted !== replayed : counted > replayed) {
      return {
        ok: false,
        expected,
        found: `${String(r.product_id)} at ${hour(at)}: counts_by_hour says ${counted}, reviews.json has ${replayed}`,
      };
    }
  }
  const found = `counts_by_hour counts ${plural(total, 'review')} in ${plural(rows.length, 'movie-hour')}, up to ${hour(last)}, as reviews.json does`;
  return { ok: total >= FIRST_REVIEWS, expected, found };
}

const flatOutCheck = ({ services }: StepContext) =>
  replayedOnce(services, {
    topic: TOPIC,
    total: TOTAL,
    expected: `all ${count(TOTAL)} reviews in ${TOPIC}, each once`,
    twice: 'a replay without the same --checkpoint',
  });

type Serving = (query: (cql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<unknown>;

async function servingCheck({ dir, services }: StepContext): Promise<CheckResult> {
  const expected = `serving.ts to give every movie as many reviews as it has in reviews.json (${plural(reviewsPerMovie().size, 'movie')})`;
  const records = (await services.topicRecords(TOPIC)) ?? 0;
  if (records !== TOTAL)
    return { ok: false, expected, found: `${TOPIC} holds ${count(records)} of ${count(TOTAL)} records` };
  const file = join(dir, 'serving.ts');
  // The file's time in the URL: an edited serving.ts is imported again, not taken from the module cache.
  const url = `${pathToFileURL(file).href}?v=${statSync(file).mtimeMs}`;
  const serve = ((await import(url)) as { default?: Serving }).default;
  if (typeof serve !== 'function') return { ok: false, expected, found: 'serving.ts has no default export function' };
  const answer = (await serve((cql, params) => services.query(cql, params))) as Record<string, number>;
  const wrong: string[] = [];
  for (const [movie, replayed] of reviewsPerMovie()) {
    const served = Number(answer?.[movie] ?? 0);
    if (served !== replayed) wrong.push(`${movie}: ${replayed} replayed, ${served} served`);
  }
  const movies = reviewsPerMovie().size;
  if (wrong.length > 0) {
    return {
      ok: false,
      expected,
      found: `${count(movies - wrong.length)} of ${count(movies)} movies right; ${wrong.slice(0, 2).join('; ')}${wrong.length > 2 ? `; ${count(wrong.length - 2)} more` : ''}`,
    };
  }
  return {
    ok: true,
    expected,
    found: `all ${count(movies)} movies: batch + real-time counts equal the reviews replayed`,
  };
}

export const movieReviews: Tutorial = {
  name: 'movie-reviews',
  title: 'Movie reviews: a Lambda architecture',
  after: 'peachbox',
  summary: 'Reviews replayed into Kafka, real-time and batch views in Cassandra, a serving query merging them.',
  minutes: 25,
  projectFiles: ['pbx.yaml', 'schema.cql', 'reviews.json', 'README.md'],
  steps: [
    {
      id: 'stack',
      title: 'The stack with the reviews schema',
      teaches:
        'pbx.yaml names the services and what they hold: the topic movie_reviews (3 partitions) and the CQL of schema.cql. `pbx up` starts ZooKeeper, Kafka and Cassandra, proves each one works, then creates the topic and applies the schema.',
      todo: ['$ pbx up', 'then `pbx status` shows the services'],
      expects: `Kafka with the topic ${TOPIC}, Cassandra with the tables of schema.cql`,
      check: withSchema(stackCheck, `the tables of schema.cql`),
      hint: 'Run `pbx up` in this directory (where pbx.yaml is). It returns once every service answers, in about a minute the first time.',
      solution: [{ kind: 'run', argv: ['up'] }],
      solveTimeoutMs: 60_000,
    },
    {
      id: 'slow-replay',
      title: 'Reviews arrive, two a second',
      teaches:
        'peachbox emulated a live stream by sending two reviews a second. `pbx replay --rate 2` does the same at an exact pace; `--key product_id` keys each review by its movie, so a movie’s reviews stay in one partition, in order; `--checkpoint` records how far it got, so a later replay goes on from there.',
      todo: [`$ pbx ${REPLAY.join(' ')} --rate 2`, 'leave it running: the next steps use the reviews as they arrive'],
      expects: `at least ${FIRST_REVIEWS} reviews in ${TOPIC}, keyed by movie`,
      check: slowReplayCheck,
      hint: 'Keep the replay running in its own terminal. Without --key the records have no key; the check reads the first ones back and compares each key with its product_id.',
      solution: [{ kind: 'start', name: 'replay at 2/s', argv: [...REPLAY, '--rate', '2'] }],
    },
    {
      id: 'realtime-view',
      title: 'A real-time view in Cassandra',
      teaches:
        'The speed layer: a pipeline that writes every review, as it arrives, into reviews_by_product (by movie, newest first). `pbx run` reads the topic in its own consumer group, and each batch is one Kafka transaction committed after Cassandra acknowledged its rows.',
      todo: ['write pipelines/realtime.ts (the file is there, with a TODO)', '$ pbx run realtime', 'leave it running'],
      starters: { 'pipelines/realtime.ts': 'starters/pipelines/realtime.ts' },
      expects: 'reviews_by_product to keep up with movie_reviews',
      check: withSchema(realtimeCheck, 'the table reviews_by_product'),
      hint: "Map each review to the table's columns (time in ms: review.time * 1000, score as a number) and end with .to(cassandra('movie_reviews.reviews_by_product')). `pbx run realtime --check` shows the stages without running.",
      solution: [
        { kind: 'write', path: 'pipelines/realtime.ts', from: 'solution/pipelines/realtime.ts' },
        { kind: 'start', name: 'real-time view', argv: ['run', 'realtime'] },
      ],
    },
    {
      id: 'batch-view',
      title: 'A batch view, recomputed',
      teaches:
        'The batch layer: counts per movie per hour over everything in the topic so far. `--until-end` stops at the end offsets seen at the start and closes every window there; `--reset` starts over, so each run recomputes the view from the start. Event time comes from the reviews, so the counts are the same whatever the pace of the replay.',
      todo: [
        'Ctrl-C the replay at 2/s (its checkpoint keeps its place): the batch reads a topic that holds still',
        'write pipelines/batch.ts',
        '$ pbx run batch --until-end --reset',
      ],
      starters: { 'pipelines/batch.ts': 'starters/pipelines/batch.ts' },
      expects: 'counts_by_hour to count the reviews replayed so far per movie and hour',
      check: withSchema(batchCheck, 'the table counts_by_hour'),
      hint: "from('movie_reviews', { time: (r) => r.time * 1000 }) → keyBy(product_id) → window(tumbling('1h')) → count() → map({ key, window_start, count } to product_id, hour, reviews) → cassandra('movie_reviews.counts_by_hour').",
      solution: [
        { kind: 'stop', name: 'replay at 2/s' },
        { kind: 'write', path: 'pipelines/batch.ts', from: 'solution/pipelines/batch.ts' },
        { kind: 'run', argv: ['run', 'batch', '--until-end', '--reset'] },
      ],
    },
    {
      id: 'flat-out',
      title: 'The rest, flat out',
      teaches:
        'The rest of the sample, as fast as Kafka takes it, with the same --checkpoint: the replay goes on at the review after the last one the 2/s replay delivered, nothing sent twice. The real-time view, still running, follows.',
      todo: [`$ pbx ${REPLAY.join(' ')} --rate max`],
      expects: `all ${count(TOTAL)} reviews in ${TOPIC}, each once`,
      check: flatOutCheck,
      hint: 'Use the same --checkpoint file as the first replay: it says where that one stopped. A replay without it starts again at the first review and sends some twice (then `pbx down --volumes` and start over).',
      solution: [
        { kind: 'stop', name: 'replay at 2/s' },
        { kind: 'run', argv: [...REPLAY, '--rate', 'max'] },
      ],
    },
    {
      id: 'serving',
      title: 'The serving query',
      teaches:
        "The serving layer answers from both views: the batch counts for the hours the batch covered completely, plus the real-time reviews newer than that. The batch's last hour may have been cut short by the live stream, so it is taken from the real-time view. The check runs serving.ts and compares each movie's answer with its reviews in reviews.json.",
      todo: [
        'write serving.ts (its default export gets `query` and returns reviews per movie)',
        'keep `pbx run realtime` running',
      ],
      starters: { 'serving.ts': 'starters/serving.ts' },
      expects: 'serving.ts to give every movie as many reviews as it has in reviews.json',
      check: withSchema(servingCheck, 'the tables of schema.cql'),
      hint: "Batch rows with hour < the batch's last hour, then `SELECT product_id FROM movie_reviews.reviews_by_product WHERE time >= ? ALLOW FILTERING` from that hour on; add them up per movie.",
      solution: [{ kind: 'write', path: 'serving.ts', from: 'solution/serving.ts' }],
      solveTimeoutMs: 180_000,
    },
  ],
};
