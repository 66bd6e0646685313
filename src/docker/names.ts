import type { ServiceName } from '../config/schema';

/**
 * The labels on every container, network, volume and image pbx creates; pbx touches nothing without them. Every
 * label and resource name pbx writes comes from this module.
 */
export const LABELS = {
  managed: 'pbx.managed',
  project: 'pbx.project',
  service: 'pbx.service',
  /** The container's node: its service's name, or kafka-2 for one of several (absent on containers made before). */
  node: 'pbx.node',
  configHash: 'pbx.config-hash',
  dataFormat: 'pbx.data-format',
  /** On the images pbx builds: the digest of what each was built from. */
  imageHash: 'pbx.image.hash',
} as const;

/** The names of a project's resources, all prefixed by the project so projects never collide. */
export const names = {
  network: (project: string) => `pbx-${project}`,
  /** Of a node: a service's one container (`kafka`), or one of several (`kafka-2`; see nodeName). */
  container: (project: string, node: string) => `pbx-${project}-${node}`,
  volume: (project: string, node: string, purpose: string) => `pbx-${project}-${node}-${purpose}`,
  /** The file in the temporary directory that lets one `pbx up` at a time change the project. */
  lockFile: (project: string) => `pbx-${project}.lock`,
};

/**
 * The name of a service's container `index` (1-based) of `count`, within the project and on its network: the service's
 * own name when it runs one (so a single broker is `kafka`, as before there were several), else `kafka-1`, `kafka-2` ….
 */
export function nodeName(service: ServiceName, index: number, count: number): string {
  return count === 1 ? service : `${service}-${index}`;
}

/** Labels for a resource owned by `project` (and `service`, for containers and volumes). */
export function projectLabels(project: string, service?: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.project]: project,
    ...(service ? { [LABELS.service]: service } : {}),
  };
}

/** Labels for an image pbx builds from sources whose digest is `hash`. */
export function imageLabels(hash: string): Record<string, string> {
  return { [LABELS.managed]: 'true', [LABELS.imageHash]: hash };
}

/** A dockerode `filters` value selecting one project's resources. */
export function projectFilter(project: string): { label: string[] } {
  return { label: [`${LABELS.managed}=true`, `${LABELS.project}=${project}`] };
}

/** A dockerode `filters` value selecting every resource pbx made, whatever its project. */
export function managedFilter(): { label: string[] } {
  return { label: [`${LABELS.managed}=true`] };
}
