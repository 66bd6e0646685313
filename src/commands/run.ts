import { Args, Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { InterruptedError, UsageError } from '../cli/errors';
import { interruptSignal, setForceNote } from '../cli/interrupt';
import { formatDuration, type Output } from '../cli/output';
import { pipelineView } from '../ui/pipeline-view';
import { startLiveView } from '../ui/live-view';
import { toMs, type PipelineSpec } from '../pipelines/api';
import { checkSpec, loadPipeline } from '../pipelines/load';
import { commandLineSpec } from '../pipelines/command-line';
import {
  COMMAND_LINE_FILE,
  commandLineFlags,
  commandLineFlagsGiven,
  commandLinePipeline,
  type CommandLineFlags,
  type RawTokens,
} from '../pipelines/command-line-flags';
import { runPipeline, type RunOptions, type RunSummary } from '../pipelines/runtime/run';
import { IDLE_TIMEOUT_DEFAULT } from '../pipelines/runtime/idleness';
import { shapeLines, shapeOf, type PipelineShape } from '../pipelines/shape';

export default class Run extends PbxCommand {
  static override summary =
    'Run a pipeline: a module, or one written on the command line with --from, --shell and --to.';
  static override description = `A name is the project's pipelines/<name>.ts (or .mts, .js, .mjs); a path is that file. The module is TypeScript imported as it is, no build step: \`import { pipeline } from 'pbx'\` is pbx's own API, and packages in the project's node_modules import as usual. A module that fails to load is reported at its file and line; a pipeline that reads nothing or writes nowhere is refused before anything connects. --check stops there and prints the pipeline's stages.

Instead of a module, --from TOPIC writes a pipeline on the command line, built by the same API and run the same way: --shell commands, --key-by FIELD and --window SIZE apply in the order given (a --shell after --key-by runs once per key partition; after --window, over each window's records), --to names where the results go (a topic, or cassandra:keyspace.table). Its name and thus its group is --group, or one derived from the flags: the same command line goes on where it stopped. Without --to it prints each value on a line (a string as it is, anything else as JSON), at least once: a value is printed before its batch is committed, so a run killed mid-batch prints that batch's values again when started again. A reader that stops reading holds the pipeline back; one that quits (| head) ends the run with exit 0, and the next run prints again the batch it cut short.

The pipeline reads its topics in the consumer group pbx-<pipeline>: --replicas N runs N workers in it, and the same command on another machine, against the same Kafka, joins it. A new group starts at the beginning of its topics (--start latest: at their end); --until-end stops once every input partition reaches the end offsets seen at start; --reset starts over, offsets and state.

A record an operator throws on, a value that is not the JSON expected, a shell command that fails, or a record later than its window's allowed lateness stops the run by default; --on-error skip counts it, --on-error dead-letter sends it to --dead-letter-topic with the reason. A sink that is down is retried with backoff, committing nothing past it, for --sink-timeout, then the run ends with exit 3 and resumes from there when started again.

In a live run (no --until-end) an input partition read to its end, with nothing new for --idle-timeout, is idle: it holds the windows open no more, until it has records again; those of its records that are then behind the watermark are late.`;
  static override examples = [
    '<%= config.bin %> run reviews-per-hour',
    '<%= config.bin %> run reviews-per-hour --check',
    '<%= config.bin %> run reviews-per-hour --until-end --json',
    '<%= config.bin %> run pipelines/clean.ts --replicas 3 --start latest',
    '<%= config.bin %> run clean --on-error dead-letter --dead-letter-topic clean-rejects',
    `<%= config.bin %> run --from sentences --shell "tr ' ' '\\n'" --shell "grep -v '^$'" --ok-exit 0,1 --to words`,
    '<%= config.bin %> run --from access-log --shell "grep \' 404 \'" --ok-exit 0,1',
    '<%= config.bin %> run --from words --key-by . --window 1m --shell "sort | uniq -c" --to word-counts --until-end',
    '<%= config.bin %> run --from orders --format json --key-by customer.id --to orders-by-customer --group by-customer',
  ];
  static override args = {
    pipeline: Args.string({ description: 'A pipeline name (pipelines/<name>.ts) or a module file; or --from.' }),
  };
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    ...commandLineFlags,
    check: Flags.boolean({
      description: 'Load and check the pipeline, print its stages and exit: connects to nothing.',
      default: false,
    }),
    replicas: Flags.integer({ description: 'Workers to run in the pipeline’s consumer group.', min: 1, default: 1 }),
    start: Flags.string({
      description: 'Where a new consumer group starts in its topics.',
      options: ['earliest', 'latest'],
      default: 'earliest',
    }),
    'until-end': Flags.boolean({
      description: 'Stop once every input partition reaches the end offsets seen at start.',
      default: false,
    }),
    reset: Flags.boolean({ description: 'Start over: the group’s offsets and the pipeline’s state.', default: false }),
    'on-error': Flags.string({
      description: 'What a bad record does: stop, skip or dead-letter.',
      options: ['stop', 'skip', 'dead-letter'],
      default: 'stop',
    }),
    'dead-letter-topic': Flags.string({ description: 'Topic for bad records with --on-error dead-letter.' }),
    'sink-timeout': Flags.string({
      description: 'How long a sink that is down is retried before the run ends with exit 3 (e.g. 60s, 5m).',
      default: '60s',
    }),
    'idle-timeout': Flags.string({
      description:
        'How long an input partition with nothing to read holds a live run’s windows open before it counts as idle (e.g. 10s, 1m; off: until it has records).',
      default: IDLE_TIMEOUT_DEFAULT,
    }),
  };

  async run(): Promise<RunSummary | PipelineShape> {
    const { args, flags, raw } = await this.parse(Run);
    const out = this.output(flags);
    const sinkTimeoutMs = durationFlag('--sink-timeout', flags['sink-timeout']);
    const idle = flags['idle-timeout'];
    const idleTimeoutMs = idle === 'off' ? Infinity : durationFlag('--idle-timeout', idle);
    const config = this.loadConfig(flags);
    const { spec, file } = await pipelineToRun(args.pipeline, flags, raw, config.projectDir);
    checkSpec(spec, file);
    const printing = spec.sinks.some((sink) => sink.kind === 'stdout');
    const onError = flags['on-error'] as 'stop' | 'skip' | 'dead-letter';
    checkDeadLetter(spec, onError, flags['dead-letter-topic']);
    if (printing) checkPrinting(flags);
    if (flags.check) {
      const shape = shapeOf(spec, file);
      out.result(shape, printShape);
      return shape;
    }
    const run = { spec, file, config, replicas: flags.replicas, sinkTimeoutMs, idleTimeoutMs, onError };
    const summary = await runWithView(out, printing, {
      ...run,
      stdout: out.stdoutStream,
      from: flags.start as 'earliest' | 'latest',
      untilEnd: flags['until-end'],
      reset: flags.reset,
      deadLetterTopic: flags['dead-letter-topic'],
      signal: interruptSignal,
    });
    out.result(summary, printing ? (o, s) => printSummary(o, s, (text) => o.note(text)) : printSummary);
    if (summary.stoppedBy === 'interrupt') {
      throw new InterruptedError(
        `Interrupted: ${summary.pipeline} committed what it had done and left its group; run it again to go on.`,
        {
          alreadyReported: out.json,
        },
      );
    }
    return summary;
  }
}

