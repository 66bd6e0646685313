import { Args, Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { InterruptedError, UsageError } from '../cli/errors';
import { interruptSignal, setForceNote } from '../cli/interrupt';
import { formatDuration, type Output } from '../cli/output';
import { pipelineView } from '../ui/pipeline-view';
import { startLiveView } from '../ui/live-view';
import { toMs, type PipelineSpec } from '../pipelines/api';
import { checkSpec, loadPipeline } from '../pipelines/load';
import { runPipeline, type RunSummary } from '../pipelines/runtime/run';
import { shapeLines, shapeOf, type PipelineShape } from '../pipelines/shape';

export default class Run extends PbxCommand {
  static override summary = 'Run a pipeline module: from Kafka topics into Kafka, Cassandra and Redis.';
  static override description = `A name is the project's pipelines/<name>.ts (or .mts, .js, .mjs); a path is that file. The module is TypeScript imported as it is, no build step: \`import { pipeline } from 'pbx'\` is pbx's own API, and packages in the project's node_modules import as usual. A module that fails to load is reported at its file and line; a pipeline that reads nothing or writes nowhere is refused before anything connects. --check stops there and prints the pipeline's stages.

The pipeline reads its topics in the consumer group pbx-<pipeline>: --replicas N runs N workers in it, and the same command on another machine, against the same Kafka, joins it. A new group starts at the beginning of its topics (--from latest: at their end); --until-end stops once every input partition reaches the end offsets seen at start; --reset starts over, offsets and state.

A record an operator throws on, a value that is not the JSON expected, or a record later than its window's allowed lateness stops the run by default; --on-error skip counts it, --on-error dead-letter sends it to --dead-letter-topic with the reason. A sink that is down is retried with backoff, committing nothing past it, for --sink-timeout, then the run ends with exit 3 and resumes from there when started again.`;
  static override examples = [
    '<%= config.bin %> run reviews-per-hour',
    '<%= config.bin %> run reviews-per-hour --check',
    '<%= config.bin %> run reviews-per-hour --until-end --json',
    '<%= config.bin %> run pipelines/clean.ts --replicas 3 --from latest',
    '<%= config.bin %> run clean --on-error dead-letter --dead-letter-topic clean-rejects',
  ];
  static override args = {
    pipeline: Args.string({ description: 'A pipeline name (pipelines/<name>.ts) or a module file.', required: true }),
  };
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    check: Flags.boolean({
      description: 'Load and check the module, print its stages and exit: connects to nothing.',
      default: false,
    }),
    replicas: Flags.integer({ description: 'Workers to run in the pipeline’s consumer group.', min: 1, default: 1 }),
    from: Flags.string({
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
  };

  async run(): Promise<RunSummary | PipelineShape> {
    const { args, flags } = await this.parse(Run);
    const out = this.output(flags);
    const sinkTimeoutMs = durationFlag('--sink-timeout', flags['sink-timeout']);
    const config = this.loadConfig(flags);
    const { spec, file } = await loadPipeline(args.pipeline, config.projectDir);
    checkSpec(spec, file);
    const onError = flags['on-error'] as 'stop' | 'skip' | 'dead-letter';
    checkDeadLetter(spec, onError, flags['dead-letter-topic']);
    if (flags.check) {
      const shape = shapeOf(spec, file);
      out.result(shape, printShape);
      return shape;
    }
    const view = await startLiveView(out, pipelineView({ pipeline: spec.name }));
    setForceNote(
      () => `Stopped at once: what ${spec.name} had not committed is done again by its next run, with nothing lost.`,
    );
    let summary: RunSummary;
    try {
      summary = await runPipeline({
        spec,
        file,
        config,
        replicas: flags.replicas,
        from: flags.from as 'earliest' | 'latest',
        untilEnd: flags['until-end'],
        reset: flags.reset,
        onError,
        deadLetterTopic: flags['dead-letter-topic'],
        sinkTimeoutMs,
        signal: interruptSignal,
        onNote: (text) => view.note(text),
        onFigures: (replicas) => view.update(replicas),
      });
    } finally {
      setForceNote(undefined);
      await view.stop();
    }
    out.result(summary, printSummary);
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

function printSummary(out: Output, s: RunSummary): void {
  out.line(
    `Pipeline ${out.style.bold(s.pipeline)}: ${s.records} record(s) read in ${formatDuration(s.elapsedMs)} (${s.topology}).`,
  );
  const written = [
    ...Object.entries(s.sent)
      .filter(([topic]) => !topic.startsWith(`pbx-${s.pipeline}-`))
      .map(([topic, n]) => `${n} to topic ${topic}`),
    ...Object.entries(s.wrote).map(([sink, n]) => `${n} to ${sink}`),
  ];
  if (written.length > 0) out.line(`Wrote ${written.join(', ')}.`);
  if (s.errors > 0)
    out.line(
      `${s.errors} record(s) could not go on${s.deadLetters > 0 ? `; ${s.deadLetters} sent to the dead-letter topic` : ' (skipped)'}.`,
    );
  if (s.restarts) out.line(`${s.restarts} replica(s) were killed and started again.`);
}

function printShape(out: Output, topology: PipelineShape): void {
  out.line(`Pipeline ${out.style.bold(topology.pipeline)} (${topology.file}) loads and checks:`);
  for (const line of shapeLines(topology)) out.line(`  ${line}`);
}
