import { Args, Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { InterruptedError, UsageError } from '../cli/errors';
import { interruptSignal, setForceNote } from '../cli/interrupt';
import { formatDuration, type Output } from '../cli/output';
import type { Compression } from '../clients/record-batch';
import { FORMATS } from '../flow/records';
import { checkFormat } from '../flow/sources/formats';
import { parsePace } from '../replay/pacing';
import { planReplay } from '../replay/plan';
import { runReplay, type OnError, type ReplaySummary } from '../replay/replay';
import { startLiveView } from '../ui/live-view';
import { formatRate, replayProgress } from '../ui/replay-line';

export default class Replay extends PbxCommand {
  static override summary = 'Stream a dataset into Kafka at an exact rate, or at the pace of its own timestamps.';
  static override description = `Reads newline-delimited JSON, a JSON array, CSV with a header or plain lines (each possibly gzipped), stdin (-) or a command's output (--exec), as a stream: memory stays flat whatever the size. Records leave in file order, with acks from all in-sync replicas and the idempotent producer.

Pacing: --rate N schedules record k at k/N seconds from the start (absolute deadlines: no drift); --time-field F --speed X replays the gaps between the records' own timestamps divided by X (numbers below 10^11 are Unix seconds, larger ones milliseconds, strings ISO-8601). Records sharing a timestamp leave back to back; a record whose time goes backwards leaves at once and is counted as out of order. With --loop and a time field, each pass shifts the timestamps forward by the file's span plus one mean gap, and rewrites the field.

Bad records (invalid JSON, a CSV row of the wrong width, a missing time or key field) stop the replay by default, after everything before them was delivered; --on-error skip counts them, --on-error dead-letter sends them to --dead-letter-topic with headers saying why. An --exec command that exits with an error stops it the same way, after what it printed was delivered.`;
  static override examples = [
    '<%= config.bin %> replay data/reviews.json --topic movie_reviews --rate 2 --key product_id',
    '<%= config.bin %> replay reviews.json.gz --topic movie_reviews --time-field time --speed 86400',
    '<%= config.bin %> replay big.json --topic t --rate max --checkpoint big.ckpt',
    '<%= config.bin %> replay --exec "vmstat 1" --topic vmstat --format lines',
    'cat events.ndjson | <%= config.bin %> replay - --topic events --rate 1000 --json',
  ];
  static override args = {
    file: Args.string({ description: 'The dataset, or - for stdin (not with --exec).', required: false }),
  };
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    topic: Flags.string({ char: 't', description: 'Kafka topic to write to (created if missing).', required: true }),
    exec: Flags.string({ description: 'Replay the output lines of this shell command instead of a file.' }),
    format: Flags.string({
      description: `Input format (default: from the extension, else the first character): ${FORMATS.join(', ')}.`,
    }),
    rate: Flags.string({
      char: 'r',
      description: 'Records per second (fractions allowed), or "max".',
      default: undefined,
    }),
    'time-field': Flags.string({ description: 'Pace by this field’s timestamps (a dotted path).' }),
    speed: Flags.string({ description: 'With --time-field: how many times faster than real time.' }),
    key: Flags.string({ char: 'k', description: 'Use this field (a dotted path) as the message key.' }),
    partitions: Flags.integer({
      description: 'Partitions for a topic pbx creates (default 1); a topic that exists must have as many.',
      min: 1,
    }),
    header: Flags.string({ description: 'A header k=v added to every message (repeatable).', multiple: true }),
    compression: Flags.string({ description: 'none or gzip.', options: ['none', 'gzip'], default: 'none' }),
    limit: Flags.integer({ description: 'Stop after sending this many records.', min: 1 }),
    from: Flags.integer({ description: 'Skip the first N records.', min: 0 }),
    loop: Flags.boolean({
      description: 'Start again at the end of the file, until Ctrl-C or --limit.',
      default: false,
    }),
    checkpoint: Flags.string({
      description: 'Save progress here and resume from it: a stopped or crashed replay sends nothing twice.',
    }),
    'on-error': Flags.string({
      description: 'What a bad record does: stop, skip or dead-letter.',
      options: ['stop', 'skip', 'dead-letter'],
      default: 'stop',
    }),
    'dead-letter-topic': Flags.string({ description: 'Topic for bad records with --on-error dead-letter.' }),
  };

  async run(): Promise<ReplaySummary> {
    const { args, flags } = await this.parse(Replay);
    const out = this.output(flags);
    const headers = Object.fromEntries(
      (flags.header ?? []).map((h) => {
        const at = h.indexOf('=');
        if (at <= 0) throw new UsageError(`--header ${h}: expected key=value.`);
        return [h.slice(0, at), h.slice(at + 1)];
      }),
    );
    const plan = await planReplay({
      config: this.loadConfig(flags),
      source: { path: args.file, exec: flags.exec, format: checkFormat(flags.format) },
      topic: flags.topic,
      pace: parsePace({ rate: flags.rate, timeField: flags['time-field'], speed: flags.speed }),
      key: flags.key,
      headers,
      partitions: flags.partitions,
      compression: flags.compression as Compression,
      limit: flags.limit,
      from: flags.from,
      loop: flags.loop,
      checkpoint: flags.checkpoint,
      onError: flags['on-error'] as OnError,
      deadLetterTopic: flags['dead-letter-topic'],
    });
    // `pbx replay -` typed without a pipe: say what it waits for rather than sit silent, as `cat` would.
    if (args.file === '-' && process.stdin.isTTY) {
      out.note('Reading records from the terminal, one per line; Ctrl-D ends them.');
    }
    const view = await startLiveView(out, replayProgress(flags.topic));
    let delivered = 0;
    setForceNote(
      () =>
        `Stopped at once after delivering ${delivered} record(s)${flags.checkpoint ? `; run the same command again to resume from ${flags.checkpoint}, with nothing sent twice` : ''}.`,
    );
    let summary: ReplaySummary;
    try {
      summary = await runReplay(plan, {
        signal: interruptSignal,
        onProgress: (stats) => {
          delivered = stats.sent;
          view.update(stats);
        },
        onNote: (text) => view.note(text),
      });
    } finally {
      setForceNote(undefined);
      await view.stop();
    }
    out.result(summary, printSummary);
    if (summary.stoppedBy === 'interrupt') {
      throw new InterruptedError(
        `Interrupted after delivering ${summary.sent} record(s)${summary.checkpoint ? `; run the same command again to resume from ${summary.checkpoint}` : ''}.`,
        { alreadyReported: out.json },
      );
    }
    return summary;
  }
}

