// `pbx run` against its peers on the same broker, the same machine and the same input topics:
//   filter/map (reviews → filter → projection → topic) on --records reviews, and a word count (sentences → words →
//   count per word → topic) on --records sentences, each input loaded once with pbx replay into 3 partitions;
//   against a Kafka Streams application of the same topologies (kstreams/, exactly_once_v2) and a plain kafkajs loop
//   (kafkajs-loop.ts: at-least-once, and with --transactional one transaction per batch).
// Each contender first runs once untimed on the input's first 10,000 records (a fresh broker's first transactions
// and cold JIT), then in rounds: from its start until it has processed all of its input (each stops by itself, as
// `pbx run --until-end` does), into an output topic of its own; then the output is read back (read_committed) and
// checked: filter/map's records against the reference (count and content), the word count's last count per word
// against a count done here. The contenders take turns in a different order each round; the headline is the median.
// Each run's output is kept in bench/results/pipeline/logs/ (PBX_BENCH_DEBUG=1: Kafka Streams' committed offsets).
// --mode memory: pbx's peak memory with 10,000 and 1,000,000 keys of state (pbx only).
// --mode latency (pbx only; the stack gets Cassandra too): live runs (`pbx run <name>`, no --until-end) fed by
//   `pbx replay --rate 1000` with 60,000 reviews, their records/s and end-to-end latency read from the figures they
//   publish: the windowed count into Cassandra (then checked against a count done here), keyed by a function
//   (`windowed-count`: through the repartition topic) and by the records' own keys (`windowed-count-by-key`:
//   keyBy(), the topic being replayed --key product_id, no repartition), and filter/map topic → topic;
//   each after an untimed live run of its kind on 10,000 records (the stack's cold start, as the warm-up above).
// Usage: npm run build && flock /tmp/pbx-docker.lock npx tsx bench/pipeline/run.ts [--records 1000000] [--rounds 3]
//   [--pipelines filter-map,word-count (latency: windowed-count,windowed-count-by-key,filter-map)] [--contenders kstreams,kafkajs,kafkajs-tx,pbx]
//   [--mode throughput|memory|latency]; on the word count also pbx-shell (shell operators) and kcat-pipe (a plain
//   `kcat -C | sed | tr | sort | uniq -c | awk | kcat -P`), e.g. --pipelines word-count --contenders pbx,pbx-shell,kcat-pipe
// Needs: a provisioned engine with pbx/kafka (and pbx/cassandra for --mode latency), Java 17 and Maven (the Kafka Streams jar is built when missing), kcat.
// A contender that fails (pbx until its runtime lands) is reported with its error and left out of later rounds.
// Prints Markdown tables.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from 'cassandra-driver';
import type { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCassandraClient } from '../../src/clients/cassandra';
import { createKafka, type KafkaEndpoint } from '../../src/clients/kafka';
import { keyPartition } from '../../src/pipelines/runtime/repartition';
import { loadConfig } from '../../src/config/load';
import { cassandraEndpoint, kafkaEndpoint } from '../../src/services/endpoints';
import { waitFor } from '../../test/support/wait';
import { containerCpuMs, containerId } from '../container-cpu';
import {
  checkCounts,
  checkFilterMap,
  checkWindows,
  filterMapReference,
  hourlyCountReference,
  MIN_SCORE,
  windowKey,
  wordCountReference,
  type Verdict,
} from './check';
import { describeP99s, latencyFigures, watchFigures, type LatencyFigures } from './latency';

const { values: options } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    pipelines: { type: 'string' },
    contenders: { type: 'string', default: 'kstreams,kafkajs,kafkajs-tx,pbx' },
    mode: { type: 'string', default: 'throughput' },
  },
});
const RECORDS = Number(options.records);
const ROUNDS = Number(options.rounds);
const root = resolve(import.meta.dirname, '../..');
// PBX_BENCH_BINARY: a copy of the binary, so that rebuilding dist/pbx during a run changes no round.
const pbx = process.env.PBX_BENCH_BINARY ?? resolve(root, 'dist/pbx');
const work = resolve(root, 'bench/results/pipeline');
mkdirSync(resolve(work, 'logs'), { recursive: true });
// The pbx project the stack and `pbx run` use: outside the repository, whose type check would take its pipeline
// modules for its own (they import 'pbx', which only the binary resolves).
const project = resolve(tmpdir(), 'pbx-bench-pipeline');
mkdirSync(resolve(project, 'pipelines'), { recursive: true });
const PORT = 39393;
const BROKER = `127.0.0.1:${PORT}`;
const CASSANDRA_PORT = 39442;
const config = resolve(project, 'pbx.yaml');
// Cassandra only for --mode latency: the other modes' stack stays one Kafka.
const services = options.mode === 'latency' ? ['kafka', 'cassandra'] : ['kafka'];
writeFileSync(
  config,
  `name: benchpipeline\nimages: local\nservices:\n  kafka: {port: ${PORT}, mode: kraft}\n${services.includes('cassandra') ? `  cassandra: {port: ${CASSANDRA_PORT}}\n` : ''}`,
);
const PARTITIONS = 3;
// A fresh broker's first transactions create its transaction log (50 partitions), and its JIT is cold: each
// contender first runs untimed on this many records, so that no timed run pays for that.
const WARM_UP = 10_000;

