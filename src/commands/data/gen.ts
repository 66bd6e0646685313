import { Args, Flags } from '@oclif/core';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { PbxCommand, jsonFlag } from '../../cli/base-command';
import { UserError, UsageError } from '../../cli/errors';
import { generateApacheLog } from '../../datagen/apache-log';
import { generateReviews } from '../../datagen/reviews';
import { generateSentences } from '../../datagen/sentences';

type Generate = (options: { count: number; seed: number; days?: number }) => Iterable<string>;
const GENERATORS: Record<string, Generate> = {
  reviews: generateReviews,
  sentences: generateSentences,
  'apache-log': generateApacheLog,
};

export interface GenResult {
  dataset: string;
  count: number;
  seed: number;
  out: string;
  bytes: number;
}

export default class DataGen extends PbxCommand {
  static override summary =
    'Generate a deterministic dataset (the peachbox movie reviews, sentences to count words in, an Apache access log).';
  static override description =
    'One record per line. reviews (JSON objects): the peachbox movie-reviews format, sorted by a whole-day `time`, with a few very popular movies and prolific users and a long tail, review text with HTML entities as in the original. sentences (JSON objects): {"id": n, "text": "..."}, 4 to 16 lower-case words separated by single spaces, drawn from a vocabulary of 50,000 with Zipf\'s law (a few words in most sentences, most words rare). apache-log: plain lines in Apache\'s combined log format, in time order over --days whole days from 2024-03-01 (UTC), with status codes 200, 304, 301, 404, 403, 500 and 503. The same --count, --seed (and --days) always give the same bytes. Streams: any count uses flat memory.';
  static override examples = [
    '<%= config.bin %> data gen reviews --count 10000 --seed 42 --out data/reviews.json',
    '<%= config.bin %> data gen reviews --count 5 | jq .',
    '<%= config.bin %> data gen sentences --count 1000000 --seed 1 --out data/sentences.json',
    '<%= config.bin %> data gen apache-log --count 50000 --days 7 --out data/access.log',
  ];
  static override args = {
    dataset: Args.string({
      description: 'Which dataset: reviews, sentences or apache-log.',
      required: true,
      options: Object.keys(GENERATORS),
    }),
  };
  static override flags = {
    ...jsonFlag,
    count: Flags.integer({ char: 'n', description: 'How many records.', default: 1000, min: 1 }),
    seed: Flags.integer({ description: 'Seed of the generator.', default: 42 }),
    days: Flags.integer({ description: 'apache-log: how many days the requests spread over (default 7).', min: 1 }),
    out: Flags.string({ char: 'o', description: 'Write to this file (default: stdout).' }),
  };

  async run(): Promise<GenResult> {
    const { args, flags } = await this.parse(DataGen);
    const out = this.output(flags);
    if (flags.json && !flags.out) throw new UsageError('--json needs --out: stdout carries the data otherwise.');
    if (flags.days !== undefined && args.dataset !== 'apache-log')
      throw new UsageError(`--days is for apache-log: ${args.dataset} spreads its records itself.`);
    let bytes = 0;
    try {
      const target: Writable = flags.out ? (await open(flags.out, 'w')).createWriteStream() : process.stdout;
      const generate = GENERATORS[args.dataset]!;
      for (const line of generate({ count: flags.count, seed: flags.seed, days: flags.days })) {
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
