import { Args, Flags } from '@oclif/core';
import { PbxCommand, jsonFlag } from '../../cli/base-command';
import { UsageError } from '../../cli/errors';
import { interruptSignal } from '../../cli/interrupt';
import { renderTable } from '../../cli/output';
import { connectDocker } from '../../docker/engine';
import { IMAGES, type ImageName } from '../../images/catalog';
import { buildImages, type ImageOutcome } from '../../images/build';
import { formatBytes } from '../../doctor/doctor';

export default class ImagesBuild extends PbxCommand {
  static override summary = 'Build the service images locally, with no container registry.';
  static override description =
    "Builds pbx's own images of ZooKeeper, Kafka, Cassandra and Redis (and the Debian and Java images under them): the base with debootstrap (needs root), Java, Redis and ZooKeeper from Debian's packages, Kafka and Cassandra from their released jars resolved with Maven. Images already built from the same definitions are skipped. `pbx up` runs them where the pinned upstream images cannot be had, or always with `images: local` in pbx.yaml.";
  static override examples = ['<%= config.bin %> images build', '<%= config.bin %> images build kafka --force'];
  static override strict = false;
  static override args = {
    images: Args.string({
      description: `Images to build (default: all): ${Object.keys(IMAGES).join(', ')}.`,
      required: false,
    }),
  };
  static override flags = {
    ...jsonFlag,
    force: Flags.boolean({ description: 'Rebuild the named images even when they are current.', default: false }),
  };

  async run(): Promise<ImageOutcome[]> {
    const { argv, flags } = await this.parse(ImagesBuild);
    const out = this.output(flags);
    const names =
      (argv as string[]).length > 0 ? (argv as string[]) : (['zookeeper', 'kafka', 'cassandra', 'redis'] as const);
    const unknown = names.filter((n) => !(n in IMAGES));
    if (unknown.length > 0)
      throw new UsageError(`Unknown image: ${unknown.join(', ')}.`, {
        nextSteps: [`Images: ${Object.keys(IMAGES).join(', ')}.`],
      });
    const { docker } = await connectDocker();
    const started = Date.now();
    const outcomes = await buildImages({
      docker,
      images: names as ImageName[],
      force: flags.force,
      signal: interruptSignal,
      onEvent: ({ image, phase, detail }) =>
        out.note(
          `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${image.padEnd(9)} ${phase}${detail ? `: ${detail}` : ''}`,
        ),
    });
    out.result(outcomes, (o, list) =>
      o.line(
        renderTable(
          list.map((i) => ({
            image: i.tag,
            action: i.action,
            time: i.action === 'built' ? `${i.seconds.toFixed(1)} s` : '',
            size: formatBytes(i.sizeBytes),
          })),
          [
            ['image', 'IMAGE'],
            ['action', 'ACTION'],
            ['time', 'BUILD TIME'],
            ['size', 'SIZE'],
          ],
        ),
      ),
    );
    return outcomes;
  }
}
