// pbx replay against its peers on the same broker, the same machine and the same generated file:
//   throughput at --rate max vs Kafka's own kafka-producer-perf-test (--payload-file) and Debian's kcat -P, beside
//   the broker's ceiling for one connection (ceiling.ts: what no client can beat on it);
//   rate accuracy at 2, 1000 and 20000 records/s over 30 s vs the perf tool's --throughput;
//   peak memory replaying a file larger than 1 GB, beside kcat's.
// Every round reads back what each tool delivered and checks it against the file, record for record and in order;
// the tools take turns in a different order each round; the headline is the median round.
// Usage: npm run build && npx tsx bench/replay/run.ts [--records 1000000] [--seconds 30] [--big-records 3000000]
//   [--rounds 5] [--baseline OTHER_PBX_BINARY] [--throughput-only]
// --baseline adds another build of pbx (e.g. main's) to the rounds; with --throughput-only that is the quick A/B of a
// change to the produce path (a few minutes).
// Needs: a provisioned engine with pbx/kafka (npm run provision) and kcat. Prints Markdown tables.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { IMAGES } from '../../src/images/catalog';
import { containerCpuMs, containerId } from '../container-cpu';

const { values: options } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '30' },
    'big-records': { type: 'string', default: '3000000' },
    rounds: { type: 'string', default: '5' },
    baseline: { type: 'string' },
    'throughput-only': { type: 'boolean', default: false },
  },
});
const RECORDS = Number(options.records);
const SECONDS = Number(options.seconds);
const ROUNDS = Number(options.rounds);
const root = resolve(import.meta.dirname, '../..');
const pbx = resolve(root, 'dist/pbx');
const work = resolve(root, 'bench/results/replay');
mkdirSync(work, { recursive: true });
const PORT = 39392;
const BROKER = `127.0.0.1:${PORT}`;
const config = resolve(work, 'pbx.yaml');
writeFileSync(config, `name: benchreplay\nimages: local\nservices:\n  kafka: {port: ${PORT}, mode: kraft}\n`);

const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);
let topicSeq = 0;
const topic = (name: string) => `${name}-${Date.now()}-${topicSeq++}`;

async function dataset(count: number): Promise<string> {
  const file = resolve(work, `reviews-${count}.json`);
  if (!existsSync(file)) {
    log(`generating ${count} reviews`);
    await execa(pbx, ['data', 'gen', 'reviews', '--count', String(count), '--seed', '1', '--out', file]);
  }
  return file;
}

/** Topics for the peers, which do not create them: one partition, like pbx's. */
async function createTopic(name: string): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: 1 }] });
  await admin.disconnect();
}

/**
 * Kafka's own producer benchmark, from the same jars as the broker, on the host network like the others. Its batches
 * are made as large as pbx's and kcat's (about 1 MB, librdkafka's batch.size) and wait as long (5 ms): its defaults,
 * 16 KiB and no wait, would measure its settings rather than the tool.
 */
async function perfTool(name: string, file: string, records: number, throughput: number): Promise<string> {
  const result = await execa('docker', [
    'run',
    '--rm',
    '--network',
    'host',
    // It holds the whole payload file in memory: the default 256 MB heap is too small for 1M reviews.
    '-e',
    'KAFKA_HEAP_OPTS=-Xmx3g',
    '-v',
    `${file}:/data/payload.json:ro`,
    IMAGES.kafka.tag,
    '/opt/kafka/bin/kafka-run-class.sh',
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    name,
    '--num-records',
    String(records),
    '--throughput',
    String(throughput),
    '--payload-file',
    '/data/payload.json',
    '--producer-props',
    `bootstrap.servers=${BROKER}`,
    'acks=all',
    'enable.idempotence=true',
    'batch.size=1000000',
    'linger.ms=5',
  ]);
  return result.stdout;
}

/** Create times of every record in a topic, read with kcat. */
async function timestamps(name: string): Promise<number[]> {
  const { stdout } = await execa(
    'kcat',
    ['-b', BROKER, '-C', '-t', name, '-o', 'beginning', '-e', '-q', '-f', '%T\n'],
    { maxBuffer: 1e9 },
  );
  return stdout.split('\n').filter(Boolean).map(Number);
}

