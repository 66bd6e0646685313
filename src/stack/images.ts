import type Docker from 'dockerode';
import { UserError } from '../cli/errors';
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
    throw new UserError(`Cannot pull ${spec.image} for ${spec.name}: ${(error as Error).message}`, {
      code: 'IMAGE_PULL_FAILED',
      hint: 'The engine could not reach a container registry.',
      nextSteps: [
        'Check the network or registry mirror settings of your Docker engine.',
        'Or build the images locally with no registry: set `images: local` in pbx.yaml and run `pbx images build`.',
      ],
      cause: error,
    });
  }
}
