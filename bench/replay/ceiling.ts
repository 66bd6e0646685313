// The broker's ceiling for one client connection: pbx's producer with every batch of the file built before the
// clock starts, then all of them sent (five requests in flight, as replay does) until the last is acknowledged.
// Neither pbx nor kcat can take the file into one partition faster than this; the bench prints it beside them.
// Usage (bun, from bench/replay/run.ts): bun bench/replay/ceiling.ts BROKER TOPIC FILE → {"records":N,"sendMs":T}
import { readFileSync } from 'node:fs';
import { BatchProducer } from '../../src/clients/batch-producer';
import { SEND_BYTES } from '../../src/flow/kafka-sink';

const [broker, topic, file] = process.argv.slice(2) as [string, string, string];
let delivered = 0;
const producer = await BatchProducer.connect<number>({
  kafka: { brokers: [broker], clientId: 'pbx-bench-ceiling' },
  topics: [topic],
  // Replay's sends: a batch per send, closed at SEND_BYTES.
  batchBytes: SEND_BYTES,
  onDelivered: (records) => (delivered += records),
});
const bytes = readFileSync(file);
const now = Date.now();
let records = 0;
for (let start = 0, end = bytes.indexOf(10); end >= 0; start = end + 1, end = bytes.indexOf(10, start)) {
  producer.append(topic, 0, null, { bytes, start, end }, [], now); // full batches wait for the send below
  records++;
}
const started = performance.now();
await producer.send(records);
await producer.flush();
const sendMs = performance.now() - started;
await producer.disconnect();
if (delivered !== records) throw new Error(`delivered ${delivered} of ${records} records`);
console.log(JSON.stringify({ records, sendMs }));
