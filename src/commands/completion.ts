import { join } from 'node:path';
import { Args } from '@oclif/core';
import { PbxCommand, configFlag } from '../cli/base-command';
import { completionCommands, SCRIPTS } from '../cli/completion';
import { UsageError } from '../cli/errors';
import { topicNames } from '../clients/topics';
import { commandsFor } from '../commands';
import type { ResolvedConfig } from '../config/load';
import { PIPELINES_DIR, pipelineNames } from '../pipelines/load';
import { kafkaEndpoint } from '../services/endpoints';

export default class Completion extends PbxCommand {
  static override summary = 'Print a shell completion script: commands, flags, service names and topics.';
  static override description =
    'Completes pbx commands, their flags, service and image names, and topic names where the stack answers (asked of Kafka for a second at most).';
  static override examples = [
    'source <(<%= config.bin %> completion bash)',
    'source <(<%= config.bin %> completion zsh)',
    '<%= config.bin %> completion fish > ~/.config/fish/completions/pbx.fish',
  ];
  static override args = {
    // (`topics` and `pipelines`, which the scripts run, are left out of the help: they are theirs.)
    shell: Args.string({ description: 'The shell: bash, zsh or fish.', required: true }),
  };
  // Whose topics and pipelines the scripts list (PBX_CONFIG too).
  static override flags = { ...configFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Completion);
    if (args.shell === 'topics') return printTopics(this.loadConfig(flags));
    if (args.shell === 'pipelines') return printPipelines(() => this.loadConfig(flags));
    const script = SCRIPTS[args.shell];
    if (!script) throw new UsageError(`Expected one of ${Object.keys(SCRIPTS).join(', ')}, got ${args.shell}.`);
    process.stdout.write(script(completionCommands(await commandsFor([]))));
  }
}

/** The topics of the project's Kafka, for the scripts: quick, and nothing at all when Kafka does not answer. */
async function printTopics(config: Parameters<typeof kafkaEndpoint>[0]): Promise<void> {
  try {
    const names = await topicNames(kafkaEndpoint(config), 1000);
    if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
  } catch {
    // An error in the middle of a command line being typed helps no one.
  }
}

/** The project's pipeline names, for the scripts; nothing when there is no project to read. */
function printPipelines(config: () => ResolvedConfig): void {
  try {
    const names = pipelineNames(join(config().projectDir, PIPELINES_DIR));
    if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
  } catch {
    // A pbx.yaml that does not parse: no names, as for topics.
  }
}
