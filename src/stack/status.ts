import type Docker from 'dockerode';
import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';
import { withTimeout } from '../async';
import { connectDocker } from '../docker/engine';
import { dependenciesOf, isExternal, nodesOf, resolveImage, SERVICES, selectServices } from '../services/catalog';
import { endpointOf, type Endpoint } from '../services/endpoints';
import { kafkaReplication, probeOnce, type KafkaReplication } from '../services/probes';
import type { ServiceNode } from '../services/types';
import { containerState, exitCodes, listProjectContainers, type ContainerState } from './containers';

/** One node of a service: its one container, or one of several brokers. */
export interface ServiceStatus {
  service: ServiceName;
  /** The service's name, or kafka-2 of several brokers. */
  node: string;
  /** running, exited, created… from Docker; "missing" when no container; "external" when not run by pbx. */
  state: string;
  ready: boolean;
  /** What the readiness check answered, or why it failed. */
  check: string;
  /** The node's own: one broker's address of several. */
  endpoint: Endpoint;
  image?: string;
  startedAt?: string;
  uptimeMs?: number;
  exitCode?: number;
  /** The engine's restarts of a container pbx runs: its restart policy heals a service that ended. */
  restarts?: RestartRecord;
}

/** How often the engine started a service again since pbx started it, when it last did, and why. */
export interface RestartRecord {
  count: number;
  /** When the engine last started it again; absent while it waits to (state `restarting`) or never did. */
  lastAt?: string;
  sinceLastMs?: number;
  /** How the run before that ended; absent when none did. */
  lastExit?: {
    at: string;
    /** Absent when the engine has forgotten it: once the next run is going, only its events keep it (a few hundred). */
    code?: number;
    oomKilled: boolean;
  };
}

export interface StatusResult {
  project: string;
  ready: boolean;
  services: ServiceStatus[];
  /** What the cluster says of itself, when Kafka is shown and answers. */
  kafka?: KafkaReplication;
}

const CHECK_TIMEOUT_MS = 3000;

/** Each selected service's state and a quick protocol check of the ones that run. */
export async function stackStatus(options: {
  config: ResolvedConfig;
  services?: string[];
  profile?: string;
}): Promise<StatusResult> {
  const { config } = options;
  const selected = selectServices(config, options);
  const managed = selected.filter((s) => !isExternal(config, s));
  const docker = managed.length > 0 ? (await connectDocker()).docker : undefined;
  const containers = docker ? await listProjectContainers(docker, config.name) : [];
  const check = async (service: ServiceName, node?: ServiceNode): Promise<{ ready: boolean; check: string }> => {
    try {
      const answer = await withTimeout(
        probeOnce(config, service, 'quick', node),
        CHECK_TIMEOUT_MS,
        `no answer within ${CHECK_TIMEOUT_MS} ms`,
      );
      return { ready: true, check: answer };
    } catch (error) {
      return { ready: false, check: (error as Error).message };
    }
  };
  const nodeStatus = async (service: ServiceName, node: ServiceNode): Promise<ServiceStatus> => {
    const endpoint = endpointOf(config, service, node);
    const container = containers.find((c) => c.node === node.name);
    const id = { service, node: node.name, endpoint };
    if (!container) {
      const image = resolveImage(config, service).image;
      return { ...id, state: 'missing', ready: false, check: 'not started (pbx up)', image };
    }
    const state = await containerState(docker!, container.id);
    const base = { ...id, image: container.image };
    if (!state) return { ...base, state: 'missing', ready: false, check: 'the container is gone' };
    const restarts = await restartsOf(docker!, container.id, state);
    if (state.restarting) {
      const code = `${restarts.lastExit?.code ?? '?'}${state.oomKilled ? ', out of memory' : ''}`;
      return { ...base, state: state.status, ready: false, check: `restarting after exit code ${code}`, restarts };
    }
    if (!state.running) {
      const check = `exited with code ${state.exitCode}`;
      return { ...base, state: state.status, ready: false, check, exitCode: state.exitCode, restarts };
    }
    const uptimeMs = Date.now() - Date.parse(state.startedAt);
    const answer = await check(service, node);
    return { ...base, state: state.status, startedAt: state.startedAt, uptimeMs, restarts, ...answer };
  };
  const external = async (service: ServiceName): Promise<ServiceStatus> => {
    const endpoint = endpointOf(config, service);
    return { service, node: service, state: 'external', endpoint, ...(await check(service)) };
  };
  const [services, kafka] = await Promise.all([
    Promise.all(
      selected.flatMap((service) =>
        isExternal(config, service)
          ? [external(service)]
          : nodesOf(config, service).map((node) => nodeStatus(service, node)),
      ),
    ),
    selected.includes('kafka')
      ? withTimeout(kafkaReplication(config), CHECK_TIMEOUT_MS, 'no answer').catch(() => undefined)
      : undefined,
  ]);
  markDependents(config, services);
  return { project: config.name, ready: services.every((s) => s.ready), services, ...(kafka ? { kafka } : {}) };
}

/** What the engine says of a container's restarts, with the exit code of the run before the last restart. */
async function restartsOf(docker: Docker, id: string, state: ContainerState): Promise<RestartRecord> {
  if (state.restartCount === 0) return { count: 0 };
  const lastExit = { at: state.finishedAt, oomKilled: state.oomKilled };
  // Between two runs the engine still shows the code; once the next one runs it says 0, and its events keep it.
  const ended = Date.parse(state.finishedAt);
  const code = state.restarting
    ? state.exitCode
    : (await exitCodes(docker, id, ended - 1000, ended + 1000).catch(() => [])).at(-1);
  if (state.restarting) return { count: state.restartCount, lastExit: { ...lastExit, code } };
  const sinceLastMs = Date.now() - Date.parse(state.startedAt);
  return { count: state.restartCount, lastAt: state.startedAt, sinceLastMs, lastExit: { ...lastExit, code } };
}

/**
 * A running service is not ready while a dependency it needs ready is not, though its own probe answers: Kafka in
 * ZooKeeper mode answers from its cache without ZooKeeper, but can make or change no topic. Dependencies first, as
 * `services` are ordered, so a service two steps away from a failure hears of it too.
 */
export function markDependents(config: ResolvedConfig, services: ServiceStatus[]): void {
  for (const status of services) {
    if (!status.ready || status.state === 'external') continue;
    for (const dependency of dependenciesOf(config, status.service)) {
      const of = services.find((s) => s.service === dependency.service);
      if (dependency.condition !== 'ready' || !of || of.ready) continue;
      const without = dependency.neededFor ? `: ${dependency.neededFor}` : '';
      status.ready = false;
      status.check = `${status.check}, but ${SERVICES[of.service].title} is not ready (${of.check})${without}`;
      break;
    }
  }
}
