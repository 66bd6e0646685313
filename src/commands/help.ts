import { Args, Help } from '@oclif/core';
import { PbxCommand } from '../cli/base-command';

// oclif's help plugin is not loaded inside the single binary, so `pbx help X` is our own command.
export default class HelpCommand extends PbxCommand {
  static override summary = 'Show help for pbx or one of its commands.';
  static override strict = false;
  static override args = { command: Args.string({ description: 'The command to explain.', required: false }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(HelpCommand);
    await new Help(this.config, { all: true }).showHelp(argv as string[]);
  }
}
