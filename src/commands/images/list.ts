import { PbxCommand, configFlag, jsonFlag } from '../../cli/base-command';
import { renderTable } from '../../cli/output';
import { SERVICE_NAMES, type ServiceName } from '../../config/schema';
import { connectDocker } from '../../docker/engine';
import { IMAGES } from '../../images/catalog';
import { imageState } from '../../images/build';
import { resolveImage } from '../../services/catalog';
import { imagePresent } from '../../stack/images';

export interface ImageRow {
  service: ServiceName;
  image: string;
  source: 'local' | 'upstream';
  present: boolean;
  /** For local images: built from this pbx's definitions (false means `pbx images build` would rebuild). */
  current?: boolean;
}

export default class ImagesList extends PbxCommand {
  static override summary = 'Show which image each service uses and whether it is present.';
  static override examples = ['<%= config.bin %> images list', '<%= config.bin %> images list --json'];
  static override flags = { ...jsonFlag, ...configFlag };

  async run(): Promise<ImageRow[]> {
    const { flags } = await this.parse(ImagesList);
    const out = this.output(flags);
    const config = this.loadConfig(flags);
    const { docker } = await connectDocker();
    const rows = await Promise.all(
      SERVICE_NAMES.map(async (service): Promise<ImageRow> => {
        const { image, local } = resolveImage(config, service);
        if (!local) return { service, image, source: 'upstream', present: await imagePresent(docker, image) };
        const state = await imageState(docker, service);
        return { service, image: IMAGES[service].tag, source: 'local', present: state.present, current: state.current };
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
          ],
        ),
      ),
    );
    return rows;
  }
}