const fileHashes = new Map<string, Promise<string>>();

/** The SHA-256 of a file, streamed. */
function fileHash(file: string): Promise<string> {
  if (!fileHashes.has(file)) {
    fileHashes.set(
      file,
      new Promise((resolve, reject) => {
        const hash = createHash('sha256');
        createReadStream(file)
          .on('data', (chunk) => hash.update(chunk))
          .on('end', () => resolve(hash.digest('hex')))
          .on('error', reject);
      }),
    );
  }
  return fileHashes.get(file)!;
}

/**
 * What a topic holds, read back with kcat: how many records, and whether their values in order, one a line, are the
 * file byte for byte (every record delivered once, in file order).
 */
async function delivered(name: string, file: string): Promise<{ count: number; asFile: boolean }> {
  const reader = execa('kcat', ['-b', BROKER, '-C', '-t', name, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], {
    buffer: false,
  });
  const hash = createHash('sha256');
  let count = 0;
  reader.stdout.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) count++;
  });
  await reader;
  return { count, asFile: hash.digest('hex') === (await fileHash(file)) };
}

/** Mean rate from first to last record, and the spread of the full one-second buckets. */
function accuracy(times: number[]): { mean: number; stdev: number; min: number; max: number } {
  const first = times[0]!;
  const last = times.at(-1)!;
  const mean = ((times.length - 1) * 1000) / (last - first);
  const buckets = new Array<number>(Math.floor((last - first) / 1000)).fill(0);
  for (const t of times) {
    const i = Math.floor((t - first) / 1000);
    if (i < buckets.length) buckets[i]!++;
  }
  const avg = buckets.reduce((a, b) => a + b, 0) / buckets.length;
  const stdev = Math.sqrt(buckets.reduce((a, b) => a + (b - avg) ** 2, 0) / buckets.length);
  return { mean, stdev, min: Math.min(...buckets), max: Math.max(...buckets) };
}

interface Measured {
  ms: number;
  peakMiB: number;
  /** The command's CPU, user and system. */
  cpuMs: number;
  /** The broker's CPU meanwhile, when its container's cgroup can be read. */
  brokerCpuMs?: number;
}

/**
 * Runs a command under /usr/bin/time: wall time, the kernel's exact peak resident memory and CPU, and the
 * broker's CPU over the same time.
 */
async function measure(command: string, args: string[]): Promise<Measured> {
  const report = resolve(work, 'time.txt');
  const brokerBefore = brokerCpuMs();
  const started = performance.now();
  await execa('/usr/bin/time', ['-f', '%M %U %S', '-o', report, command, ...args]);
  const ms = performance.now() - started;
  const brokerAfter = brokerCpuMs();
  const [peakKiB, user, system] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return {
    ms,
    peakMiB: peakKiB! / 1024,
    cpuMs: (user! + system!) * 1000,
    brokerCpuMs: brokerBefore !== undefined && brokerAfter !== undefined ? brokerAfter - brokerBefore : undefined,
  };
}

const brokerCpuMs = () => containerCpuMs(brokerContainerId);

/** bench/replay/ceiling.ts: only its sends are timed, so it has no start, memory or CPU of its own to show. */
async function ceiling(name: string, file: string): Promise<Measured> {
  const brokerBefore = brokerCpuMs();
  const bun = resolve(root, 'node_modules/.bin/bun');
  const { stdout } = await execa(bun, [resolve(root, 'bench/replay/ceiling.ts'), BROKER, name, file]);
  const brokerAfter = brokerCpuMs();
  return {
    ms: (JSON.parse(stdout) as { sendMs: number }).sendMs,
    peakMiB: NaN,
    cpuMs: NaN,
    brokerCpuMs: brokerBefore !== undefined && brokerAfter !== undefined ? brokerAfter - brokerBefore : undefined,
  };
}

