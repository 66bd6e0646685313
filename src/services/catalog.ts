import { createHash } from 'node:crypto';
import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';
import { UsageError } from '../cli/errors';
import { parseSize } from '../config/schema';
import { names, nodeName } from '../docker/names';
import { cassandra } from './cassandra';
import { kafka } from './kafka';
import { redis } from './redis';
import type { Dependency, ServiceDefinition, ServiceNode, ServiceSpec } from './types';
import { zookeeper } from './zookeeper';

/** Every service pbx can run, in a stable order. */
export const SERVICES: Record<ServiceName, ServiceDefinition> = { zookeeper, kafka, cassandra, redis };

/** True when pbx.yaml points this service at something already running elsewhere. */
export function isExternal(config: ResolvedConfig, service: ServiceName): boolean {
  const settings = config.services[service];
  return 'external' in settings && settings.external !== undefined;
}

/** The image a service runs and why: one line for `pbx up` and `pbx images list`. */
export interface ImageChoice {
  image: string;
  /** Built by `pbx images build` rather than pulled. */
  local: boolean;
  reason: string;
  /** False when neither the pinned upstream image nor pbx's own can be had (`reason` says why). */
  available: boolean;
}

/** The image pbx.yaml sets for a service (per-service `image`, else `images`); undefined when pbx is to choose. */
export function imageSetting(config: ResolvedConfig, service: ServiceName): ImageChoice | undefined {
  const own = config.services[service].image;
  const choice = own ?? config.images;
  if (choice === undefined) return undefined;
  const definition = SERVICES[service];
  const where = own !== undefined ? `services.${service}.image` : 'images';
  const reason = `as pbx.yaml sets (${where}: ${choice})`;
  if (choice === 'local') return { image: definition.localImage, local: true, reason, available: true };
  if (choice === 'upstream') return { image: definition.upstreamImage, local: false, reason, available: true };
  return { image: choice, local: choice === definition.localImage, reason, available: true };
}

/**
 * The image pbx.yaml asks for; with none set, the pinned upstream image pbx prefers (`chooseImage` in stack/images
 * decides with the engine which one runs).
 */
export function resolveImage(config: ResolvedConfig, service: ServiceName): ImageChoice {
  return (
    imageSetting(config, service) ?? {
      image: SERVICES[service].upstreamImage,
      local: false,
      reason: 'the pinned upstream image',
      available: true,
    }
  );
}

/**
 * The services a command works on: the named ones, else the profile's, else the default profile.
 * Dependencies are added (kafka brings zookeeper in ZooKeeper mode); external services are kept so
 * they can be checked, but never started.
 */
export function selectServices(
  config: ResolvedConfig,
  options: { services?: string[]; profile?: string },
): ServiceName[] {
  let chosen: string[];
  if (options.services && options.services.length > 0) {
    chosen = options.services;
  } else {
    const profile = options.profile ?? 'default';
    const fromProfile = config.profiles[profile];
    if (!fromProfile) {
      throw new UsageError(`Profile "${profile}" is not defined.`, {
        nextSteps: [`Use one of: ${Object.keys(config.profiles).join(', ')}, or add it under profiles: in pbx.yaml.`],
      });
    }
    chosen = fromProfile;
  }
  const unknown = chosen.filter((name) => !(name in SERVICES));
  if (unknown.length > 0) {
    throw new UsageError(`Unknown service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, {
      nextSteps: [`pbx knows: ${Object.keys(SERVICES).join(', ')}.`],
    });
  }
  const selected = new Set(chosen as ServiceName[]);
  const order = Object.keys(SERVICES) as ServiceName[];
  // Dependencies first; a dependency of an external service is never needed.
  for (const name of [...selected]) {
    if (isExternal(config, name)) continue;
    for (const dependency of dependenciesOf(config, name)) selected.add(dependency.service);
  }
  return order.filter((name) => selected.has(name));
}

/** The nodes (containers) of a service: one, or one per Kafka broker. An external service is one node pbx does not run. */
export function nodesOf(config: ResolvedConfig, service: ServiceName): ServiceNode[] {
  const count = isExternal(config, service) ? 1 : (SERVICES[service].nodes?.(config) ?? 1);
  return Array.from({ length: count }, (_, i) => ({ name: nodeName(service, i + 1, count), index: i + 1, count }));
}

/**
 * The Docker specs of one (non-external) service, one per node, running the image chosen for it (by default, what
 * pbx.yaml asks).
 */
export function specsFor(
  config: ResolvedConfig,
  service: ServiceName,
  choice: Pick<ImageChoice, 'image' | 'local'> = resolveImage(config, service),
): ServiceSpec[] {
  const { image, local } = choice;
  const memoryBytes = parseSize(config.services[service].memory);
  return nodesOf(config, service).map((node) => {
    const spec = SERVICES[service].spec({
      config,
      image,
      localImage: local,
      memoryBytes,
      node,
      volume: (purpose) => names.volume(config.name, node.name, purpose),
    });
    return { name: service, node, image, localImage: local, memoryBytes, ...spec };
  });
}

/** The spec of a service's first node: its only one, but for Kafka with several brokers. */
export function specFor(
  config: ResolvedConfig,
  service: ServiceName,
  choice?: Pick<ImageChoice, 'image' | 'local'>,
): ServiceSpec {
  return specsFor(config, service, choice)[0]!;
}

/** What a service's start waits for (its nodes all wait for the same). */
export function dependenciesOf(config: ResolvedConfig, service: ServiceName): Dependency[] {
  return specFor(config, service).dependsOn;
}

/**
 * A digest of everything that shapes the container: a change means it must be recreated. What `up` waits for before
 * and after the start (dependencies, start checks, the startup timeout) is not part of the container.
 */
export function specHash(spec: ServiceSpec): string {
  // Nor is its node: a node is found by its name (its container's), whatever its hash.
  const { startupTimeoutMs: _timeout, dependsOn: _dependencies, beforeStart: _checks, node: _node, ...shape } = spec;
  return createHash('sha256').update(stableJson(shape)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
