import { Args, Flags } from '@oclif/core';
import { PbxCommand, jsonFlag } from '../cli/base-command';
import { shellQuote } from '../cli/output';
import { initProject, type InitResult } from '../scaffold/project';

export default class Init extends PbxCommand {
  static override summary = 'Create a new pbx project: pbx.yaml, an example pipeline, data/, a README, editor types.';
  static override description = `Writes pbx.yaml, pipelines/example.ts, data/ and a README.md, and what an editor needs to check pipeline modules against pbx's API: types/pbx.d.ts (the API's declarations) and a tsconfig.json whose paths map 'pbx' to it. A tsconfig.json that exists is never overwritten: 'pbx' is added to its paths, or, when it is not plain JSON, pbx says what to add.

Files that exist are not overwritten unless --force. --editor writes only the editor's part, into a project that exists (again after an upgrade of pbx).`;
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init reviews --name reviews',
    '<%= config.bin %> init --editor',
  ];
  static override args = { dir: Args.directory({ description: 'Where to create the project.', default: '.' }) };
  static override flags = {
    ...jsonFlag,
    name: Flags.string({ description: 'Project name (default: the directory name).' }),
    force: Flags.boolean({
      description: 'Overwrite files that already exist (tsconfig.json only gets its paths).',
      default: false,
    }),
    editor: Flags.boolean({
      description: 'Write only types/pbx.d.ts and tsconfig.json’s paths, for editors, into an existing project.',
      default: false,
    }),
  };

  async run(): Promise<InitResult> {
    const { args, flags } = await this.parse(Init);
    const out = this.output(flags);
    const result = await initProject({ dir: args.dir, name: flags.name, force: flags.force, editor: flags.editor });
    out.result(result, (o, r) => {
      o.line(flags.editor ? `Editor types for ${r.dir}` : `Created pbx project ${o.style.bold(r.name)} in ${r.dir}`);
      for (const path of r.created) o.line(`  + ${path}`);
      for (const path of r.overwritten) o.line(`  ~ ${path} (overwritten)`);
      for (const path of r.updated) o.line(`  ~ ${path} (paths.pbx added)`);
      for (const note of r.notes) o.warn(note);
      if (!flags.editor) o.line(`Next: cd ${shellQuote(r.dir)} && pbx up`);
    });
    return result;
  }
}