interface Contender {
  name: string;
  /** Sends random lines of the file rather than the file: only its count can be checked. */
  randomLines?: boolean;
  run: (topic: string) => Promise<Measured>;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

log('starting Kafka (KRaft)');
await execa(pbx, ['up', 'kafka', '--config', config]);
const brokerContainerId = await containerId('pbx-benchreplay-kafka');
try {
  const file = await dataset(RECORDS);
  const size = statSync(file).size;

  // Throughput: every tool sends the same 1M reviews to a fresh one-partition topic, acks=all.
  log('throughput');
  // Rounds in alternating order, medians: single runs on this machine vary by a quarter. kcat runs twice: as users
  // run it, and with the idempotent producer that pbx uses by default (no duplicates or reordering on a retry).
  const kcatVersion = /Version ([\d.]+)/.exec((await execa('kcat', ['-V'])).stdout)?.[1];
  const replayWith = (binary: string) => (t: string) =>
    measure(binary, ['replay', file, '--topic', t, '--rate', 'max', '--config', config]);
  const contenders: Contender[] = [
    { name: 'pbx replay --rate max', run: replayWith(pbx) },
    ...(options.baseline
      ? [{ name: `pbx replay --rate max, baseline build (${options.baseline})`, run: replayWith(options.baseline) }]
      : []),
    {
      name: `kcat -P -l (Debian ${kcatVersion})`,
      run: (t: string) => measure('kcat', ['-P', '-b', BROKER, '-t', t, '-X', 'acks=all', '-l', file]),
    },
    {
      name: 'kcat -P -l, idempotent like pbx',
      run: (t: string) =>
        measure('kcat', ['-P', '-b', BROKER, '-t', t, '-X', 'acks=all', '-X', 'enable.idempotence=true', '-l', file]),
    },
    {
      name: "the broker's ceiling: pbx's producer with every batch built before the clock starts (sends only)",
      run: (t: string) => ceiling(t, file),
    },
    {
      // Its own figure, from its first record to its last acknowledgement: the JVM's start and the loading of the
      // payload file into memory are left out. It sends random lines of the file: only the count can be checked.
      name: 'kafka-producer-perf-test --payload-file, batch.size 1 MB, linger 5 ms (its own figure)',
      randomLines: true,
      run: async (t: string) => {
        const out = await perfTool(t, file, RECORDS, -1);
        const rate = Number(/records sent, ([\d.]+) records\/sec/.exec(out.trim().split('\n').at(-1)!)?.[1]);
        return { ms: (RECORDS * 1000) / rate, peakMiB: NaN, cpuMs: NaN };
      },
    },
  ];
  const runs = new Map(contenders.map((c) => [c, [] as Array<Measured & { count: number; asFile: boolean }>]));
  // A new broker spends twice the CPU on its first gigabyte of writes as on later ones (its JIT warms up), and
  // the first two runs show it: one untimed run by each contender first, so that no timed run pays for it.
  for (const contender of contenders) {
    const warmUp = topic('warm-up');
    await createTopic(warmUp);
    await contender.run(warmUp);
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Each round in the other order: no tool always runs right after the same one, or always first.
    for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
      const name = topic('max');
      await createTopic(name);
      const measured = await contender.run(name);
      runs.get(contender)!.push({ ...measured, ...(await delivered(name, file)) });
    }
  }
  const rateOf = (ms: number) => (RECORDS * 1000) / ms;
  const pbxRuns = runs.get(contenders[0]!)!;
  for (const c of contenders)
    log(
      `${c.name}: ${runs
        .get(c)!
        .map((r) => seconds(r.ms))
        .join(', ')} s`,
    );
  console.log(`\n### Throughput: ${RECORDS} reviews (${(size / 2 ** 20).toFixed(0)} MiB), one partition, acks=all\n`);
  console.log(
    `Medians of ${ROUNDS} rounds; "pbx ÷ tool" is the median of the rounds' own ratios (pbx against the tool in the same round).\n`,
  );
  console.log('| tool | records/s | wall s | delivered, every round | pbx ÷ tool |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const c of contenders) {
    const own = runs.get(c)!;
    const ratios = own.map((r, i) => r.ms / pbxRuns[i]!.ms);
    const exact = own.filter((r) => r.count === RECORDS && (c.randomLines || r.asFile)).length;
    const what = c.randomLines ? `${RECORDS} records (random lines)` : `the file, in order`;
    const counts = [...new Set(own.map((r) => r.count))].join(', ');
    const verdict = exact === ROUNDS ? `${what}: ${exact}/${ROUNDS}` : `${exact}/${ROUNDS} exact (counts ${counts})`;
    const ms = median(own.map((r) => r.ms));
    console.log(
      `| ${c.name} | ${Math.round(rateOf(ms))} | ${seconds(ms)} | ${verdict} | ${median(ratios).toFixed(2)} |`,
    );
  }
  const cpu = (values: (number | undefined)[]) =>
    values.every((v) => v !== undefined) ? (median(values) / 1000).toFixed(2) : 'n/a';
  console.log(`\nCPU for the file, user and system (median of the ${ROUNDS} rounds):\n`);
  console.log("| tool | the tool's CPU s | the broker's CPU meanwhile s |");
  console.log('| --- | --- | --- |');
  for (const c of contenders.filter((c) => runs.get(c)!.every((r) => Number.isFinite(r.cpuMs)))) {
    const own = runs.get(c)!;
    console.log(`| ${c.name} | ${cpu(own.map((r) => r.cpuMs))} | ${cpu(own.map((r) => r.brokerCpuMs))} |`);
  }

