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
