import { Command, Flags, type Interfaces } from '@oclif/core';
import { loadConfig, type ResolvedConfig } from '../config/load';
import { Output } from './output';

/** Flags every command has. */
export const globalFlags = {
  debug: Flags.boolean({ description: 'Show stack traces and internal details.', env: 'PBX_DEBUG', default: false }),
};

/** `--json` for commands that report data. */
export const jsonFlag = {
  json: Flags.boolean({ description: 'Print one JSON document and nothing else.', env: 'PBX_JSON', default: false }),
};

/** `--config` for commands that read pbx.yaml. */
export const configFlag = {
  config: Flags.string({
    char: 'c',
    description: 'Path to pbx.yaml (default: the nearest pbx.yaml in this directory or its parents).',
    env: 'PBX_CONFIG',
  }),
};

/**
 * The base of every pbx command: parsing, the output mode and config loading. Errors are not
 * printed here: they propagate to the one handler in run.ts.
 */
export abstract class PbxCommand extends Command {
  static override baseFlags = globalFlags;

  protected output(flags: { json?: boolean }): Output {
    return Output.forProcess(Boolean(flags.json));
  }

  protected loadConfig(flags: { config?: string }): ResolvedConfig {
    return loadConfig({ file: flags.config });
  }

  // Let errors reach run.ts untouched, so they are printed once, the same way for every command.
  protected override catch(error: Interfaces.CommandError): Promise<never> {
    return Promise.reject(error);
  }
}
