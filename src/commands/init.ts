import { Args, Flags } from '@oclif/core';
import { PbxCommand, jsonFlag } from '../cli/base-command';
import { shellQuote } from '../cli/output';
import { initProject, type InitResult } from '../scaffold/project';

export default class Init extends PbxCommand {
  static override summary = 'Create a new pbx project: pbx.yaml, pipelines/, data/ and a README.';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init reviews --name reviews'];
  static override args = { dir: Args.directory({ description: 'Where to create the project.', default: '.' }) };
  static override flags = {
    ...jsonFlag,
    name: Flags.string({ description: 'Project name (default: the directory name).' }),
    force: Flags.boolean({ description: 'Overwrite files that already exist.', default: false }),
  };

  async run(): Promise<InitResult> {
    const { args, flags } = await this.parse(Init);
    const out = this.output(flags);
    const result = await initProject({ dir: args.dir, name: flags.name, force: flags.force });
    out.result(result, (o, r) => {
      o.line(`Created pbx project ${o.style.bold(r.name)} in ${r.dir}`);
      for (const path of r.created) o.line(`  + ${path}`);
      for (const path of r.overwritten) o.line(`  ~ ${path} (overwritten)`);
      o.line(`Next: cd ${shellQuote(r.dir)} && pbx up`);
    });
    return result;
  }
}