const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const stamp = Date.now();
let seq = 0;
const unique = (name: string) => `${name}-${stamp}-${seq++}`;

type PipelineName = 'filter-map' | 'word-count';
interface Job {
  pipeline: PipelineName;
  input: string;
  output: string;
  /** Consumer group / application id: new for every run, so each starts at the beginning of its input. */
  id: string;
}
interface Measured {
  ms: number;
  /** What the contender printed (its own figures). */
  stdout: string;
  peakMiB: number;
  cpuMs: number;
  brokerCpuMs?: number;
}
interface Contender {
  name: string;
  /** The one pipeline it runs (the others leave it out). */
  only?: PipelineName;
  /** What it guarantees, per pipeline (the same words for both but for the transactional loop). */
  guarantee: (pipeline: PipelineName) => string;
  run: (job: Job) => Promise<Measured>;
}

let brokerId = '';

/**
 * Runs a command under /usr/bin/time: wall time, peak resident memory, CPU; and the broker's CPU meanwhile. Its
 * output goes to bench/results/pipeline/logs/<log>.log.
 */
async function measure(command: string, args: string[], at: { log: string; cwd?: string }): Promise<Measured> {
  const report = resolve(work, 'time.txt');
  const brokerBefore = containerCpuMs(brokerId);
  const started = performance.now();
  // PBX_BENCH_PROFILE=DIR: each timed pbx run writes a CPU profile (.cpuprofile) there.
  const profile = process.env.PBX_BENCH_PROFILE;
  const result = await execa('/usr/bin/time', ['-f', '%M %U %S', '-o', report, command, ...args], {
    ...(profile && command === pbx ? { env: { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${profile}` } } : {}),
    cwd: at.cwd ?? root,
    reject: false,
    all: true,
  });
  const ms = performance.now() - started;
  writeFileSync(resolve(work, 'logs', `${at.log}.log`), String(result.all));
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${gist(String(result.all))}`);
  const brokerAfter = containerCpuMs(brokerId);
  const [peakKiB, user, system] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return {
    ms,
    stdout: result.stdout.trim(),
    peakMiB: peakKiB! / 1024,
    cpuMs: (user! + system!) * 1000,
    brokerCpuMs: brokerBefore !== undefined && brokerAfter !== undefined ? brokerAfter - brokerBefore : undefined,
  };
}

/** The line of a failed run's output that says why: pbx's error message, Java's last cause, else the last line. */
function gist(output: string): string {
  const lines = output.trim().split('\n');
  const message = lines.find((l) => /"message":/.test(l))?.replace(/^\s*"message":\s*/, '');
  const cause = lines.findLast((l) => /^Caused by:|Exception/.test(l));
  return (message ?? cause ?? lines.at(-1) ?? '').trim().replace(/\|/g, '\\|').slice(0, 300);
}

async function createTopic(name: string): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: PARTITIONS }] });
  await admin.disconnect();
}

/** The Kafka Streams jar, built with Maven when missing (offline first: after one online resolve it needs no network). */
async function kstreamsJar(): Promise<string> {
  const maven = resolve(import.meta.dirname, 'kstreams');
  const jar = resolve(maven, 'target/kstreams-bench.jar');
  if (!existsSync(jar)) {
    log('building the Kafka Streams application');
    const offline = await execa('mvn', ['-q', '-o', 'package'], { cwd: maven, reject: false });
    if (offline.exitCode !== 0) await execa('mvn', ['-q', 'package'], { cwd: maven });
  }
  return jar;
}

/** The pbx contender's pipeline modules, written against src/pipelines/api.ts, reading and writing the job's topics. */
function pipelineModule(job: Job): string {
  const [from, to] = [JSON.stringify(job.input), JSON.stringify(job.output)];
  return job.pipeline === 'filter-map'
    ? `import { pipeline } from 'pbx';

export default pipeline('filter-map')
  .from(${from})
  .filter((r) => Number(r.score) >= ${MIN_SCORE})
  .map((r) => ({ product_id: r.product_id, score: r.score, user_id: r.user_id }))
  .to(${to});
`
    : `import { pipeline } from 'pbx';

export default pipeline('word-count')
  .from<{ id: number; text: string }>(${from})
  .flatMap((s) => s.text.split(' '))
  .keyBy((word) => word)
  .count()
  .to(${to});
`;
}

