/** Every container, network, volume and image pbx creates carries these; pbx touches nothing without them. */
export const LABELS = {
  managed: 'pbx.managed',
  project: 'pbx.project',
  service: 'pbx.service',
  configHash: 'pbx.config-hash',
  dataFormat: 'pbx.data-format',
} as const;

/** Labels for a resource owned by `project` (and `service`, for containers and volumes). */
export function projectLabels(project: string, service?: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.project]: project,
    ...(service ? { [LABELS.service]: service } : {}),
  };
}

/** A dockerode `filters` value selecting one project's resources. */
export function projectFilter(project: string): { label: string[] } {
  return { label: [`${LABELS.managed}=true`, `${LABELS.project}=${project}`] };
}
