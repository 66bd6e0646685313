// What bench/pipeline checks each contender's output against: references computed here from the input files, and
// the output topics read back with kcat, read_committed (what a downstream consumer of a transactional pipeline sees).
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** filter/map keeps reviews whose score is at least this (every review has 1–5: the filter passes them all). */
export const MIN_SCORE = 1;

export interface Verdict {
  ok: boolean;
  /** What was found, for the table: "1000000 records, as the reference" or what differs. */
  what: string;
  /** What varies from run to run (the log shows it, the table does not). */
  detail?: string;
}

interface Projection {
  product_id: string;
  score: string;
  user_id: string;
}

/** A projected review as one comparable string: the content, whatever order a contender wrote its fields in. */
const projectionKey = (p: Projection) => `${p.product_id}\t${p.score}\t${p.user_id}`;

const add = (counts: Map<string, number>, key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);

async function eachLine(file: string, onLine: (line: string) => void): Promise<void> {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity }))
    if (line) onLine(line);
}

/** What filter/map must write for a reviews file: each projection and how many times. */
export async function filterMapReference(file: string): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  await eachLine(file, (line) => {
    const review = JSON.parse(line) as Projection;
    if (Number(review.score) >= MIN_SCORE) add(expected, projectionKey(review));
  });
  return expected;
}

/** What the word count's final counts must be for a sentences file: word → count. */
export async function wordCountReference(file: string): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  await eachLine(file, (line) => {
    for (const word of (JSON.parse(line) as { text: string }).text.split(' ')) add(expected, word);
  });
  return expected;
}

/** Every committed record of a topic, in partition order, as key and value (a null key is ''). */
async function readTopic(broker: string, topic: string, onRecord: (key: string, value: string) => void) {
  const args = ['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-e', '-q'];
  const reader = execa('kcat', [...args, '-X', 'isolation.level=read_committed', '-f', '%k\t%s\n'], {
    buffer: false,
  });
  const lines = createInterface({ input: reader.stdout, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    onRecord(line.slice(0, tab), line.slice(tab + 1));
  }
  await reader;
}

/** filter/map's output against the reference: as many records, with the same content (a multiset). */
export async function checkFilterMap(broker: string, topic: string, expected: Map<string, number>): Promise<Verdict> {
  const found = new Map<string, number>();
  let count = 0;
  await readTopic(broker, topic, (_key, value) => {
    count++;
    add(found, projectionKey(JSON.parse(value) as Projection));
  });
  const want = [...expected.values()].reduce((a, b) => a + b, 0);
  let missing = 0;
  let extra = 0;
  for (const [key, n] of expected) missing += Math.max(0, n - (found.get(key) ?? 0));
  for (const [key, n] of found) extra += Math.max(0, n - (expected.get(key) ?? 0));
  if (count === want && missing === 0 && extra === 0) return { ok: true, what: `${count} records, as the reference` };
  return { ok: false, what: `${count} records (reference ${want}): ${missing} missing, ${extra} extra or repeated` };
}

/** A count per key's output (the word count's): the last count of each key equals the reference's count. */
export async function checkCounts(broker: string, topic: string, expected: Map<string, number>): Promise<Verdict> {
  const last = new Map<string, number>();
  let updates = 0;
  await readTopic(broker, topic, (key, value) => {
    updates++;
    last.set(key, (JSON.parse(value) as { count: number }).count);
  });
  let wrong = 0;
  for (const [key, n] of expected) if (last.get(key) !== n) wrong++;
  const unknown = [...last.keys()].filter((key) => !expected.has(key)).length;
  const detail = `${updates} updates`;
  if (wrong === 0 && unknown === 0) return { ok: true, what: `${last.size} keys, every count right`, detail };
  const what = `${last.size} keys (reference ${expected.size}): ${wrong} wrong or missing, ${unknown} unknown`;
  return { ok: false, what, detail };
}

/** The windowed count's key: a product and its hour's start, ms since 1970. */
export const windowKey = (key: string, windowStart: number) => `${key}@${windowStart}`;
const HOUR = 3_600_000;

/** What the windowed count must write for a reviews file: reviews per product and hour of their event time. */
export async function hourlyCountReference(file: string): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  await eachLine(file, (line) => {
    const review = JSON.parse(line) as Projection & { time: number };
    if (Number(review.score) < MIN_SCORE) return;
    add(expected, windowKey(review.product_id, Math.floor((review.time * 1000) / HOUR) * HOUR));
  });
  return expected;
}

/**
 * Per-hour counts read back against the reference: every window of it (`all`), or those a live run closed so far
 * (`closed`): the reference's windows up to the latest found in their watermark's partition, since a window is
 * written once, when the watermark passes its end, and the input's event times never go back. `partitionOf` (a
 * product's): keyBy()'s windows close by their own source partition's event time; through the repartition topic
 * every partition has the one watermark (the default).
 */
export function checkWindows(
  found: Map<string, number>,
  expected: Map<string, number>,
  scope: 'all' | 'closed',
  partitionOf: (product: string) => number = () => 0,
): Verdict {
  const startOf = (key: string) => Number(key.slice(key.lastIndexOf('@') + 1));
  const partition = (key: string) => partitionOf(key.slice(0, key.lastIndexOf('@')));
  const latestOf = new Map<number, number>();
  for (const key of found.keys())
    latestOf.set(partition(key), Math.max(latestOf.get(partition(key)) ?? -Infinity, startOf(key)));
  const latest = Math.max(...latestOf.values());
  const closed = ([key]: [string, number]) => startOf(key) <= (latestOf.get(partition(key)) ?? -Infinity);
  const wanted = scope === 'all' ? expected : new Map([...expected].filter(closed));
  let wrong = 0;
  for (const [key, n] of wanted) if (found.get(key) !== n) wrong++;
  const unknown = [...found.keys()].filter((key) => !wanted.has(key)).length;
  const upTo = scope === 'closed' && found.size > 0 ? ` up to ${new Date(latest).toISOString().slice(0, 13)}h` : '';
  if (wrong === 0 && unknown === 0) return { ok: true, what: `${found.size} windows${upTo}, every count right` };
  return {
    ok: false,
    what: `${found.size} windows${upTo} (reference ${wanted.size}): ${wrong} wrong or missing, ${unknown} unknown`,
  };
}