function printSummary(out: Output, s: ReplaySummary): void {
  const rate = `${formatRate(s.achievedRate)}/s${s.targetRate !== undefined ? ` (target ${formatRate(s.targetRate)}/s)` : ''}`;
  out.line(
    `Sent ${out.style.bold(String(s.sent))} record(s) from ${s.source} (${s.format}) to ${s.topic} in ${formatDuration(s.elapsedMs)}: ${rate}.`,
  );
  if (s.skipped > 0) out.line(`Skipped ${s.skipped} bad record(s).`);
  if (s.deadLettered > 0) out.line(`Sent ${s.deadLettered} bad record(s) to the dead-letter topic.`);
  if (s.outOfOrder > 0) out.line(`${s.outOfOrder} record(s) had a time earlier than the one before and left at once.`);
  if (s.passes > 1) out.line(`${s.passes} passes over the file.`);
  if (s.recovered > 0) {
    out.line(
      `${s.recovered} record(s) were in Kafka already (delivered after the last checkpoint) and not sent again.`,
    );
  }
  if (s.checkpoint) out.line(`Checkpoint: ${s.checkpoint} (${s.nextIndex} record(s) of ${s.source} done).`);
  if (
    s.resumedAfter !== undefined &&
    s.sent + s.skipped + s.deadLettered + s.recovered === 0 &&
    s.stoppedBy === 'end'
  ) {
    out.line(`Nothing was left to send: remove ${s.checkpoint} to replay ${s.source} from the start.`);
  }
}
