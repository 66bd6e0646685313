import { stringify } from 'yaml';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import type { ResolvedConfig } from '../config/load';

export default class Config extends PbxCommand {
  static override summary =
    'Print the resolved configuration (pbx.yaml with every default filled in; passwords shown as ********).';
  static override examples = ['<%= config.bin %> config', '<%= config.bin %> config --json'];
  static override flags = { ...jsonFlag, ...configFlag };

  async run(): Promise<ResolvedConfig> {
    const { flags } = await this.parse(Config);
    const out = this.output(flags);
    const config = withoutSecrets(this.loadConfig(flags));
    out.result(config, (o, c) => {
      o.line(`# ${c.file ?? 'no pbx.yaml found: built-in defaults'}`);
      o.line(stringify(c).trimEnd());
    });
    return config;
  }
}

const MASK = '********';

/** The configuration as it may be pasted into an issue: external services' passwords masked, set or not. */
function withoutSecrets(config: ResolvedConfig): ResolvedConfig {
  const { kafka, cassandra, redis } = config.services;
  const sasl = kafka.external?.sasl;
  return {
    ...config,
    services: {
      ...config.services,
      kafka: sasl ? { ...kafka, external: { ...kafka.external!, sasl: { ...sasl, password: MASK } } } : kafka,
      cassandra:
        cassandra.external?.password !== undefined
          ? { ...cassandra, external: { ...cassandra.external, password: MASK } }
          : cassandra,
      redis: redis.external ? { ...redis, external: { url: maskUrlPassword(redis.external.url) } } : redis,
    },
  };
}

function maskUrlPassword(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, `$1${MASK}@`);
}
