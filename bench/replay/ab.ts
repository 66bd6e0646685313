// Two pbx binaries, A and B, replaying the same file at --rate max into the same broker, in alternating rounds:
// how a change to the produce path shows at full speed, beside its own noise (B against A, median of the rounds).
// Usage: npx tsx bench/replay/ab.ts --a dist/pbx-before --b dist/pbx [--records 1000000] [--rounds 9]
// Needs: a provisioned engine with pbx/kafka (npm run provision). Prints a Markdown table.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { containerCpuMs, containerId } from '../container-cpu';

const { values: options } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    records: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '9' },
  },
});
if (!options.a || !options.b) throw new Error('Give both binaries: --a PATH --b PATH');
const binaries = { A: resolve(options.a), B: resolve(options.b) };
const RECORDS = Number(options.records);
const ROUNDS = Number(options.rounds);
const work = resolve(import.meta.dirname, '../results/replay-ab');
mkdirSync(work, { recursive: true });
const PORT = 39393;
const BROKER = `127.0.0.1:${PORT}`;
const config = resolve(work, 'pbx.yaml');
writeFileSync(config, `name: benchab\nimages: local\nservices:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const log = (text: string) => process.stderr.write(`[ab] ${text}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
let topicSeq = 0;

/** A fresh one-partition topic, made before the clock starts. */
async function newTopic(): Promise<string> {
  const name = `ab-${Date.now()}-${topicSeq++}`;
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: 1 }] });
  await admin.disconnect();
  return name;
}

interface Run {
  ms: number;
  cpuMs: number;
  brokerCpuMs: number;
}

/** One replay of the file under /usr/bin/time: wall, the binary's CPU (user and system), the broker's CPU. */
async function replay(binary: string, file: string, brokerId: string): Promise<Run> {
  const topic = await newTopic();
  const report = resolve(work, 'time.txt');
  const brokerBefore = containerCpuMs(brokerId) ?? NaN;
  const started = performance.now();
  await execa('/usr/bin/time', [
    '-f',
    '%U %S',
    '-o',
    report,
    binary,
    'replay',
    file,
    '--topic',
    topic,
    '--rate',
    'max',
    '--config',
    config,
  ]);
  const ms = performance.now() - started;
  const brokerCpuMs = (containerCpuMs(brokerId) ?? NaN) - brokerBefore;
  const [user, system] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { ms, cpuMs: (user! + system!) * 1000, brokerCpuMs };
}

log('starting Kafka (KRaft)');
await execa(binaries.A, ['up', 'kafka', '--config', config]);
try {
  const brokerId = await containerId('pbx-benchab-kafka');
  const file = resolve(work, `reviews-${RECORDS}.json`);
  if (!existsSync(file)) {
    log(`generating ${RECORDS} reviews`);
    await execa(binaries.A, ['data', 'gen', 'reviews', '--count', String(RECORDS), '--seed', '1', '--out', file]);
  }
  // A new broker's first runs cost it twice the CPU (its JIT warms up): two untimed runs of each first.
  for (let i = 0; i < 2; i++) for (const binary of Object.values(binaries)) await replay(binary, file, brokerId);
  const runs: Record<'A' | 'B', Run[]> = { A: [], B: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating, and which goes first alternates too.
    const order = round % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const);
    for (const name of order) runs[name].push(await replay(binaries[name], file, brokerId));
    log(
      `round ${round + 1}: A ${(runs.A.at(-1)!.ms / 1000).toFixed(2)} s, B ${(runs.B.at(-1)!.ms / 1000).toFixed(2)} s`,
    );
  }
  const s = (ms: number) => (ms / 1000).toFixed(2);
  console.log(`\n${RECORDS} reviews at --rate max, ${ROUNDS} alternating rounds (medians)\n`);
  console.log("| binary | wall s | runs (s) | its CPU s | the broker's CPU s |");
  console.log('| --- | --- | --- | --- | --- |');
  for (const name of ['A', 'B'] as const) {
    const r = runs[name];
    console.log(
      `| ${name}: ${binaries[name]} | ${s(median(r.map((x) => x.ms)))} | ${r.map((x) => s(x.ms)).join(', ')} | ${s(median(r.map((x) => x.cpuMs)))} | ${s(median(r.map((x) => x.brokerCpuMs)))} |`,
    );
  }
  console.log(`\nB ÷ A, wall: ${(median(runs.B.map((x) => x.ms)) / median(runs.A.map((x) => x.ms))).toFixed(3)}`);
} finally {
  await execa(binaries.A, ['down', '--volumes', '--config', config], { reject: false });
}
