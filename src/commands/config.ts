import { stringify } from 'yaml';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import type { ResolvedConfig } from '../config/load';

export default class Config extends PbxCommand {
  static override summary = 'Print the resolved configuration (pbx.yaml with every default filled in).';
  static override examples = ['<%= config.bin %> config', '<%= config.bin %> config --json'];
  static override flags = { ...jsonFlag, ...configFlag };

  async run(): Promise<ResolvedConfig> {
    const { flags } = await this.parse(Config);
    const out = this.output(flags);
    const config = this.loadConfig(flags);
    out.result(config, (o, c) => {
      o.line(`# ${c.file ?? 'no pbx.yaml found: built-in defaults'}`);
      o.line(stringify(c).trimEnd());
    });
    return config;
  }
}