// The word count with shell commands as operators: sed and tr split each batch's sentences into words, every word
// goes to its key partition, and sort | uniq -c counts each partition's words over one window holding the whole input
// (time 0: a corpus has no time), each output keyed by its word, as the other contenders' are.
const SENTENCE_TEXT = String.raw`sed -E 's/.*"text":"([^"]*)".*/\1/'`;
const SPLIT_WORDS = String.raw`${SENTENCE_TEXT} | tr ' ' '\n'`;
const COUNT_WORDS = String.raw`sort | uniq -c | awk '{ printf "{\"word\":\"%s\",\"count\":%d}\n", $2, $1 }'`;
function shellWordCount(job: Job): string {
  return `import { pipeline, tumbling } from 'pbx';

export default pipeline('shell-word-count')
  .from(${JSON.stringify(job.input)}, { format: 'text', time: () => 0 })
  .shell(${JSON.stringify(SPLIT_WORDS)})
  .keyBy((word) => word)
  .window(tumbling('1d'))
  .shell(${JSON.stringify(COUNT_WORDS)}, { key: 'word' })
  .to(${JSON.stringify(job.output)});
`;
}

/** The same word count as a plain shell pipe between two kcat: no group, no offsets, nothing kept after a failure. */
function kcatPipe(job: Job): string {
  const read = String.raw`kcat -C -b ${BROKER} -t ${job.input} -o beginning -e -q -f '%s\n'`;
  // Each line "word<TAB>{json}": kcat -K writes the word as the record's key, as the other contenders key theirs.
  const count = String.raw`sort | uniq -c | awk '{ printf "%s\t{\"word\":\"%s\",\"count\":%d}\n", $2, $2, $1 }'`;
  const write = String.raw`kcat -P -b ${BROKER} -t ${job.output} -K '\t'`;
  return `${read} | ${SPLIT_WORDS} | ${count} | ${write}`;
}

async function contenders(wanted: string[]): Promise<Contender[]> {
  const tsx = resolve(root, 'node_modules/.bin/tsx');
  const loop = resolve(import.meta.dirname, 'kafkajs-loop.ts');
  const all: Record<string, () => Contender | Promise<Contender>> = {
    pbx: () => ({
      name: 'pbx run --until-end',
      guarantee: () => 'effectively once (transactions)',
      run: (job) => {
        writeFileSync(resolve(project, 'pipelines', `${job.pipeline}.ts`), pipelineModule(job));
        return measure(pbx, ['run', job.pipeline, '--until-end', '--json', '--reset'], {
          log: `pbx-${job.id}`,
          cwd: project,
        });
      },
    }),
    'pbx-shell': () => ({
      name: 'pbx run --until-end, shell operators',
      only: 'word-count',
      guarantee: () => 'effectively once (transactions)',
      run: (job) => {
        writeFileSync(resolve(project, 'pipelines', 'shell-word-count.ts'), shellWordCount(job));
        return measure(pbx, ['run', 'shell-word-count', '--until-end', '--json', '--reset'], {
          log: `pbx-shell-${job.id}`,
          cwd: project,
        });
      },
    }),
    'kcat-pipe': () => ({
      // (no '|' in the name: it is a cell of a Markdown table)
      name: 'a plain pipe: kcat -C, sed, tr, sort, uniq -c, awk, kcat -P',
      only: 'word-count',
      guarantee: () => 'none: no offsets; a failure loses or repeats all (not like for like)',
      run: (job) => measure('sh', ['-c', kcatPipe(job)], { log: `kcat-pipe-${job.id}` }),
    }),
    kstreams: async () => {
      const jar = await kstreamsJar();
      const pom = readFileSync(resolve(import.meta.dirname, 'kstreams/pom.xml'), 'utf8');
      return {
        name: `Kafka Streams ${/<kafka.version>([\d.]+)</.exec(pom)?.[1]}`,
        guarantee: () => 'exactly_once_v2',
        run: (job) =>
          measure('java', ['-cp', jar, 'pbx.bench.StreamsBench', job.pipeline, BROKER, job.input, job.output, job.id], {
            log: `kstreams-${job.id}`,
          }),
      };
    },
    kafkajs: () => ({
      name: 'kafkajs loop',
      guarantee: () => 'at-least-once (not like for like)',
      run: (job) =>
        measure(tsx, [loop, job.pipeline, BROKER, job.input, job.output, job.id], { log: `kafkajs-${job.id}` }),
    }),
    'kafkajs-tx': () => ({
      name: 'kafkajs loop, a transaction per batch',
      guarantee: (pipeline) =>
        pipeline === 'filter-map'
          ? 'a transaction per batch, read_committed (like for like)'
          : 'a transaction per batch, but its state only in memory (not like for like)',
      run: (job) =>
        measure(tsx, [loop, job.pipeline, BROKER, job.input, job.output, job.id, '--transactional'], {
          log: `kafkajs-tx-${job.id}`,
        }),
    }),
  };
  const list: Contender[] = [];
  for (const name of wanted) {
    if (!all[name]) throw new Error(`unknown contender ${name}: one of ${Object.keys(all).join(', ')}`);
    list.push(await all[name]());
  }
  return list;
}

