import type { ServiceName } from '../config/schema';

/**
 * The labels on every container, network, volume and image pbx creates; pbx touches nothing without them. Every
 * label and resource name pbx writes comes from this module.
 */
export const LABELS = {
  managed: 'pbx.managed',
  project: 'pbx.project',
  service: 'pbx.service',
  configHash: 'pbx.config-hash',
  dataFormat: 'pbx.data-format',
  /** On the images pbx builds: the digest of what each was built from. */
  imageHash: 'pbx.image.hash',
} as const;

/** The names of a project's resources, all prefixed by the project so projects never collide. */
export const names = {
  network: (project: string) => `pbx-${project}`,
  container: (project: string, service: ServiceName) => `pbx-${project}-${service}`,
  volume: (project: string, service: ServiceName, purpose: string) => `pbx-${project}-${service}-${purpose}`,
  /** The file in the temporary directory that lets one `pbx up` at a time change the project. */
  lockFile: (project: string) => `pbx-${project}.lock`,
};

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
