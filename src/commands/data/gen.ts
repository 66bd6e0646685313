import { Args, Flags } from '@oclif/core';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { PbxCommand, jsonFlag } from '../../cli/base-command';
import { UserError, UsageError } from '../../cli/errors';
import { generateReviews } from '../../datagen/reviews';
import { generateSentences } from '../../datagen/sentences';

const GENERATORS = { reviews: generateReviews, sentences: generateSentences };

export interface GenResult {
  dataset: string;
  count: number;
  seed: number;
  out: string;
  bytes: number;
}

export default class DataGen extends PbxCommand {
  static override summary =
    'Generate a deterministic dataset (the peachbox movie reviews, or sentences to count words in).';
  static override description =
    'Writes one JSON object per line. reviews: the peachbox movie-reviews format, sorted by a whole-day `time`, with a few very popular movies and prolific users and a long tail, review text with HTML entities as in the original. sentences: {"id": n, "text": "..."}, 4 to 16 lower-case words separated by single spaces, drawn from a vocabulary of 50,000 with Zipf\'s law (a few words in most sentences, most words rare). The same --count and --seed always give the same bytes. Streams: any count uses flat memory.';
  static override examples = [
    '<%= config.bin %> data gen reviews --count 10000 --seed 42 --out data/reviews.json',
    '<%= config.bin %> data gen reviews --count 5 | jq .',
    '<%= config.bin %> data gen sentences --count 1000000 --seed 1 --out data/sentences.json',
  ];
  static override args = {
    dataset: Args.string({
      description: 'Which dataset: reviews or sentences.',
      required: true,
      options: Object.keys(GENERATORS),
    }),
  };
  static override flags = {
    ...jsonFlag,
    count: Flags.integer({ char: 'n', description: 'How many records.', default: 1000, min: 1 }),
    seed: Flags.integer({ description: 'Seed of the generator.', default: 42 }),
    out: Flags.string({ char: 'o', description: 'Write to this file (default: stdout).' }),
  };

  async run(): Promise<GenResult> {
    const { args, flags } = await this.parse(DataGen);
    const out = this.output(flags);
    if (flags.json && !flags.out) throw new UsageError('--json needs --out: stdout carries the data otherwise.');
    let bytes = 0;
    try {
      const target: Writable = flags.out ? (await open(flags.out, 'w')).createWriteStream() : process.stdout;
      const generate = GENERATORS[args.dataset as keyof typeof GENERATORS];
      for (const line of generate({ count: flags.count, seed: flags.seed })) {
        bytes += Buffer.byteLength(line) + 1;
        if (!target.write(`${line}\n`)) await once(target, 'drain');
      }
      if (flags.out) {
        target.end();
        await once(target, 'finish');
      }
    } catch (error) {
      // (stdout's reader going away is the CLI's to handle)
      if (!flags.out || !(error as NodeJS.ErrnoException).syscall) throw error;
      throw new UserError(`Cannot write ${flags.out}: ${(error as Error).message}`, {
        code: 'OUTPUT_UNWRITABLE',
        nextSteps: ['Give --out a file in a directory you can write to, on a disk with room.'],
      });
    }
    const result = { dataset: args.dataset, count: flags.count, seed: flags.seed, out: flags.out ?? '-', bytes };
    if (flags.out)
      out.result(result, (o, r) =>
        o.line(`Wrote ${r.count} ${r.dataset} (${r.bytes} bytes, seed ${r.seed}) to ${r.out}.`),
      );
    return result;
  }
}
