import { Args, Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { interruptSignal } from '../cli/interrupt';
import { formatDuration, renderTable, type Output } from '../cli/output';
import { nodesOf, selectServices } from '../services/catalog';
import { startLiveView } from '../ui/live-view';
import { stackProgress } from '../ui/stack-progress';
import { imageLine, startStack, type UpResult } from '../stack/up';

export default class Up extends PbxCommand {
  static override summary = 'Start the services and return when each one is proven to work.';
  static override description =
    'Starts ZooKeeper, Kafka, Cassandra and Redis (or the named services, or a profile) as Docker containers in dependency order, waits until each answers at the protocol level (Kafka: a produce/consume round trip; Cassandra: a CQL query; Redis: PING; ZooKeeper: ruok), then creates the Kafka topics and applies the CQL schema files of pbx.yaml. Running it again changes only what changed.';
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up kafka redis',
    '<%= config.bin %> up --profile cache --json',
  ];
  static override strict = false;
  static override args = {
    services: Args.string({ description: 'Services to start (default: the profile).', required: false }),
  };
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    profile: Flags.string({
      char: 'p',
      description: 'Start the services of this profile from pbx.yaml.',
      env: 'PBX_PROFILE',
    }),
    'keep-on-failure': Flags.boolean({
      description: 'Leave failed containers for inspection instead of removing them.',
      default: false,
    }),
  };

  async run(): Promise<UpResult> {
    const { argv, flags } = await this.parse(Up);
    const out = this.output(flags);
    const config = this.loadConfig(flags);
    const services = argv as string[];
    const selected = selectServices(config, { services, profile: flags.profile });
    const nodes = selected.flatMap((service) => nodesOf(config, service).map((node) => node.name));
    const progress = await startLiveView(out, stackProgress(nodes));
    let result: UpResult;
    try {
      result = await startStack({
        config,
        services,
        profile: flags.profile,
        keepOnFailure: flags['keep-on-failure'],
        signal: interruptSignal,
        onEvent: (event) => progress.update(event),
      });
    } finally {
      await progress.stop();
    }
    out.result(result, printUp);
    return result;
  }
}

function printUp(out: Output, result: UpResult): void {
  const s = out.style;
  out.line(
    renderTable(
      result.services.map((r) => ({
        service: r.node,
        action: r.action,
        ready: r.readyMs !== undefined ? formatDuration(r.readyMs) : '',
        endpoint: r.endpoint.addresses.join(','),
        internal: r.endpoint.internal ?? '',
      })),
      [
        ['service', 'SERVICE'],
        ['action', 'ACTION'],
        ['ready', 'READY IN'],
        ['endpoint', 'ENDPOINT'],
        ['internal', 'IN-NETWORK'],
      ],
    ),
  );
  // One line per service: its brokers run one image.
  const imaged = result.services.filter((r, i, all) => all.findIndex((o) => o.service === r.service) === i);
  for (const r of imaged) if (r.imageChoice) out.line(`image of ${r.service}: ${imageLine(r.imageChoice)}`);
  for (const t of result.topics) {
    const partitions = `${t.partitions} partition${t.partitions > 1 ? 's' : ''}`;
    out.line(`topic ${t.name}: ${t.action} (${t.changes ? t.changes.join(', ') : partitions})`);
    if (t.note) out.line(s.yellow(`  ${t.note}`));
  }
  for (const f of result.schemaFiles) out.line(`schema ${f}: applied`);
  out.line(
    result.changed
      ? s.green(`Stack ${result.project} is ready (${formatDuration(result.elapsedMs)}).`)
      : s.green(`Stack ${result.project} was already running and healthy; nothing changed.`),
  );
}
