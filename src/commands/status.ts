import { Args, Flags } from '@oclif/core';
import { sleep } from '../async';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { ExitCode, UsageError, UserError } from '../cli/errors';
import { interruptSignal } from '../cli/interrupt';
import { formatDuration, renderTable, type Output } from '../cli/output';
import { stackStatus, type StatusResult } from '../stack/status';

export default class Status extends PbxCommand {
  static override summary = "Show each service's state, readiness, endpoint, image and uptime.";
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
      while (!interruptSignal.aborted) {
        if (out.mode === 'tty') out.line('\u001B[2J\u001B[H'); // clear the screen between frames
        // Each table says when it was taken: piped to a file, the frames follow one another.
        out.line(out.style.dim(`${config.name} at ${new Date().toTimeString().slice(0, 8)}, every 2 s (Ctrl-C stops)`));
        printStatus(out, result);
        await sleep(2000, interruptSignal);
        if (!interruptSignal.aborted) result = await stackStatus(query);
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
  const s = out.style;
  out.line(
    renderTable(
      result.services.map((r) => ({
        service: r.service,
        state: r.state,
        ready: r.ready ? s.green('yes') : s.red('no'),
        endpoint: r.endpoint.addresses.join(','),
        uptime: r.uptimeMs !== undefined ? formatDuration(r.uptimeMs) : '',
        image: r.image ?? '',
        check: r.check,
      })),
      [
        ['service', 'SERVICE'],
        ['state', 'STATE'],
        ['ready', 'READY'],
        ['endpoint', 'ENDPOINT'],
        ['uptime', 'UPTIME'],
        ['image', 'IMAGE'],
        ['check', 'CHECK'],
      ],
    ),
  );
}
