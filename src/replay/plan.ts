// A replay's options, resolved once: every refusal that needs neither the data nor Kafka happens here, before
// anything is opened, and what the stages need is worked out once, as data.
import { UsageError } from '../cli/errors';
import type { Compression, RecordHeader } from '../clients/record-batch';
import { topicNameProblem } from '../clients/topics';
import type { ResolvedConfig } from '../config/load';
import type { OnError } from '../flow/kafka-sink';
import { isPipe } from '../flow/sources/inputs';
import type { SourceOptions } from '../flow/sources/open';
import { checkWritable } from './checkpoint';
import type { Pace } from './pacing';
import type { ReplayStats } from './stats';

export interface ReplayOptions {
  config: ResolvedConfig;
  source: SourceOptions;
  topic: string;
  pace: Pace;
  key?: string;
  headers?: Record<string, string>;
  partitions?: number;
  compression?: Compression;
  limit?: number;
  from?: number;
  loop?: boolean;
  checkpoint?: string;
  onError?: OnError;
  deadLetterTopic?: string;
  signal: AbortSignal;
  /** Called about four times a second with the live figures. */
  onProgress?: (stats: ReplayStats) => void;
  /** Something to tell the user while the replay runs (where a checkpoint resumes it, why stopping takes a while). */
  onNote?: (text: string) => void;
}

/** What a replay will do, checked: the stages read it, and only it. */
export interface ReplayPlan {
  config: ResolvedConfig;
  /** How to open the source, signal aside (the run's own). */
  source: Omit<SourceOptions, 'signal'>;
  /** A file, opened before Kafka is asked so that a missing or empty one is said first; not stdin or a command. */
  opensBeforeKafka: boolean;
  topic: string;
  deadLetterTopic?: string;
  /** The topics written to, the records' topic first. */
  topics: string[];
  /** Topics whose records carry no key: Kafka refuses them in a compacted topic. */
  unkeyedTopics: string[];
  pace: Pace;
  key?: string;
  headers: RecordHeader[];
  partitions?: number;
  compression?: Compression;
  limit?: number;
  from?: number;
  loop: boolean;
  checkpoint?: string;
  onError: OnError;
}

/** Resolves and checks a replay's options; the checkpoint's directory must be writable. */
export async function planReplay(
  options: Omit<ReplayOptions, 'signal' | 'onProgress' | 'onNote'>,
): Promise<ReplayPlan> {
  const plan = checkReplay(options);
  if (plan.checkpoint) await checkWritable(plan.checkpoint);
  return plan;
}

/** Every refusal of options that contradict each other or the source, in the order the user reads them. */
export function checkReplay(options: Omit<ReplayOptions, 'signal' | 'onProgress' | 'onNote'>): ReplayPlan {
  const { source, topic, deadLetterTopic, key } = options;
  const { signal: _, ...sourceOptions } = source;
  if (source.exec && source.path) throw new UsageError('Give a file or --exec, not both.');
  if (!source.exec && !source.path)
    throw new UsageError('Missing the dataset: give a file, - for stdin, or --exec "command".');
  for (const [flag, name] of [
    ['--topic', topic],
    ['--dead-letter-topic', deadLetterTopic],
  ] as const) {
    const problem = name === undefined ? undefined : topicNameProblem(name);
    if (problem) throw new UsageError(`${flag} ${name}: ${problem}.`);
  }
  const onError = options.onError ?? 'stop';
  if (onError === 'dead-letter' && !deadLetterTopic) {
    throw new UsageError('--on-error dead-letter needs --dead-letter-topic.');
  }
  if (deadLetterTopic && onError !== 'dead-letter') {
    throw new UsageError(
      `--dead-letter-topic is for --on-error dead-letter, which was not given (bad records would ${onError}).`,
    );
  }
  if (key?.trim() === '') throw new UsageError('--key needs a field (a dotted path), got "".');
  if (deadLetterTopic === topic) {
    throw new UsageError('--dead-letter-topic must not be --topic: bad records would land among the good ones.');
  }
  checkLoop(options);
  if (key && source.format === 'lines') {
    throw new UsageError('--key needs structured records (JSON or CSV), not plain lines.');
  }
  const topics = [topic, ...(deadLetterTopic ? [deadLetterTopic] : [])];
  return {
    config: options.config,
    // Without a key or a time field nothing reads the records' fields: NDJSON lines are only checked.
    source: { ...sourceOptions, checkOnly: key === undefined && options.pace.kind !== 'event-time' },
    opensBeforeKafka: source.path !== undefined && source.path !== '-',
    topic,
    deadLetterTopic,
    topics,
    unkeyedTopics: key === undefined ? topics : topics.slice(1), // dead letters carry no key
    pace: options.pace,
    key,
    headers: Object.entries(options.headers ?? {}),
    partitions: options.partitions,
    compression: options.compression,
    limit: options.limit,
    from: options.from,
    loop: options.loop ?? false,
    checkpoint: options.checkpoint,
    onError,
  };
}

/** --loop reads the source again: stdin and pipes can be read only once. */
function checkLoop({ loop, source }: Pick<ReplayOptions, 'loop' | 'source'>): void {
  if (!loop) return;
  if (source.path === '-') throw new UsageError('--loop needs a file or --exec: stdin can be read only once.');
  if (source.path !== undefined && isPipe(source.path)) {
    throw new UsageError(`--loop needs a file or --exec: ${source.path} is a pipe, which can be read only once.`);
  }
}
