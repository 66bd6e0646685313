import { Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { stopStack, type DownResult } from '../stack/down';

export default class Down extends PbxCommand {
  static override summary = "Stop and remove the project's containers and network; data stays in volumes.";
  static override examples = ['<%= config.bin %> down', '<%= config.bin %> down --volumes'];
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    volumes: Flags.boolean({ char: 'v', description: 'Also delete the data volumes.', default: false }),
  };

  async run(): Promise<DownResult> {
    const { flags } = await this.parse(Down);
    const out = this.output(flags);
    const result = await stopStack({ config: this.loadConfig(flags), volumes: flags.volumes });
    out.result(result, (o, r) => {
      if (r.removedContainers.length === 0 && r.removedVolumes.length === 0)
        o.line(`Nothing of project ${r.project} was running.`);
      for (const name of r.removedContainers) o.line(`removed container ${name}`);
      for (const name of r.removedNetworks) o.line(`removed network ${name}`);
      for (const name of r.removedVolumes) o.line(`deleted volume ${name}`);
      if (r.keptVolumes.length > 0)
        o.line(o.style.dim(`kept ${r.keptVolumes.length} data volume(s); \`pbx down --volumes\` deletes them`));
    });
    return result;
  }
}
