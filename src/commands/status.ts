import { Args, Flags } from '@oclif/core';
import { sleep } from '../async';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { ExitCode, UsageError, UserError } from '../cli/errors';
import { interruptSignal } from '../cli/interrupt';
import type { Output } from '../cli/output';
import { stackStatus, type StatusResult } from '../stack/status';
import { startLiveView } from '../ui/live-view';
import { statusTable, statusWatch } from '../ui/status-view';

const WATCH_EVERY_MS = 2000;

export default class Status extends PbxCommand {
  static override summary = "Show each service's state, readiness, endpoint, uptime, restarts and image.";
  static override description = 'Exits 0 when every service is ready, 3 when one is not.';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --watch',
  ];
  static override strict = false;
  static override args = {
    services: Args.string({ description: 'Services to show (default: the profile).', required: false }),
  };
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    profile: Flags.string({ char: 'p', description: 'Show the services of this profile.', env: 'PBX_PROFILE' }),
    watch: Flags.boolean({ char: 'w', description: 'Refresh every 2 seconds until Ctrl-C.', default: false }),
  };

  async run(): Promise<StatusResult> {
    const { argv, flags } = await this.parse(Status);
    const out = this.output(flags);
    if (flags.watch && out.json) {
      throw new UsageError('--watch and --json do not go together: --json prints one document.', {
        nextSteps: ['For scripts, run `pbx status --json` as often as you need.'],
      });
    }
    const config = this.loadConfig(flags);
    const query = { config, services: argv as string[], profile: flags.profile };
    let result = await stackStatus(query);
    if (flags.watch) {
      const view = await startLiveView(out, statusWatch(WATCH_EVERY_MS));
      try {
        while (!interruptSignal.aborted) {
          view.update({ project: config.name, result, takenAt: new Date() });
          await sleep(WATCH_EVERY_MS, interruptSignal);
          if (!interruptSignal.aborted) result = await stackStatus(query);
        }
      } finally {
        await view.stop();
      }
      return result;
    }
    out.result(result, printStatus);
    if (!result.ready)
      throw new UserError('Not every service is ready.', { exitCode: ExitCode.unhealthy, alreadyReported: true });
    return result;
  }
}

function printStatus(out: Output, result: StatusResult): void {
  out.line(statusTable(result, out.style));
}
