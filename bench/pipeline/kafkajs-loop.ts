// The hand-written peer of `pbx run` in bench/pipeline: a plain kafkajs consume → parse → produce loop, kafkajs's
// defaults but for what the loop needs, for the same two topologies as the Kafka Streams application.
//   filter-map: reviews → filter (score >= 1) → {product_id, score, user_id} → output, keys kept;
//   word-count: sentences → words → count per word, in this process's memory → {key, count} keyed by the word, the
//     words a batch changed sent after the batch (as Kafka Streams' cache coalesces them).
// Guarantees. By default at-least-once: a batch's results are acknowledged (acks from all in-sync replicas) before
// its offsets are committed, so a crash repeats records but loses none. That is the floor a hand-written loop gives,
// not the guarantee pbx and Kafka Streams give: it does not count as their like. And the word count's state lives only
// in memory: after a crash it restarts from nothing at the committed offsets, so its counts would be wrong.
// --transactional: each batch's results and its offsets in one Kafka transaction (read_committed input): the like of
// exactly_once_v2 for filter-map; for the word count the state is still only in memory (no changelog), so even this
// variant would count wrong after a crash: it shows the transactions' cost, not a like-for-like pipeline.
// It stops by itself, like `pbx run --until-end`, once it has processed every input partition up to the end offset
// it saw at start, and prints {"ms": ...}.
// Usage: tsx bench/pipeline/kafkajs-loop.ts filter-map|word-count BROKER INPUT OUTPUT GROUP [--transactional]
import { Kafka, logLevel, type Batch, type Message, type Producer } from 'kafkajs';

const [mode, broker, input, output, group, flag] = process.argv.slice(2);
if (!mode || !broker || !input || !output || !group || !['filter-map', 'word-count'].includes(mode))
  throw new Error('usage: kafkajs-loop.ts filter-map|word-count BROKER INPUT OUTPUT GROUP [--transactional]');
const transactional = flag === '--transactional';
const started = performance.now();

interface Review {
  product_id: string;
  score: string;
  user_id: string;
}

/** What one batch of input becomes: the records to send. */
type Topology = (batch: Batch) => Message[];

const filterMap: Topology = (batch) => {
  const out: Message[] = [];
  for (const message of batch.messages) {
    const review = JSON.parse(message.value!.toString()) as Review;
    if (Number(review.score) >= 1)
      out.push({
        key: message.key,
        value: JSON.stringify({ product_id: review.product_id, score: review.score, user_id: review.user_id }),
      });
  }
  return out;
};

const counts = new Map<string, number>();
const wordCount: Topology = (batch) => {
  const changed = new Set<string>();
  for (const message of batch.messages) {
    const { text } = JSON.parse(message.value!.toString()) as { text: string };
    for (const word of text.split(' ')) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
      changed.add(word);
    }
  }
  return [...changed].map((word) => ({ key: word, value: JSON.stringify({ key: word, count: counts.get(word) }) }));
};

const topology = mode === 'filter-map' ? filterMap : wordCount;
const kafka = new Kafka({ clientId: group, brokers: [broker], logLevel: logLevel.ERROR });

const admin = kafka.admin();
await admin.connect();
const ends = new Map((await admin.fetchTopicOffsets(input)).map((p) => [p.partition, BigInt(p.high)]));
await admin.disconnect();
const remaining = new Set([...ends].filter(([, end]) => end > 0n).map(([partition]) => partition));
let finish: () => void;
const finished = new Promise<void>((resolve) => (finish = resolve));
if (remaining.size === 0) finish!();

const producer: Producer = transactional
  ? kafka.producer({ transactionalId: `${group}-tx`, idempotent: true, maxInFlightRequests: 1 })
  : kafka.producer();
const consumer = kafka.consumer({ groupId: group });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: input, fromBeginning: true });

/** Sends a batch's results, then has its offsets committed: in one transaction, or (at-least-once) after the acks. */
async function deliver(batch: Batch, messages: Message[]): Promise<void> {
  const next = String(BigInt(batch.lastOffset()) + 1n);
  if (!transactional) {
    if (messages.length > 0) await producer.send({ topic: output!, messages });
    return;
  }
  const transaction = await producer.transaction();
  try {
    if (messages.length > 0) await transaction.send({ topic: output!, messages });
    await transaction.sendOffsets({
      consumerGroupId: group!,
      topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
    await transaction.commit();
  } catch (error) {
    await transaction.abort();
    throw error;
  }
}

await consumer.run({
  // At-least-once: kafkajs resolves the batch's offsets when this returns, and commits them after it.
  autoCommit: !transactional,
  eachBatch: async ({ batch }) => {
    if (batch.messages.length === 0) return;
    await deliver(batch, topology(batch));
    if (BigInt(batch.lastOffset()) + 1n >= ends.get(batch.partition)!) {
      remaining.delete(batch.partition);
      if (remaining.size === 0) finish();
    }
  },
});
await finished;
await consumer.disconnect(); // commits what is resolved
await producer.disconnect();
process.stdout.write(`${JSON.stringify({ ms: Math.round(performance.now() - started) })}\n`);
