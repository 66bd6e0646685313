import type Docker from 'dockerode';
import { withTimeout } from '../async';
import { UserError } from '../cli/errors';
import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';
import { imageSetting, SERVICES, type ImageChoice } from '../services/catalog';
import type { ServiceSpec } from '../services/types';

/** True when the engine has `image` locally. */
export async function imagePresent(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/**
 * Which image a service runs, for `pbx up` and `pbx images list` alike: what pbx.yaml sets; else the image its
 * container already runs (a later `pbx up` never recreates a container only to swap its image); else the pinned
 * upstream image when it is present or can be pulled; else pbx's own when it is built. Never pulls: the registry is
 * asked for the upstream image's manifest only.
 */
export async function chooseImage(
  docker: Docker,
  config: ResolvedConfig,
  service: ServiceName,
  running?: string,
): Promise<ImageChoice> {
  const set = imageSetting(config, service);
  if (set) return set;
  const { upstreamImage: upstream, localImage: local } = SERVICES[service];
  const choice = (image: string, reason: string, available = true): ImageChoice => ({
    image,
    local: image === local,
    reason,
    available,
  });
  const [upstreamPresent, localPresent] = await Promise.all([
    imagePresent(docker, upstream),
    imagePresent(docker, local),
  ]);
  if ((running === upstream && upstreamPresent) || (running === local && localPresent)) {
    return choice(
      running,
      `${running === local ? "pbx's own image" : 'the pinned upstream image'}, which its container runs`,
    );
  }
  if (upstreamPresent) return choice(upstream, 'the pinned upstream image, present');
  const refusal = await pullRefusal(docker, upstream);
  if (refusal === undefined) return choice(upstream, 'the pinned upstream image, which can be pulled');
  if (localPresent) return choice(local, `pbx's own image, as ${upstream} cannot be pulled (${refusal})`);
  return choice(upstream, `${upstream} cannot be pulled (${refusal}) and pbx's own ${local} is not built`, false);
}

const REGISTRY_ANSWER_MS = 5000;

/** Why the registry will not give `image` (its manifest asked for, nothing pulled); undefined when it would. */
async function pullRefusal(docker: Docker, image: string): Promise<string | undefined> {
  try {
    // A registry that drops packets would hold every `pbx up` for the engine's own time-out: a few seconds is
    // answer enough, and pbx's own image is the way on.
    await withTimeout(
      docker.getImage(image).distribution(),
      REGISTRY_ANSWER_MS,
      `no answer from its registry within ${REGISTRY_ANSWER_MS / 1000} s`,
    );
    return undefined;
  } catch (error) {
    return engineMessage(error);
  }
}

/** The engine's own words, without dockerode's "(HTTP code 500) server error - " before them. */
function engineMessage(error: unknown): string {
  const { json, message } = error as { json?: { message?: string }; message?: string };
  return (json?.message ?? message ?? String(error)).trim();
}

/** Makes sure a service's image is there: pulls an upstream image; a local one must have been built. */
export async function ensureImage(
  docker: Docker,
  spec: ServiceSpec,
  onProgress: (text: string) => void,
): Promise<void> {
  if (await imagePresent(docker, spec.image)) return;
  if (spec.localImage) {
    throw new UserError(`Image ${spec.image} for ${spec.name} has not been built.`, {
      code: 'IMAGE_MISSING',
      nextSteps: [`Run \`pbx images build ${spec.name}\`, then \`pbx up\` again.`],
    });
  }
  onProgress(`pulling ${spec.image}`);
  try {
    const stream = await docker.pull(spec.image);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error) => (error ? reject(error) : resolve()),
        (event: { status?: string; progress?: string }) => {
          if (event.status) onProgress(`pulling ${spec.image}: ${event.status} ${event.progress ?? ''}`.trim());
        },
      );
    });
  } catch (error) {
    throw await pullFailed(docker, spec, error);
  }
}

/** A pull that failed: pbx's own image, built with no registry, is the way out (or is there already). */
async function pullFailed(docker: Docker, spec: ServiceSpec, error: unknown): Promise<UserError> {
  const local = SERVICES[spec.name].localImage;
  const built = await imagePresent(docker, local).catch(() => false);
  const upstream = spec.image === SERVICES[spec.name].upstreamImage;
  const setting = upstream ? '`images: upstream`' : `\`services.${spec.name}.image\``;
  return new UserError(
    `Cannot pull ${spec.image} for ${spec.name}: ${engineMessage(error)}${built ? '' : `; pbx's own image ${local} is not built either`}.`,
    {
      code: 'IMAGE_PULL_FAILED',
      hint: 'The engine could not reach a container registry, or it has no such image.',
      nextSteps: [
        built
          ? `pbx's own image ${local} is present: remove ${setting} from pbx.yaml, then run \`pbx up\` again.`
          : `Build pbx's own image, which needs no registry: \`pbx images build ${spec.name}\`${upstream ? '' : `, remove ${setting} from pbx.yaml`}, then \`pbx up\` again.`,
        'Or check the network or registry mirror settings of your Docker engine.',
      ],
      cause: error,
    },
  );
}
