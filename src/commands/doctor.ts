import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { UserError } from '../cli/errors';
import type { Output } from '../cli/output';
import { runDoctor, type DoctorReport } from '../doctor/doctor';

export default class Doctor extends PbxCommand {
  static override summary = 'Check that this machine has what pbx needs.';
  static override description =
    'Checks the Docker engine (DOCKER_HOST or the default socket) and its API version, the ports of the configured services, disk and memory. Exits 0 only when everything is there.';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];
  static override flags = { ...jsonFlag, ...configFlag };

  async run(): Promise<DoctorReport> {
    const { flags } = await this.parse(Doctor);
    const out = this.output(flags);
    const report = await runDoctor(this.loadConfig(flags));
    out.result(report, printReport);
    if (!report.ok) {
      throw new UserError('Some checks failed.', { code: 'DOCTOR_FAILED', alreadyReported: true });
    }
    return report;
  }
}

function printReport(out: Output, report: DoctorReport): void {
  const s = out.style;
  out.line(`pbx doctor — project ${s.bold(report.project)} (${report.configFile ?? 'no pbx.yaml, defaults'})`);
  for (const check of report.checks) {
    out.line(`${check.ok ? s.green('✓') : s.red('✗')} ${check.name.padEnd(16)} ${check.detail}`);
    if (!check.ok && check.fix) out.line(`  ${s.yellow('→')} ${check.fix}`);
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  out.line(
    failed === 0 ? s.green('Everything pbx needs is here.') : s.red(`${failed} problem${failed > 1 ? 's' : ''} found.`),
  );
}
