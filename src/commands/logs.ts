import { Args, Flags } from '@oclif/core';
import { PbxCommand, configFlag } from '../cli/base-command';
import { interruptSignal } from '../cli/interrupt';
import { streamLogs } from '../stack/logs';

export default class Logs extends PbxCommand {
  static override summary = "Show the services' logs, prefixed by service when several are shown.";
  static override examples = [
    '<%= config.bin %> logs kafka --tail 50',
    '<%= config.bin %> logs kafka-2 -f',
    '<%= config.bin %> logs -f',
  ];
  static override strict = false;
  static override args = {
    services: Args.string({
      description: 'Services to show, or single brokers of several by name (kafka-2) (default: all).',
      required: false,
    }),
  };
  static override flags = {
    ...configFlag,
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new lines until Ctrl-C.', default: false }),
    tail: Flags.integer({ char: 'n', description: 'Only the last N lines of each service.', min: 0 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Logs);
    const out = this.output({});
    await streamLogs({
      config: this.loadConfig(flags),
      services: argv as string[],
      follow: flags.follow,
      tail: flags.tail,
      signal: interruptSignal,
      write: (line) => out.line(line),
      note: (text) => out.note(out.style.dim(text)),
    });
  }
}