interface Input {
  pipeline: PipelineName;
  topic: string;
  /** The first WARM_UP records of the same file, for each contender's untimed first run. */
  warmUp: string;
  check: (output: string) => Promise<Verdict>;
}

/** Loads a file into a new topic of 3 partitions (round-robin: the records have no key), as fast as pbx replay goes. */
async function load(file: string, topic: string, limit?: number): Promise<void> {
  log(`loading ${file} into ${topic}`);
  const args = ['--topic', topic, '--rate', 'max', '--partitions', String(PARTITIONS), '--config', config];
  await execa(pbx, ['replay', file, ...args, ...(limit ? ['--limit', String(limit)] : [])]);
}

/** Generates a dataset once per count (deterministic, seed 1), loads it into a new 3-partition topic, and computes
 * the reference its pipeline's output is checked against. */
async function loadInput(pipeline: PipelineName): Promise<Input> {
  const dataset = pipeline === 'filter-map' ? 'reviews' : 'sentences';
  const file = resolve(work, `${dataset}-${RECORDS}.json`);
  if (!existsSync(file)) {
    log(`generating ${RECORDS} ${dataset}`);
    await execa(pbx, ['data', 'gen', dataset, '--count', String(RECORDS), '--seed', '1', '--out', file]);
  }
  const topic = unique(dataset);
  await load(file, topic);
  const warmUp = unique(`${dataset}-warm-up`);
  await load(file, warmUp, WARM_UP);
  if (pipeline === 'filter-map') {
    const expected = await filterMapReference(file);
    return { pipeline, topic, warmUp, check: (output) => checkFilterMap(BROKER, output, expected) };
  }
  const expected = await wordCountReference(file);
  return { pipeline, topic, warmUp, check: (output) => checkCounts(BROKER, output, expected) };
}

type Run = Measured & Verdict;
interface Outcome {
  runs: Run[];
  failure?: string;
}

/** Rounds of every contender on one input, in alternating order; a contender that fails is left out after it. */
async function rounds(input: Input, all: Contender[]): Promise<Map<Contender, Outcome>> {
  const list = all.filter((c) => !c.only || c.only === input.pipeline);
  const outcomes = new Map(list.map((c): [Contender, Outcome] => [c, { runs: [] }]));
  for (const contender of list) {
    const output = unique(`${input.pipeline}-warm-up-out`);
    await createTopic(output);
    const job = { pipeline: input.pipeline, input: input.warmUp, output, id: unique(`warm-up-${input.pipeline}`) };
    // A fresh broker may refuse a topic it has just created for a moment ("not the leader"): its transaction log
    // and the pipeline's internal topics are new in a warm-up, which is tried once more if so.
    await contender
      .run(job)
      .catch(() => contender.run(job))
      .catch((error: Error) => {
        outcomes.get(contender)!.failure = error.message;
        log(`${input.pipeline}, ${contender.name} failed its warm-up, left out: ${error.message}`);
      });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const contender of round % 2 === 0 ? list : [...list].reverse()) {
      const outcome = outcomes.get(contender)!;
      if (outcome.failure) continue;
      const output = unique(`${input.pipeline}-out`);
      await createTopic(output);
      const job = { pipeline: input.pipeline, input: input.topic, output, id: unique(`bench-${input.pipeline}`) };
      try {
        const measured = await contender.run(job);
        const verdict = await input.check(output);
        log(
          `${input.pipeline}, round ${round + 1}, ${contender.name}: ${seconds(measured.ms)} s (${measured.stdout}); ${verdict.what}${verdict.detail ? ` (${verdict.detail})` : ''}`,
        );
        outcome.runs.push({ ...measured, ...verdict });
      } catch (error) {
        outcome.failure = (error as Error).message;
        log(`${input.pipeline}, ${contender.name} failed, left out: ${outcome.failure}`);
      }
    }
  }
  return outcomes;
}