/** The pipeline of this command line: the module named, or the one its --from, --shell, … flags write. */
async function pipelineToRun(
  name: string | undefined,
  flags: CommandLineFlags,
  raw: RawTokens,
  projectDir: string,
): Promise<{ spec: PipelineSpec; file: string }> {
  const given = commandLineFlagsGiven(raw);
  if (name !== undefined) {
    if (given.length > 0) throw moduleWithFlags(name, given);
    return await loadPipeline(name, projectDir);
  }
  if (given.length === 0)
    throw new UsageError('Name a pipeline module, or write one with --from TOPIC.', {
      nextSteps: [
        '`pbx run <name>` runs pipelines/<name>.ts; `pbx run --from TOPIC` prints a topic; see `pbx run --help`.',
      ],
    });
  return { spec: commandLineSpec(commandLinePipeline(flags, raw)), file: COMMAND_LINE_FILE };
}

/** Runs the pipeline with its live view on stderr; a printing pipeline shows none: its values are the output. */
async function runWithView(
  out: Output,
  printing: boolean,
  options: Omit<RunOptions, 'onNote' | 'onFigures'>,
): Promise<RunSummary> {
  const view = printing ? undefined : await startLiveView(out, pipelineView({ pipeline: options.spec.name }));
  setForceNote(
    () =>
      `Stopped at once: what ${options.spec.name} had not committed is done again by its next run, with nothing lost.`,
  );
  try {
    return await runPipeline({
      ...options,
      onNote: (text) => (view ? view.note(text) : out.note(text)),
      onFigures: (replicas) => view?.update(replicas),
    });
  } finally {
    setForceNote(undefined);
    await view?.stop();
  }
}

