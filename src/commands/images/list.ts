import { PbxCommand, configFlag, jsonFlag } from '../../cli/base-command';
import { renderTable } from '../../cli/output';
import { SERVICE_NAMES, type ServiceName } from '../../config/schema';
import { connectDocker } from '../../docker/engine';
import { IMAGES } from '../../images/catalog';
import { imageState } from '../../images/build';
import { SERVICES } from '../../services/catalog';
import { listProjectContainers } from '../../stack/containers';
import { chooseImage, imagePresent } from '../../stack/images';

export interface ImageRow {
  service: ServiceName;
  image: string;
  source: 'local' | 'upstream';
  present: boolean;
  /** The upstream image pbx pins for the service (a patch release), whichever image runs. */
  pinned: string;
  /** Why `pbx up` runs this image: pbx.yaml's setting, or what pbx chose and why. */
  reason: string;
  /** False when `pbx up` could not have it: neither the pinned upstream image nor pbx's own. */
  available: boolean;
  /** For local images: built from this pbx's definitions (false means `pbx images build` would rebuild). */
  current?: boolean;
}

export default class ImagesList extends PbxCommand {
  static override summary = 'Show which image `pbx up` runs for each service, why, and whether it is present.';
  static override examples = ['<%= config.bin %> images list', '<%= config.bin %> images list --json'];
  static override flags = { ...jsonFlag, ...configFlag };

  async run(): Promise<ImageRow[]> {
    const { flags } = await this.parse(ImagesList);
    const out = this.output(flags);
    const config = this.loadConfig(flags);
    const { docker } = await connectDocker();
    const containers = await listProjectContainers(docker, config.name);
    const rows = await Promise.all(
      SERVICE_NAMES.map(async (service): Promise<ImageRow> => {
        const running = containers.find((c) => c.service === service)?.image;
        const { image, local, reason, available } = await chooseImage(docker, config, service, running);
        const why = { pinned: SERVICES[service].upstreamImage, reason, available };
        if (!local) return { service, image, source: 'upstream', present: await imagePresent(docker, image), ...why };
        const state = await imageState(docker, service);
        const { tag } = IMAGES[service];
        return { service, image: tag, source: 'local', present: state.present, current: state.current, ...why };
      }),
    );
    out.result(rows, (o, list) =>
      o.line(
        renderTable(
          list.map((r) => ({
            ...r,
            present: r.present ? 'yes' : 'no',
            current: r.current === undefined ? '' : r.current ? 'yes' : 'no',
          })),
          [
            ['service', 'SERVICE'],
            ['image', 'IMAGE'],
            ['source', 'SOURCE'],
            ['present', 'PRESENT'],
            ['current', 'CURRENT'],
            ['pinned', 'PINNED UPSTREAM'],
            ['reason', 'WHY'],
          ],
        ),
      ),
    );
    return rows;
  }
}