function report(pipeline: PipelineName, outcomes: Map<Contender, Outcome>): void {
  const what =
    pipeline === 'filter-map'
      ? `filter/map: ${RECORDS} reviews → filter (score >= ${MIN_SCORE}) → {product_id, score, user_id} → topic`
      : `word count: ${RECORDS} sentences → words → count per word → topic`;
  console.log(`\n### ${what}, ${PARTITIONS} partitions\n`);
  console.log(
    `Medians of ${ROUNDS} rounds, input records per second from each contender's start to all input processed; "÷ Kafka Streams" is the median of the rounds' own ratios.\n`,
  );
  console.log(
    '| contender | guarantee | records/s | wall s | output checked | peak RSS MiB | CPU s | broker CPU s | ÷ Kafka Streams |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const streams = [...outcomes].find(([c]) => c.name.startsWith('Kafka Streams'))?.[1].runs;
  for (const [contender, { runs, failure }] of outcomes) {
    if (runs.length === 0) {
      console.log(`| ${contender.name} | ${contender.guarantee(pipeline)} | failed: ${failure} | | | | | | |`);
      continue;
    }
    const ms = median(runs.map((r) => r.ms));
    const good = runs.filter((r) => r.ok).length;
    const checked =
      good === runs.length ? `${runs[0]!.what}: ${good}/${runs.length}` : runs.map((r) => r.what).join('; ');
    const ratio = streams?.length === runs.length ? median(runs.map((r, i) => streams[i]!.ms / r.ms)).toFixed(2) : '';
    const broker = runs.every((r) => r.brokerCpuMs !== undefined)
      ? seconds(median(runs.map((r) => r.brokerCpuMs!)))
      : 'n/a';
    console.log(
      `| ${contender.name} | ${contender.guarantee(pipeline)} | ${Math.round((RECORDS * 1000) / ms)} | ${seconds(ms)} | ${checked} | ${median(runs.map((r) => r.peakMiB)).toFixed(0)} | ${seconds(median(runs.map((r) => r.cpuMs)))} | ${broker} | ${ratio} |`,
    );
    if (failure) console.log(`| ${contender.name}, later rounds | | failed: ${failure} | | | | | | |`);
  }
  for (const [contender, { runs }] of outcomes)
    log(`${pipeline}, ${contender.name}: ${runs.map((r) => seconds(r.ms)).join(', ')} s`);
}

async function throughput(): Promise<void> {
  const list = await contenders(options.contenders.split(','));
  for (const pipeline of (options.pipelines ?? 'filter-map,word-count').split(',') as PipelineName[]) {
    if (pipeline !== 'filter-map' && pipeline !== 'word-count') throw new Error(`unknown pipeline ${String(pipeline)}`);
    report(pipeline, await rounds(await loadInput(pipeline), list));
  }
}

// --mode latency: live runs at a steady rate, pbx only (no peer). Each pipeline is started live (`pbx run <name>`, no
// --until-end), and once it reads, `pbx replay --rate 1000 --key product_id` sends it 60,000 reviews; meanwhile the
// figures it publishes once a second (end-to-end latency: a record's Kafka create time to its sink's acknowledgement)
// are read with the runtime's own reader; once it has read everything it is stopped with SIGINT (exit 130).
const LIVE = { rate: 1000, records: 60_000, goalMs: 50 };
// A fresh stack's first seconds of transactions and Cassandra writes are slow (cold JIT in the broker and in Cassandra,
// the transaction log's first use): traced, they set a run's p99 by themselves, the first 2 s of 60 holding most of the
// results over 200 ms. As the throughput mode's untimed first run, each pipeline first runs live on the stack, untimed:
// the same module on a topic (and table) of its own, fed this many records at the same rate, then stopped.
const WARM_UP_LIVE = 10_000;
// A partition empty when a run starts does not hold its watermark back (README, "Event time"): started on an empty
// topic, a run could close a window on one partition's records before another partition's first records of it
// arrive, and find those late. The windowed count's run therefore starts once the first records fill every partition.
const SEED = 60;
const PER_HOUR_TABLE =
  'CREATE TABLE IF NOT EXISTS reviews.per_hour (key text, window_start timestamp, window_end timestamp, count bigint, PRIMARY KEY (key, window_start))';

interface LiveJob {
  name: string;
  module: string;
  input: string;
  /** Records replayed before the run starts. */
  seed: number;
  /** Records replayed in all, the seed included. */
  records: number;
}
interface Live {
  figures: LatencyFigures;
  /** Records sent (the seed included), and the rate the timed replay achieved. */
  sent: number;
  replayRate: number;
  /** How `pbx run` ended after SIGINT: 130 when it committed and left. */
  exit: number | string | undefined;
}

/** Runs a pipeline live while the replay feeds it at LIVE.rate, follows its figures, stops it once it read all. */
async function liveRun(file: string, job: LiveJob, admin: Admin, endpoint: KafkaEndpoint): Promise<Live> {
  writeFileSync(resolve(project, 'pipelines', `${job.name}.ts`), job.module);
  await createTopic(job.input);
  const replay = (from: number, limit: number) =>
    execa(pbx, [
      ...['replay', file, '--topic', job.input, '--rate', String(LIVE.rate), '--key', 'product_id'],
      ...['--from', String(from), '--limit', String(limit), '--json', '--config', config],
    ]);
  if (job.seed > 0) {
    await replay(0, job.seed);
    const empty = (await admin.fetchTopicOffsets(job.input)).filter((p) => p.high === '0');
    if (empty.length > 0) throw new Error(`the first ${job.seed} records left ${empty.length} partition(s) empty`);
  }
  // Following the figures first creates their topic, and reads the run's first snapshot.
  const watch = await watchFigures(endpoint, admin, job.name);
  const run = execa(pbx, ['run', job.name, '--json', '--config', config], {
    cwd: project,
    reject: false,
    all: true,
    env: { CI: '1' },
  });
  const gone = () => (run.exitCode === null ? undefined : `pbx run ended with exit ${run.exitCode}`);
  try {
    await waitFor(async () => (await admin.describeGroups([`pbx-${job.name}`])).groups[0]?.state, {
      ...{ what: `the group pbx-${job.name} to be stable`, timeout: 120_000, interval: 250, giveUpIf: gone },
      until: (state) => state === 'Stable',
    });
    await waitFor(() => watch.latest()?.consumed.total ?? -1, {
      ...{ what: `pbx run to read the first ${job.seed} records`, timeout: 60_000, giveUpIf: gone },
      until: (read) => read >= job.seed,
    });
    log(`${job.name}: replaying ${job.records - job.seed} reviews at ${LIVE.rate}/s`);
    const from = Date.now();
    const summary = JSON.parse((await replay(job.seed, job.records - job.seed)).stdout) as {
      sent: number;
      achievedRate: number;
    };
    const to = Date.now();
    await waitFor(() => watch.latest()?.consumed.total ?? 0, {
      ...{ what: `pbx run to read all ${job.records} records`, timeout: 60_000, giveUpIf: gone },
      until: (read) => read >= job.records,
    });
    await sleep(3000); // the last windows' writes, and the snapshots after them
    watch.latest();
    const figures = latencyFigures([...watch.snapshots], from, to);
    run.kill('SIGINT');
    const result = await run;
    const sent = job.seed + summary.sent;
    return { figures, sent, replayRate: summary.achievedRate, exit: result.exitCode ?? result.signal };
  } finally {
    const hung = setTimeout(() => run.kill('SIGKILL'), run.exitCode === null && !run.killed ? 0 : 60_000);
    writeFileSync(resolve(work, 'logs', `pbx-live-${job.input}.log`), String((await run).all));
    clearTimeout(hung);
    await watch.stop();
  }
}

/** The untimed live run before a timed one (WARM_UP_LIVE): its figures are logged, not reported. */
async function warmUp(file: string, job: LiveJob, admin: Admin, endpoint: KafkaEndpoint): Promise<void> {
  const { figures, exit } = await liveRun(file, job, admin, endpoint);
  const { p50, p99, max } = figures.run;
  log(`${job.name} (untimed): p50 ${p50} ms, p99 ${p99} ms, max ${max} ms, exit ${String(exit)}`);
}

/** A per-hour table (reviews.per_hour…) as `${key}@${window_start}` → count. */
async function perHourRows(cql: Client, table: string): Promise<Map<string, number>> {
  const rows = await cql.execute(`SELECT key, window_start, count FROM ${table}`, [], { fetchSize: 1_000_000 });
  return new Map(
    rows.rows.map((row) => [
      windowKey(row.get('key') as string, (row.get('window_start') as Date).getTime()),
      Number(row.get('count')),
    ]),
  );
}

/**
 * The contract's windowed count into Cassandra, live; checked after Ctrl-C, then after a --until-end run. `byKey`:
 * keyed by the records' own keys (keyBy(); the replay keys them by product_id), with no repartition topic.
 */
async function windowedCount(
  file: string,
  admin: Admin,
  endpoint: KafkaEndpoint,
  cql: Client,
  byKey: boolean,
): Promise<string> {
  const table = `reviews.per_hour${byKey ? '_by_key' : ''}`;
  await cql.execute(
    "CREATE KEYSPACE IF NOT EXISTS reviews WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
  );
  await cql.execute(PER_HOUR_TABLE.replace('reviews.per_hour', table));
  await cql.execute(PER_HOUR_TABLE.replace('reviews.per_hour', `${table}_warm_up`));
  const keyBy = byKey ? '.keyBy()' : '.keyBy((r) => r.product_id)';
  const module = (name: string, input: string, table: string) => `import { pipeline, cassandra, tumbling } from 'pbx';

export default pipeline('${name}')
  .from(${JSON.stringify(input)}, { time: (r) => r.time * 1000 })
  .filter((r) => Number(r.score) >= ${MIN_SCORE})
  ${keyBy}
  .window(tumbling('1h'))
  .count()
  .to(cassandra('${table}'));
`;
  const name = `reviews-per-hour${byKey ? '-by-key' : ''}`;
  const warm = unique('reviews-warm-up');
  const warmName = `${name}-warm-up`;
  const warmJob = { name: warmName, module: module(warmName, warm, `${table}_warm_up`), input: warm };
  await warmUp(file, { ...warmJob, seed: SEED, records: WARM_UP_LIVE }, admin, endpoint);
  const input = unique('reviews-live');
  const job = { name, module: module(name, input, table), input };
  const expected = await hourlyCountReference(file);
  const live = await liveRun(file, { ...job, seed: SEED, records: LIVE.records }, admin, endpoint);
  // keyBy(): windows close by their own partition's event time; the replay partitions by murmur2 of product_id.
  const partitionOf = byKey ? (product: string) => keyPartition(product, PARTITIONS) : undefined;
  const closed = checkWindows(await perHourRows(cql, table), expected, 'closed', partitionOf);
  log(`${name} after Ctrl-C: ${closed.what}`);
  const end = await execa(pbx, ['run', name, '--until-end', '--json', '--config', config], {
    ...{ cwd: project, reject: false, all: true, env: { CI: '1' } },
  });
  writeFileSync(resolve(work, 'logs', `pbx-until-end-${input}.log`), String(end.all));
  const all: Verdict =
    end.exitCode === 0
      ? checkWindows(await perHourRows(cql, table), expected, 'all')
      : { ok: false, what: `--until-end failed, exit ${end.exitCode}: ${gist(String(end.all))}` };
  log(`${name} after --until-end: ${all.what}`);
  const checked = `after Ctrl-C: ${closed.what}; after a --until-end run: ${all.what} (reference: ${LIVE.records} reviews)`;
  const pipeline = byKey
    ? `windowed-count-by-key: reviews (keyed by product_id) → keyBy() → tumbling('1h') count → cassandra('${table}'), no repartition`
    : `windowed-count: reviews → keyBy(product_id) ⇒ repartition ⇒ tumbling('1h') count → cassandra('${table}')`;
  return liveRow(pipeline, live, checked);
}

/** filter/map topic → topic, live: the figure comparable to "a record's create time to its sink's acknowledgement". */
async function liveFilterMap(file: string, admin: Admin, endpoint: KafkaEndpoint): Promise<string> {
  const warm = { input: unique('reviews-warm-up-fm'), output: unique('filter-map-warm-up-out') };
  await createTopic(warm.output);
  const warmModule = pipelineModule({ pipeline: 'filter-map', ...warm, id: warm.input }).replace(
    "pipeline('filter-map')",
    "pipeline('filter-map-warm-up')",
  );
  const warmJob = { name: 'filter-map-warm-up', module: warmModule, input: warm.input };
  await warmUp(file, { ...warmJob, seed: 0, records: WARM_UP_LIVE }, admin, endpoint);
  const input = unique('reviews-live-fm');
  const output = unique('filter-map-live-out');
  await createTopic(output);
  const module = pipelineModule({ pipeline: 'filter-map', input, output, id: input });
  const live = await liveRun(
    file,
    { name: 'filter-map', module, input, seed: 0, records: LIVE.records },
    admin,
    endpoint,
  );
  const verdict = await checkFilterMap(BROKER, output, await filterMapReference(file));
  log(`filter/map live: ${verdict.what}`);
  return liveRow(`reviews → filter (score >= ${MIN_SCORE}) → {product_id, score, user_id} → topic`, live, verdict.what);
}

function liveRow(pipeline: string, live: Live, checked: string): string {
  const { run, readPerSecond, lastSecondP99s } = live.figures;
  const ms = (n: number) => n.toFixed(1);
  return `| ${pipeline} | ${live.sent} at ${Math.round(live.replayRate)}/s | ${Math.round(readPerSecond)} | ${run.count} | ${ms(run.p50)} | ${ms(run.p95)} | ${ms(run.p99)} | ${ms(run.max)} | ${describeP99s(lastSecondP99s, LIVE.goalMs)} | ${live.exit} | ${checked.replace(/\|/g, '\\|')} |`;
}

async function latency(): Promise<void> {
  const file = resolve(work, `reviews-${LIVE.records}.json`);
  if (!existsSync(file))
    await execa(pbx, ['data', 'gen', 'reviews', '--count', String(LIVE.records), '--seed', '1', '--out', file]);
  const resolved = loadConfig({ file: config });
  const endpoint = kafkaEndpoint(resolved);
  const admin = (await createKafka(endpoint, { clientId: 'pbx-bench' })).admin();
  await admin.connect();
  const cql = await createCassandraClient(cassandraEndpoint(resolved));
  await cql.connect();
  try {
    const failed = (what: string) => (error: Error) =>
      `| ${what} | failed: ${error.message.slice(0, 300).replace(/\|/g, '\\|')} |${' |'.repeat(9)}`;
    const wanted = (options.pipelines ?? 'windowed-count,windowed-count-by-key,filter-map').split(',');
    const rows: string[] = [];
    // In the order asked for (each on a warm stack after an untimed run of its own).
    for (const pipeline of wanted) {
      if (pipeline !== 'windowed-count' && pipeline !== 'windowed-count-by-key') continue;
      const byKey = pipeline === 'windowed-count-by-key';
      rows.push(await windowedCount(file, admin, endpoint, cql, byKey).catch(failed(`${pipeline} into Cassandra`)));
    }
    if (wanted.includes('filter-map'))
      rows.push(await liveFilterMap(file, admin, endpoint).catch(failed('filter/map topic → topic')));
    console.log(
      `\n### End-to-end latency at a steady ${LIVE.rate} records/s, ${PARTITIONS} partitions, pbx run (live)\n`,
    );
    console.log(
      `${LIVE.records} reviews (pbx data gen reviews --seed 1) sent by pbx replay --rate ${LIVE.rate} --key product_id; latency in ms from each result's Kafka create time to its sink's acknowledgement, over the run (the figures pbx run publishes); each second's p99: median / p90 / largest.\n`,
    );
    console.log(
      "| pipeline | sent | read records/s (median second) | results acknowledged | p50 | p95 | p99 | max | each second's p99 | exit on SIGINT | checked |",
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
  } finally {
    await cql.shutdown();
    await admin.disconnect();
  }
}

/**
 * State memory, pbx only: its peak resident memory while it keeps a count per key over 10,000 and 1,000,000 distinct
 * keys ({"k": "key-<i mod K>"}, --records of them or K if more), the output checked like the word count's.
 */
async function memory(): Promise<void> {
  console.log(`\n### State memory: a count per key, ${PARTITIONS} partitions, pbx run --until-end\n`);
  console.log('| distinct keys | records | peak RSS MiB | wall s | output checked |');
  console.log('| --- | --- | --- | --- | --- |');
  const stateModule = (input: string, output: string) =>
    `import { pipeline } from 'pbx';\n\nexport default pipeline('state-memory')\n  .from<{ k: string }>(${JSON.stringify(input)})\n  .keyBy((r) => r.k)\n  .count()\n  .to(${JSON.stringify(output)});\n`;
  const keysFile = (keys: number, records: number) => {
    const file = resolve(work, `keys-${keys}-${records}.json`);
    if (!existsSync(file))
      writeFileSync(file, Array.from({ length: records }, (_, i) => `{"k":"key-${i % keys}"}\n`).join(''));
    return file;
  };
  // A fresh broker's first transactions create its transaction log, and its first new topics may be refused for a
  // moment: an untimed run on WARM_UP records first, as the throughput mode's contenders have.
  const warmUp = unique('keys-warm-up');
  await load(keysFile(10_000, 1_000_000), warmUp, WARM_UP);
  const warmOutput = unique('state-memory-out');
  await createTopic(warmOutput);
  writeFileSync(resolve(project, 'pipelines', 'state-memory.ts'), stateModule(warmUp, warmOutput));
  const warm = await execa(pbx, ['run', 'state-memory', '--until-end', '--json', '--reset'], {
    cwd: project,
    reject: false,
  });
  if (warm.exitCode !== 0) log(`warm-up run: exit ${warm.exitCode}: ${gist(String(warm.stderr))}`);
  for (const keys of [10_000, 1_000_000]) {
    const records = Math.max(RECORDS, keys);
    const file = keysFile(keys, records);
    const expected = new Map<string, number>();
    for (let i = 0; i < keys; i++) expected.set(`key-${i}`, Math.floor(records / keys) + (i < records % keys ? 1 : 0));
    const input = unique(`keys-${keys}`);
    await load(file, input);
    const output = unique('state-memory-out');
    await createTopic(output);
    writeFileSync(resolve(project, 'pipelines', 'state-memory.ts'), stateModule(input, output));
    try {
      const run = await measure(pbx, ['run', 'state-memory', '--until-end', '--json', '--reset'], {
        log: `pbx-${output}`,
        cwd: project,
      });
      const verdict = await checkCounts(BROKER, output, expected);
      console.log(`| ${keys} | ${records} | ${run.peakMiB.toFixed(0)} | ${seconds(run.ms)} | ${verdict.what} |`);
    } catch (error) {
      console.log(`| ${keys} | ${records} | failed: ${(error as Error).message} | | |`);
    }
  }
}

log(`starting ${services.join(' and ')}`);
await execa(pbx, ['up', ...services, '--config', config]);
brokerId = await containerId('pbx-benchpipeline-kafka');
try {
  const modes: Record<string, () => Promise<void>> = { throughput, latency, memory };
  if (!modes[options.mode]) throw new Error(`unknown --mode ${options.mode}: throughput, latency or memory`);
  await modes[options.mode]!();
} finally {
  await execa(pbx, ['down', '--volumes', '--config', config], { reject: false });
}