function moduleWithFlags(name: string, given: string[]): UsageError {
  const flags = given.map((flag) => `--${flag}`).join(', ');
  return new UsageError(
    `Run either the module ${name} or a pipeline written with --from …, not both (${flags} given with a module).`,
    {
      nextSteps: [
        given.includes('from')
          ? 'Where a new group starts in its topics is --start earliest|latest (formerly --from).'
          : `Drop ${flags}: the module says what its pipeline does.`,
      ],
    },
  );
}

/** Printing (stdout as a sink): stdout carries the values, so it carries nothing else, and one process writes them. */
function checkPrinting(flags: { json: boolean; replicas: number }): void {
  const instead = 'Write the values to a topic instead (--to TOPIC, or .to(topic) in a module)';
  if (flags.json)
    throw new UsageError('--json with stdout as a sink (no --to): stdout carries the values printed.', {
      nextSteps: [`${instead}, or drop --json.`],
    });
  if (flags.replicas > 1)
    throw new UsageError('--replicas with stdout as a sink (no --to): the values are printed by one process.', {
      nextSteps: [`${instead}, or drop --replicas.`],
    });
}

// A unit is required: a bare 60 could mean seconds as well as the milliseconds toMs would read.
function durationFlag(flag: string, value: string): number {
  try {
    return toMs(value, flag);
  } catch {
    throw new UsageError(`${flag}: expected a duration such as 30s, 5m or 500ms, got ${value}.`);
  }
}

function checkDeadLetter(spec: PipelineSpec, onError: string, topic: string | undefined): void {
  if (onError === 'dead-letter' && !topic) throw new UsageError('--on-error dead-letter needs --dead-letter-topic.');
  if (topic && onError !== 'dead-letter') {
    throw new UsageError(
      `--dead-letter-topic is for --on-error dead-letter, which was not given (bad records would ${onError}).`,
    );
  }
  if (topic && spec.source?.topics.includes(topic)) {
    throw new UsageError(
      `--dead-letter-topic must not be a topic the pipeline reads (${topic}): it would read them again.`,
    );
  }
}

function printSummary(out: Output, s: RunSummary, line = (text: string) => out.line(text)): void {
  line(
    `Pipeline ${out.style.bold(s.pipeline)}: ${s.records} record(s) read in ${formatDuration(s.elapsedMs)} (${s.topology}).`,
  );
  const written = [
    ...Object.entries(s.sent)
      .filter(([topic]) => !topic.startsWith(`pbx-${s.pipeline}-`))
      .map(([topic, n]) => `${n} to topic ${topic}`),
    ...Object.entries(s.wrote).map(([sink, n]) => `${n} to ${sink}`),
  ];
  if (written.length > 0) line(`Wrote ${written.join(', ')}.`);
  if (s.errors > 0)
    line(
      `${s.errors} record(s) could not go on${s.deadLetters > 0 ? `; ${s.deadLetters} sent to the dead-letter topic` : ' (skipped)'}.`,
    );
  if (s.restarts) line(`${s.restarts} replica(s) were killed and started again.`);
}

function printShape(out: Output, topology: PipelineShape): void {
  out.line(`Pipeline ${out.style.bold(topology.pipeline)} (${topology.file}) loads and checks:`);
  for (const line of shapeLines(topology)) out.line(`  ${line}`);
}
