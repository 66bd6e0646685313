import { Args, Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { shellQuote } from '../cli/output';
import { selectServices } from '../services/catalog';
import { connectionEnv } from '../services/endpoints';

export default class Env extends PbxCommand {
  static override summary = 'Print connection settings for other tools (KAFKA_BROKERS, REDIS_URL, …).';
  static override examples = ['eval "$(<%= config.bin %> env)"', '<%= config.bin %> env --json'];
  static override strict = false;
  static override args = {
    services: Args.string({ description: 'Services to include (default: the profile).', required: false }),
  };
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    profile: Flags.string({ char: 'p', description: 'Use the services of this profile.', env: 'PBX_PROFILE' }),
  };

  async run(): Promise<Record<string, string>> {
    const { argv, flags } = await this.parse(Env);
    const out = this.output(flags);
    const config = this.loadConfig(flags);
    const env = connectionEnv(config, selectServices(config, { services: argv as string[], profile: flags.profile }));
    out.result(env, (o, e) => {
      for (const [key, value] of Object.entries(e)) o.line(`export ${key}=${shellQuote(value)}`);
    });
    return env;
  }
}
