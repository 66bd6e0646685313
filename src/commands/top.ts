import { Flags } from '@oclif/core';
import { PbxCommand, configFlag, jsonFlag } from '../cli/base-command';
import { ExitCode, UsageError, UserError } from '../cli/errors';
import { interruptSignal } from '../cli/interrupt';
import type { ResolvedConfig } from '../config/load';
import { createCollector } from '../top/collect';
import { snapshotsEvery } from '../top/collect-every';
import { snapshotText } from '../top/plain';
import type { Snapshot } from '../top/snapshot';

export default class Top extends PbxCommand {
  static override summary = 'A live dashboard of the data flow: services, topics, consumer groups, pipelines, replays.';
  static override description = `Refreshed every second: each topic's records per second and its last minute, its size on disk (its leader replicas' log segments: the data once, however many replicas keep it) and how fast that grows (bytes/s, never negative: a refresh in which retention or compaction shrank a partition leaves it out); every consumer group's lag in records and in time (the age of the oldest record it has yet to consume), its trend, an ETA judged by its slowest partition, and a status (ok, behind, stalled, stopped, empty); the figures of running pipelines and replays. Kafka going away is shown, and the dashboard carries on when it is back.

On a terminal it is a full-screen view; piped, it prints the snapshot as text (--watch: every second). --json prints one snapshot as a JSON document, its rates measured over a second, with every pipeline and replay publishing; --watch --json prints one a second, each a line of JSON, until Ctrl-C.`;
  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top --json',
    '<%= config.bin %> top --watch --json | jq -c .groups',
    '<%= config.bin %> top --bootstrap broker1:9092,broker2:9092',
  ];
  static override flags = {
    ...jsonFlag,
    ...configFlag,
    watch: Flags.boolean({
      char: 'w',
      description: 'Without a terminal or with --json: a snapshot every second until Ctrl-C.',
      default: false,
      env: 'PBX_WATCH',
    }),
    bootstrap: Flags.string({
      char: 'b',
      description:
        "Watch this Kafka cluster (host:port,…) instead of the project's; SASL and TLS come from pbx.yaml's services.kafka.external.",
      env: 'PBX_BOOTSTRAP',
    }),
  };

  async run(): Promise<Snapshot | undefined> {
    const { flags } = await this.parse(Top);
    const out = this.output(flags);
    const config = withBootstrap(this.loadConfig(flags), flags.bootstrap);
    const collector = await createCollector({ config });
    try {
      if (out.mode === 'tty') {
        const { runTopView } = await import('../top/view');
        await runTopView({ collector, stdout: process.stdout, stdin: process.stdin });
        return undefined;
      }
      let last: Snapshot | undefined;
      for await (const snapshot of snapshotsEvery(collector, { signal: interruptSignal })) {
        last = snapshot;
        if (!flags.watch) break;
        if (out.json) out.stdoutStream.write(`${JSON.stringify(snapshot)}\n`);
        else out.line(`${snapshotText(snapshot, out.style)}\n`);
      }
      if (flags.watch || !last) return last;
      out.result(last, (o, s) => o.line(snapshotText(s, o.style)));
      if (!last.kafka.up)
        throw new UserError(`Kafka did not answer: ${last.kafka.error}`, {
          exitCode: ExitCode.unhealthy,
          alreadyReported: true,
        });
      return last;
    } finally {
      await collector.close();
    }
  }
}

/** The config with --bootstrap as its external Kafka (SASL and TLS kept from pbx.yaml). */
function withBootstrap(config: ResolvedConfig, bootstrap: string | undefined): ResolvedConfig {
  if (bootstrap === undefined) return config;
  const brokers = bootstrap
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const wrong = brokers.find((b) => !/^[^\s:]+:\d+$/.test(b));
  if (brokers.length === 0 || wrong !== undefined) {
    throw new UsageError(`--bootstrap ${bootstrap}: expected host:port, or several separated by commas.`);
  }
  const kafka = config.services.kafka;
  return { ...config, services: { ...config.services, kafka: { ...kafka, external: { ...kafka.external, brokers } } } };
}