  if (!options['throughput-only']) {
    // Rate accuracy: N/s for SECONDS s, arrival times read back with kcat.
    console.log(`\n### Rate accuracy: ${SECONDS} s at each rate, per-second counts of the records' create times\n`);
    console.log('| target/s | tool | mean achieved/s | error | stdev of per-second counts | min–max per second |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const rate of [2, 1000, 20000]) {
      const records = rate * SECONDS + 1;
      const source = await dataset(RECORDS);
      log(`rate ${rate}: pbx`);
      const a = topic(`pbx-rate-${rate}`);
      await execa(pbx, [
        'replay',
        source,
        '--topic',
        a,
        '--rate',
        String(rate),
        '--limit',
        String(records),
        '--config',
        config,
      ]);
      log(`rate ${rate}: perf tool`);
      const b = topic(`perf-rate-${rate}`);
      await createTopic(b);
      await perfTool(b, source, records, rate);
      for (const [tool, name] of [
        ['pbx replay --rate', a],
        ['perf-test --throughput', b],
      ] as const) {
        const r = accuracy(await timestamps(name));
        console.log(
          `| ${rate} | ${tool} | ${r.mean.toFixed(3)} | ${(((r.mean - rate) / rate) * 100).toFixed(2)}% | ${r.stdev.toFixed(2)} | ${r.min}–${r.max} |`,
        );
      }
    }

    // Memory: a file larger than 1 GB at --rate max; kcat beside it for scale.
    const big = await dataset(Number(options['big-records']));
    const bigSize = statSync(big).size;
    log(`memory: ${(bigSize / 2 ** 30).toFixed(2)} GiB`);
    const m1 = await measure(pbx, ['replay', big, '--topic', topic('pbx-big'), '--rate', 'max', '--config', config]);
    const bigKcat = topic('kcat-big');
    await createTopic(bigKcat);
    const m2 = await measure('kcat', ['-P', '-b', BROKER, '-t', bigKcat, '-X', 'acks=all', '-l', big]);
    console.log(
      `\n### Peak memory: ${(bigSize / 2 ** 30).toFixed(2)} GiB file (${options['big-records']} reviews), --rate max\n`,
    );
    console.log('| tool | peak RSS MiB | wall s |');
    console.log('| --- | --- | --- |');
    console.log(
      `| pbx replay (1M-record runs above, median) | ${median(pbxRuns.map((r) => r.peakMiB)).toFixed(0)} | ${seconds(median(pbxRuns.map((r) => r.ms)))} |`,
    );
    console.log(`| pbx replay | ${m1.peakMiB.toFixed(0)} | ${seconds(m1.ms)} |`);
    console.log(`| kcat -P -l | ${m2.peakMiB.toFixed(0)} | ${seconds(m2.ms)} |`);
  }
} finally {
  await execa(pbx, ['down', '--volumes', '--config', config], { reject: false });
}
