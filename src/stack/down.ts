import type { ResolvedConfig } from '../config/load';
import { connectDocker } from '../docker/engine';
import { projectFilter } from '../docker/names';
import { listProjectContainers, removeContainer } from './containers';

export interface DownResult {
  project: string;
  removedContainers: string[];
  removedNetworks: string[];
  removedVolumes: string[];
  /** Volumes left in place (data kept for the next `pbx up`). */
  keptVolumes: string[];
}

// Long enough for Kafka's controlled shutdown and Cassandra's drain, which keep data consistent.
const STOP_TIMEOUT_S = 30;

/** Stops and removes the project's containers and network; volumes only when asked. */
export async function stopStack(options: { config: ResolvedConfig; volumes: boolean }): Promise<DownResult> {
  const { config } = options;
  const { docker } = await connectDocker();
  const containers = await listProjectContainers(docker, config.name);
  // Kafka needs ZooKeeper for a clean shutdown: stop everything else first.
  const stop = async (list: typeof containers) =>
    Promise.all(
      list.map(async (c) => {
        await docker
          .getContainer(c.id)
          .stop({ t: STOP_TIMEOUT_S })
          .catch(() => undefined); // already stopped
        await removeContainer(docker, c.id);
      }),
    );
  await stop(containers.filter((c) => c.service !== 'zookeeper'));
  await stop(containers.filter((c) => c.service === 'zookeeper'));

  const networks = await docker.listNetworks({ filters: projectFilter(config.name) });
  for (const network of networks) await docker.getNetwork(network.Id).remove();

  const { Volumes: volumes } = await docker.listVolumes({ filters: projectFilter(config.name) });
  const volumeNames = (volumes ?? []).map((v) => v.Name);
  if (options.volumes) for (const name of volumeNames) await docker.getVolume(name).remove();
  return {
    project: config.name,
    removedContainers: containers.map((c) => c.name),
    removedNetworks: networks.map((n) => n.Name),
    removedVolumes: options.volumes ? volumeNames : [],
    keptVolumes: options.volumes ? [] : volumeNames,
  };
}
