import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { allInOrder, settable, sleep } from '../async';
import { ExitCode, InterruptedError, UserError } from '../cli/errors';
import { setForceNote } from '../cli/interrupt';
import { formatDuration } from '../cli/output';
import type { ResolvedConfig } from '../config/load';
import type { ServiceName, Topic } from '../config/schema';
import { createCassandraClient } from '../clients/cassandra';
import { createKafka, isAuthorizationFailure } from '../clients/kafka';
import { ensureTopics, type TopicOutcome } from '../clients/topics';
import { connectDocker } from '../docker/engine';
import { LABELS, names } from '../docker/names';
import { isLocalAddress, isPortFree, listenerOf } from '../net/ports';
import { isExternal, nodesOf, selectServices, SERVICES, specsFor, type ImageChoice } from '../services/catalog';
import { cassandraEndpoint, endpointOf, kafkaEndpoint, type Endpoint } from '../services/endpoints';
import { probeOnce, RefusedError } from '../services/probes';
import { waitForStartCheck } from '../services/start-checks';
import type { ReadyProbe, ServiceSpec } from '../services/types';
import {
  containerHash,
  containerState,
  createServiceContainer,
  exitCodes,
  ensureNetwork,
  ensureVolumes,
  listProjectContainers,
  logTail,
  removeContainer,
  type ContainerState,
} from './containers';
import { awaitDependencies, type ServiceStart } from './dependencies';
import { chooseImage, ensureImage } from './images';
import { lockProject } from './lock';
import { planActions, splitCql, unwantedContainers, type ServiceAction } from './plan';
import { startOrder } from './start-order';

export type Phase = 'queued' | 'image' | 'creating' | 'starting' | 'waiting' | 'ready' | 'failed' | 'skipped';

/** Progress of one service's node (its one container, or one broker of several), for the live view and plain lines alike. */
export interface StackEvent {
  service: ServiceName;
  /** The node: kafka-2 of several brokers; absent or the service's name for its one container. */
  node?: string;
  phase: Phase;
  detail?: string;
}

export interface ServiceFailure {
  service: ServiceName;
  node: string;
  reason: string;
  exitCode?: number;
  logTail: string[];
  /** What to do about it, when pbx knows (an image that cannot be pulled, an external service's settings). */
  nextSteps?: string[];
}

/** How one node of a service went: its one container, or one of several brokers. */
export interface ServiceOutcome {
  service: ServiceName;
  node: string;
  action: ServiceAction | 'external';
  ready: boolean;
  /** From container start (or the check's start) to the first good protocol answer. */
  readyMs?: number;
  answer?: string;
  /** The node's own: one broker's address of several. */
  endpoint: Endpoint;
  image?: string;
  /** The image pbx ran and why, in a few words (pbx.yaml's setting, or what pbx chose: see chooseImage). */
  imageChoice?: { image: string; reason: string };
  failure?: ServiceFailure;
}

export interface UpResult {
  project: string;
  /** False when everything was already running and healthy. */
  changed: boolean;
  services: ServiceOutcome[];
  topics: TopicOutcome[];
  schemaFiles: string[];
  elapsedMs: number;
}

export interface UpOptions {
  config: ResolvedConfig;
  services?: string[];
  profile?: string;
  keepOnFailure?: boolean;
  signal: AbortSignal;
  onEvent?: (event: StackEvent) => void;
}

const LOG_TAIL_LINES = 20;
const EXTERNAL_TIMEOUT_MS = 20_000;
/**
 * How often each probe is asked while its service starts; what the wait adds once the service is ready is about half
 * of it. A probe over a bare socket (ZooKeeper's four-letter words, Cassandra's CQL) costs a refused connection
 * until the port opens, so it is asked often; Kafka's and Redis's make a client each time.
 */
const POLL_MS: Record<ReadyProbe['kind'], number> = {
  'zookeeper-ruok': 20,
  'cassandra-cql': 20,
  'kafka-roundtrip': 100,
  'redis-ping': 100,
};
const LOOK_MS = 500;
/**
 * Restarts allowed while pbx waits for a container it keeps, which the engine may be healing: a Kafka killed while
 * ZooKeeper holds its old session ended up to three times more (NodeExists) before it was back. One pbx started has none: its first
 * exit fails the wait.
 */
const HEALING_RESTARTS = 8;

class ServiceFailedError extends Error {
  constructor(
    message: string,
    readonly exitCode?: number,
  ) {
    super(message);
  }
}

/** Starts the selected services in dependency order and returns when every one is proven ready. */
export async function startStack(options: UpOptions): Promise<UpResult> {
  const started = Date.now();
  const { config, signal } = options;
  const emit = options.onEvent ?? (() => undefined);
  const selected = selectServices(config, options);
  const managed = selected.filter((s) => !isExternal(config, s));
  if (managed.length === 0) return startSelected(options, { selected, managed, started });
  // Asked while the lock is taken: loading the engine's client and its first answer change nothing.
  const engine = connectDocker();
  engine.catch(() => undefined); // awaited below, after the lock: a failure is reported there
  const lock = await lockProject(config.name, signal, (pid) => {
    for (const service of selected) {
      for (const node of nodesOf(config, service))
        emit({ service, node: node.name, phase: 'queued', detail: `pid ${pid}` });
    }
  }).catch((error: unknown) => {
    if (!(error instanceof InterruptedError)) throw error;
    throw new InterruptedError('Interrupted while another pbx up was changing the project: nothing was changed.');
  });
  try {
    return await startSelected(options, { selected, managed, started, docker: (await engine).docker });
  } finally {
    setForceNote(undefined);
    await lock.release();
  }
}

function forcedStopNote(project: string, run: ServicesRun, ranBefore: boolean): string {
  const made = run.touched.filter((t) => t.created).map((t) => t.node);
  const { madeVolumes } = run;
  if (made.length === 0 && madeVolumes.length === 0) return 'Stopped at once, before any container was made.';
  // `pbx down` would also stop the project's containers that ran before this run.
  const containers = ranBefore
    ? `\`docker rm -f ${made.map((node) => names.container(project, node)).join(' ')}\` removes its containers`
    : `\`pbx down\` removes its containers (${made.join(', ')})`;
  const steps = [
    ...(made.length > 0 ? [containers] : []),
    ...(madeVolumes.length > 0
      ? [`\`docker volume rm ${madeVolumes.join(' ')}\` the volumes it made, which hold no data yet`]
      : []),
  ];
  return `Stopped at once, perhaps leaving what this run made: ${steps.join('; then ')}.`;
}

type Settable<T> = ReturnType<typeof settable<T>>;

/** A container this run made or started. */
interface Touched {
  id: string;
  node: string;
  created: boolean;
}

/** What the services of one `pbx up` share while they start side by side. */
interface ServicesRun {
  config: ResolvedConfig;
  /** Present whenever a service is run by pbx (external ones need no engine). */
  docker?: Docker;
  signal: AbortSignal;
  emit: (event: StackEvent) => void;
  plan: ReturnType<typeof planActions>;
  /** Made while the images are looked at and the volumes made; containers wait for it. */
  network: Promise<unknown>;
  /** The containers this run made or restarted, removed or stopped again if it fails. */
  touched: Touched[];
  /** Removed again if the run fails: they hold no data of the user's yet. */
  madeVolumes: string[];
  /** Each service's start and readiness, which its dependents wait on. */
  signals: Map<ServiceName, { start: Settable<ServiceStart>; ready: Settable<boolean> }>;
  /** The order the engine is given the services in (startOrder), and for each, once it has had its turn. */
  order: ServiceName[];
  turnsTaken: Map<ServiceName, Settable<void>>;
}

/** What startStack found before it started anything: the services, when it began, the engine (with managed ones). */
interface Selection {
  selected: ServiceName[];
  managed: ServiceName[];
  started: number;
  docker?: Docker;
}

async function startSelected(options: UpOptions, { selected, managed, started, docker }: Selection): Promise<UpResult> {
  const { config, signal } = options;
  // Made while the checks below run (the engine takes about 0.1 s, all of it before the first container can be made)
  // and removed again when one fails, so that a failed check still leaves nothing made.
  const network = docker && managed.length > 0 ? ensureNetwork(docker, config.name) : Promise.resolve(false);
  network.catch(() => undefined); // awaited below: a failure is reported there, not as unhandled
  const checked = checkAndPlan(options, { selected, managed, docker }).catch(async (error: unknown) => {
    if (await network.catch(() => false)) await removeNetwork(docker!, config.name);
    throw error;
  });
  const { existing, images, specs, plan, schema } = await checked;
  const run: ServicesRun = {
    config,
    docker,
    signal,
    plan,
    network,
    emit: options.onEvent ?? (() => undefined),
    touched: [],
    madeVolumes: [],
    signals: new Map(selected.map((service) => [service, { start: settable(), ready: settable() }])),
    order: startOrder(specs),
    turnsTaken: new Map(selected.map((service) => [service, settable()])),
  };
  for (const [service, { start }] of run.signals) void start.promise.then(() => run.turnsTaken.get(service)!.resolve());
  for (const spec of specs) {
    const { action } = plan.get(spec.node.name)!;
    const detail = imageLine(images.get(spec.name)!);
    if (action === 'create' || action === 'recreate')
      run.emit({ service: spec.name, node: spec.node.name, phase: 'image', detail });
  }
  // A second Ctrl-C exits at once, wherever this run is: it says what may be left and how to remove it.
  setForceNote(() => forcedStopNote(config.name, run, existing.length > 0));
  const results = (await runServices(run, selected, specs)).map((outcome) => {
    const choice = images.get(outcome.service);
    return choice ? { ...outcome, imageChoice: { image: choice.image, reason: choice.reason } } : outcome;
  });
  if (signal.aborted || results.some((r) => !r.ready)) {
    await undoRun(run, results, Boolean(options.keepOnFailure));
  }
  await network; // its failure, when no service had to wait for it

  const topics = selected.includes('kafka') ? await applyTopics(config, config.services.kafka.topics) : [];
  const schemaFiles = await applySchema(config, schema);
  const changed =
    results.some((r) => r.action !== 'keep' && r.action !== 'external') || topics.some((t) => t.action !== 'unchanged');
  return { project: config.name, changed, services: results, topics, schemaFiles, elapsedMs: Date.now() - started };
}

/** What startSelected knows before it makes anything: the project's containers, images, nodes, plan and schema. */
async function checkAndPlan(options: UpOptions, { selected, managed, docker }: Omit<Selection, 'started'>) {
  const { config } = options;
  const existing = docker ? await listProjectContainers(docker, config.name) : [];
  const images = new Map(
    await Promise.all(
      managed.map(async (service) => {
        const running = existing.find((c) => c.service === service)?.image;
        return [service, await chooseImage(docker!, config, service, running)] as const;
      }),
    ),
  );
  const specs = managed.flatMap((service) => specsFor(config, service, images.get(service)));
  const plan = planActions(
    specs.map((spec) => ({ node: spec.node.name, hash: containerHash(spec) })),
    existing,
  );
  const unwanted = unwantedContainers(
    specs.map((spec) => ({ service: spec.name, node: spec.node.name })),
    existing,
  );
  // Side by side, each reported in this order: a missing schema file is found now, not after Cassandra's start.
  const [schema] = await allInOrder([
    selected.includes('cassandra') ? readSchema(config) : Promise.resolve([]),
    docker ? preflightPorts(docker, config, specs, plan) : undefined,
    docker ? checkDataFormats(docker, specs, plan) : undefined,
  ] as const);
  // Gone before anything is made: they hold ports the nodes wanted now publish.
  for (const c of unwanted) await removeContainer(docker!, c.id);
  return { existing, images, specs, plan, schema };
}

/**
 * Runs every selected service at once, each node of it side by side: each waits only for its own dependencies'
 * conditions. A service has started when all its nodes have, and is ready when all are.
 */
async function runServices(run: ServicesRun, selected: ServiceName[], specs: ServiceSpec[]): Promise<ServiceOutcome[]> {
  const outcomes = await Promise.all(
    selected.map(async (service) => {
      const nodes = specs.filter((s) => s.name === service);
      const signals = run.signals.get(service)!;
      const starts = nodes.map(() => settable<ServiceStart>());
      void Promise.all(starts.map((start) => start.promise)).then((all) =>
        signals.start.resolve({ running: all.every((s) => s.running), freshData: all.every((s) => s.freshData) }),
      );
      const outcomes =
        nodes.length > 0
          ? await Promise.all(
              nodes.map(async (spec, i) => {
                const outcome = await runManaged(run, spec, starts[i]!);
                starts[i]!.resolve({ running: false, freshData: false }); // no-op when it started
                return outcome;
              }),
            )
          : [await runExternal(run, service)];
      signals.start.resolve({ running: false, freshData: false }); // no-op when it started
      signals.ready.resolve(outcomes.every((outcome) => outcome.ready));
      return outcomes;
    }),
  );
  return outcomes.flat();
}

/**
 * Waits until the services before this node's in the start order have had their turn with the engine: their
 * containers have started (or failed to), or they wait for another service's readiness or a start check.
 */
async function awaitTurn(run: ServicesRun, spec: ServiceSpec): Promise<void> {
  const before = run.order.slice(0, Math.max(0, run.order.indexOf(spec.name)));
  await Promise.all(before.map((service) => run.turnsTaken.get(service)!.promise));
}

/** Lets the services after this node's have the engine: it waits for something else than its turn. */
function passTurn(run: ServicesRun, spec: ServiceSpec): void {
  run.turnsTaken.get(spec.name)!.resolve();
}

/** Emits the events of one node of a service. */
function emitterOf(run: ServicesRun, spec: ServiceSpec): (event: Omit<StackEvent, 'service' | 'node'>) => void {
  return (event) => run.emit({ service: spec.name, node: spec.node.name, ...event });
}

/** After a failure or an interruption: removes what this run made (unless kept for inspection), and says so. */
async function undoRun(run: ServicesRun, results: ServiceOutcome[], keepOnFailure: boolean): Promise<never> {
  const { docker, config, signal } = run;
  await run.network.catch(() => undefined); // made before it is cleaned up, never after
  const cleaned = docker && !keepOnFailure ? await cleanUp(docker, config.name, run.touched, run.madeVolumes) : [];
  if (signal.aborted) {
    throw new InterruptedError(
      cleaned.length > 0
        ? `Interrupted: removed what this run started (${cleaned.join(', ')}).`
        : 'Interrupted before anything was started.',
      { nextSteps: ['Run `pbx up` again to start the stack.'] },
    );
  }
  throw unhealthyError(results, cleaned, keepOnFailure);
}

/**
 * Brings one pbx-run service to ready: its image and container are made while its dependencies start; its start waits
 * for their conditions and its start checks; then its probe is polled.
 */
async function runManaged(
  run: ServicesRun,
  spec: ServiceSpec,
  started: Settable<ServiceStart>,
): Promise<ServiceOutcome> {
  const { config, docker } = run;
  const node = spec.node.name;
  const emit = emitterOf(run, spec);
  const entry = run.plan.get(node)!;
  const endpoint = endpointOf(config, spec.name, spec.node);
  const base = { service: spec.name, node, action: entry.action, endpoint, image: spec.image };
  let id = entry.container?.id;
  try {
    const made = await prepareContainer(run, spec);
    id = made?.id ?? id;
    const { blockedBy, startedOnly } = await awaitDependencies(spec.dependsOn, run.signals, () => passTurn(run, spec));
    if (blockedBy || run.signal.aborted) {
      emit({ phase: 'skipped', detail: blockedBy ? `${blockedBy} is not ready` : 'interrupted' });
      const reason = blockedBy ? `not started: ${blockedBy} is not ready` : 'interrupted';
      return { ...base, ready: false, failure: { service: spec.name, node, reason, logTail: [] } };
    }
    if (entry.action !== 'keep') await startContainer(run, spec, id!);
    started.resolve({ running: true, freshData: made?.freshData ?? false });
    emit({ phase: 'waiting' });
    const { answer, readyMs } = await waitWatchingDependencies(run, spec, id!, startedOnly);
    emit({ phase: 'ready', detail: `${answer} (${formatDuration(readyMs)})` });
    return { ...base, ready: true, readyMs, answer };
  } catch (error) {
    const e = error as ServiceFailedError;
    const tail = id ? await logTail(docker!, id, LOG_TAIL_LINES) : [];
    emit({ phase: 'failed', detail: e.message });
    return {
      ...base,
      ready: false,
      failure: {
        service: spec.name,
        node,
        reason: e.message,
        exitCode: e.exitCode,
        logTail: tail,
        nextSteps: error instanceof UserError && error.nextSteps.length > 0 ? error.nextSteps : undefined,
      },
    };
  }
}

/**
 * Makes the image, the volumes and the container of a service to be created or recreated; returns the container and
 * whether it starts on fresh volumes. A container to be restarted is only noted.
 */
async function prepareContainer(
  run: ServicesRun,
  spec: ServiceSpec,
): Promise<{ id: string; freshData: boolean } | undefined> {
  const { config } = run;
  const docker = run.docker!;
  const node = spec.node.name;
  const emit = emitterOf(run, spec);
  const entry = run.plan.get(node)!;
  if (entry.action === 'restart') run.touched.push({ id: entry.container!.id, node, created: false });
  if (entry.action !== 'create' && entry.action !== 'recreate') return undefined;
  await ensureImage(docker, spec, (text) => emit({ phase: 'image', detail: text }));
  await awaitTurn(run, spec);
  if (entry.container) await removeContainer(docker, entry.container.id);
  emit({ phase: 'creating' });
  const made = await ensureVolumes(docker, config.name, spec);
  run.madeVolumes.push(...made);
  await run.network;
  const container = await createServiceContainer(docker, config.name, spec);
  run.touched.push({ id: container.id, node, created: true });
  return { id: container.id, freshData: made.length > 0 };
}

/** The one line that says which image a service runs and why. */
export function imageLine(choice: Pick<ImageChoice, 'image' | 'reason'>): string {
  return `${choice.image}, ${choice.reason}`;
}

/** Starts a service's container once its start checks hold (those asking a dependency on fresh data are skipped). */
async function startContainer(run: ServicesRun, spec: ServiceSpec, id: string): Promise<void> {
  const { config, signal } = run;
  const emit = emitterOf(run, spec);
  for (const check of spec.beforeStart ?? []) {
    const of = run.signals.get(check.of);
    if (of && (await of.start.promise).freshData) continue;
    passTurn(run, spec);
    await waitForStartCheck(config, check, signal, (detail) => emit({ phase: 'starting', detail }));
  }
  if (signal.aborted) throw new ServiceFailedError('interrupted');
  await Promise.all([run.network, awaitTurn(run, spec)]);
  emit({ phase: 'starting' });
  await run.docker!.getContainer(id).start();
}

/** Waits until the service is ready; started beside dependencies that are not ready yet, it gives up when one fails. */
async function waitWatchingDependencies(
  run: ServicesRun,
  spec: ServiceSpec,
  id: string,
  startedOnly: ServiceName[],
): Promise<{ answer: string; readyMs: number }> {
  const giveUp = new AbortController();
  for (const service of startedOnly) {
    void run.signals.get(service)!.ready.promise.then((ready) => {
      if (!ready) giveUp.abort(service);
    });
  }
  const signal = AbortSignal.any([run.signal, giveUp.signal]);
  const kept = run.plan.get(spec.node.name)!.action === 'keep';
  return waitUntilReady({ docker: run.docker!, config: run.config, spec, id, signal, kept }).catch((error: unknown) => {
    if (giveUp.signal.aborted && !run.signal.aborted) {
      throw new ServiceFailedError(`${String(giveUp.signal.reason)} is not ready`);
    }
    throw error;
  });
}

/** Proves an external service answers (it is never started), retrying for a while unless it refuses pbx. */
async function runExternal(run: ServicesRun, service: ServiceName): Promise<ServiceOutcome> {
  const { config, signal, emit } = run;
  run.signals.get(service)!.start.resolve({ running: false, freshData: false });
  const base = { service, node: service, action: 'external' as const, endpoint: endpointOf(config, service) };
  emit({ service, node: service, phase: 'waiting', detail: 'external' });
  const checkStarted = Date.now();
  let lastError: unknown;
  while (Date.now() - checkStarted < EXTERNAL_TIMEOUT_MS && !signal.aborted) {
    try {
      const answer = await probeOnce(config, service, 'full');
      emit({ service, node: service, phase: 'ready', detail: `${answer} (external)` });
      return { ...base, ready: true, readyMs: Date.now() - checkStarted, answer };
    } catch (error) {
      lastError = error;
      if (error instanceof RefusedError) break;
      await sleep(500, signal);
    }
  }
  const how = lastError instanceof RefusedError ? 'refused pbx' : 'did not answer';
  const reason = `external ${service} at ${base.endpoint.addresses.join(', ')} ${how}: ${(lastError as Error)?.message ?? 'interrupted'}`;
  emit({ service, node: service, phase: 'failed', detail: reason });
  const nextSteps = [`Check services.${service}.external in pbx.yaml (address, credentials, TLS) against the service.`];
  return { ...base, ready: false, failure: { service, node: service, reason, logTail: [], nextSteps } };
}

/**
 * Polls the service's protocol check fast, and gives up early when the container dies: it stopped, or its restart
 * policy ran it again (more than HEALING_RESTARTS times for one that is `kept`, which the engine may be healing).
 */
async function waitUntilReady(options: {
  docker: Docker;
  config: ResolvedConfig;
  spec: ServiceSpec;
  id: string;
  signal: AbortSignal;
  kept: boolean;
}): Promise<{ answer: string; readyMs: number }> {
  const { docker, config, spec, id, signal } = options;
  const started = Date.now();
  const allowedRestarts = options.kept ? ((await containerState(docker, id))?.restartCount ?? 0) + HEALING_RESTARTS : 0;
  let lastError: unknown;
  let lastLook = 0;
  while (Date.now() - started < spec.startupTimeoutMs) {
    if (signal.aborted) throw new ServiceFailedError('interrupted');
    try {
      const answer = await probeOnce(config, spec.name, 'full', spec.node);
      return { answer, readyMs: Date.now() - started };
    } catch (error) {
      lastError = error;
    }
    // A look at the container costs the engine and pbx more than a check does: twice a second is soon enough to
    // give up on a container that died.
    if (Date.now() - lastLook >= LOOK_MS) {
      lastLook = Date.now();
      const state = await containerState(docker, id);
      if (!state) throw new ServiceFailedError('the container disappeared (removed by someone else?)');
      if (!state.running || state.restartCount > allowedRestarts) throw await exitFailure(docker, spec, id, state);
    }
    // A failed check costs a few milliseconds; a late one costs the whole stack its wait.
    await sleep(POLL_MS[SERVICES[spec.name].ready.kind], signal);
  }
  throw new ServiceFailedError(
    `not ready after ${Math.round(spec.startupTimeoutMs / 1000)} s: ${(lastError as Error)?.message ?? 'no answer'}`,
  );
}

/** How a container pbx waited for ended, with the exit code of its last run (from the engine's events once restarted). */
async function exitFailure(
  docker: Docker,
  spec: ServiceSpec,
  id: string,
  state: ContainerState,
): Promise<ServiceFailedError> {
  const ended = !state.running || state.restarting;
  // Restarted already: its inspect data says 0 for the run now going; the engine's events keep the last one's code.
  const since = Date.parse(state.finishedAt) - 1000;
  const code = ended ? state.exitCode : (await exitCodes(docker, id, since).catch(() => [])).at(-1);
  const why = state.oomKilled ? ` (killed: out of memory; raise services.${spec.name}.memory)` : '';
  const restarts = state.restartCount > 1 ? `; restarted ${state.restartCount} times by the engine` : '';
  const exited = code === undefined ? 'the container exited' : `the container exited with code ${code}`;
  return new ServiceFailedError(`${exited}${why}${restarts}`, code);
}

/** Finds taken host ports before anything is created, naming each owner and the setting that moves it. */
async function preflightPorts(
  docker: Docker,
  config: ResolvedConfig,
  specs: ServiceSpec[],
  plan: ReturnType<typeof planActions>,
): Promise<void> {
  const toCheck = specs.filter((spec) => plan.get(spec.node.name)!.action !== 'keep');
  const [containers, bindIsLocal, free] = await Promise.all([
    docker.listContainers(),
    isLocalAddress(config.bind),
    Promise.all(toCheck.map((spec) => isPortFree(spec.port.bind, spec.port.host))),
  ]);
  const ownPorts = new Set<number>();
  const owners = new Map<number, string>();
  for (const c of containers) {
    for (const p of c.Ports ?? []) {
      if (!p.PublicPort) continue;
      if (c.Labels[LABELS.project] === config.name) ownPorts.add(p.PublicPort);
      else owners.set(p.PublicPort, `container ${(c.Names[0] ?? c.Id).replace(/^\//, '')} (${c.Image})`);
    }
  }
  if (!bindIsLocal) {
    throw new UserError(`${config.bind}, the bind address of pbx.yaml, is not an address of this machine.`, {
      code: 'BIND_ADDRESS',
      hint: 'Nothing was created.',
      nextSteps: [
        'Set bind in pbx.yaml to 127.0.0.1 (the default), 0.0.0.0 (every address) or one `ip -4 addr` shows.',
      ],
    });
  }
  const problems: string[] = [];
  const details: Array<{ service: ServiceName; node: string; port: number; owner?: string }> = [];
  for (const [i, spec] of toCheck.entries()) {
    if (ownPorts.has(spec.port.host)) continue; // held by this project's own container, freed on recreate
    if (free[i]) continue;
    const owner = owners.get(spec.port.host) ?? (await listenerOf(spec.port.host)) ?? 'another process';
    details.push({ service: spec.name, node: spec.node.name, port: spec.port.host, owner });
    problems.push(
      `${spec.port.bind}:${spec.port.host} for ${spec.node.name} is taken by ${owner} (set services.${spec.name}.port in pbx.yaml to move it)`,
    );
  }
  if (problems.length > 0) {
    throw new UserError(`Port${problems.length > 1 ? 's' : ''} already in use:\n  ${problems.join('\n  ')}`, {
      code: 'PORT_TAKEN',
      hint: 'Nothing was created.',
      nextSteps: ['Stop what holds the port, or choose another port in pbx.yaml.'],
      details,
    });
  }
}

/**
 * A service about to be made on volumes whose data another setting of it wrote (Kafka switched between ZooKeeper
 * and KRaft mode) would fail to start, after its old container was removed: said before anything changes.
 */
async function checkDataFormats(
  docker: Docker,
  specs: ServiceSpec[],
  plan: ReturnType<typeof planActions>,
): Promise<void> {
  for (const spec of specs) {
    if (!spec.dataFormat || plan.get(spec.node.name)!.action === 'keep') continue;
    for (const name of Object.keys(spec.volumes)) {
      const volume = await docker
        .getVolume(name)
        .inspect()
        .catch(() => undefined); // not made yet
      const found = volume?.Labels?.[LABELS.dataFormat];
      if (found === undefined || found === spec.dataFormat) continue;
      throw new UserError(`Volume ${name} holds the data of ${found}; ${spec.dataFormat} cannot start on it.`, {
        code: 'DATA_FORMAT_CHANGED',
        hint: 'Nothing was changed.',
        nextSteps: [
          `Put back the setting of pbx.yaml that made it (services.${spec.name}) to keep using that data.`,
          `Or start ${spec.name} afresh, losing that data: \`pbx down\`, \`docker volume rm ${name}\`, then \`pbx up\`.`,
        ],
      });
    }
  }
}

/** Removes the containers this run created and stops the ones it restarted; returns their services. */
async function cleanUp(docker: Docker, project: string, touched: Touched[], madeVolumes: string[]): Promise<string[]> {
  for (const t of touched) {
    if (t.created) await removeContainer(docker, t.id);
    else
      await docker
        .getContainer(t.id)
        .stop({ t: 2 })
        .catch(() => undefined);
  }
  for (const name of madeVolumes) {
    await docker
      .getVolume(name)
      .remove()
      .catch(() => undefined); // still used by a container this run did not make: kept
  }
  const remaining = await listProjectContainers(docker, project);
  if (remaining.length === 0) await removeNetwork(docker, project);
  return touched.map((t) => t.node);
}

/** Removes the project's network, which a run made before it failed; one still in use stays. */
async function removeNetwork(docker: Docker, project: string): Promise<void> {
  await docker
    .getNetwork(names.network(project))
    .remove()
    .catch(() => undefined);
}

function unhealthyError(results: ServiceOutcome[], cleaned: string[], kept: boolean): UserError {
  const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
  const blocks = failures.map((f) => {
    const lines = [`${f.node}: ${f.reason}`];
    const tail = f.logTail.length === 1 ? 'its last log line' : `last ${f.logTail.length} log lines`;
    if (f.logTail.length > 0) lines.push(`  ${tail}:`, ...f.logTail.map((l) => `  │ ${l}`));
    return lines.join('\n');
  });
  const aftermath = kept
    ? 'The containers were kept for inspection (--keep-on-failure): `pbx logs`, then `pbx down`.'
    : cleaned.length > 0
      ? `Removed what this run started (${cleaned.join(', ')}); nothing half-made is left running.`
      : 'Nothing was left running.';
  return new UserError(
    `${failures.length} service${failures.length > 1 ? 's are' : ' is'} not healthy.\n\n${blocks.join('\n\n')}`,
    {
      code: 'UNHEALTHY',
      exitCode: ExitCode.unhealthy,
      hint: aftermath,
      nextSteps: [
        ...new Set(failures.flatMap((f) => f.nextSteps ?? [])),
        // A container that failed for a reason pbx does not know: its log and its limits.
        ...(failures.some((f) => !f.nextSteps)
          ? [
              'Read the log lines above; `pbx up --keep-on-failure` keeps the containers for `pbx logs <service>`.',
              'If a service ran out of memory or time, raise services.<name>.memory in pbx.yaml.',
            ]
          : []),
      ],
      details: { failures },
    },
  );
}

/** Creates the topics pbx.yaml declares, and gives those that exist its partitions and settings. */
async function applyTopics(config: ResolvedConfig, topics: Topic[]): Promise<TopicOutcome[]> {
  if (topics.length === 0) return [];
  const admin = (await createKafka(kafkaEndpoint(config), { clientId: 'pbx-up' })).admin();
  try {
    await admin.connect();
    return await ensureTopics(
      admin,
      topics.map((t) => ({
        name: t.name,
        namedIn: 'services.kafka.topics in pbx.yaml',
        partitions: t.partitions,
        replicationFactor: t.replicationFactor,
        settings: Object.fromEntries(Object.entries(t.config).map(([name, value]) => [name, String(value)])),
        existing: 'reconcile',
      })),
      {
        endpoint: kafkaEndpoint(config),
        refusedSteps: ['Check services.kafka.topics in pbx.yaml (setting names and values are Kafka’s own).'],
      },
    );
  } catch (error) {
    throw error instanceof UserError ? error : topicsFailed(config, error);
  } finally {
    await admin.disconnect();
  }
}

/** Kafka refused pbx's rights on a topic, or stopped answering, while the topics of pbx.yaml were made. */
function topicsFailed(config: ResolvedConfig, error: unknown): UserError {
  const brokers = endpointOf(config, 'kafka').addresses.join(',');
  const { message, topic } = error as Error & { topic?: string };
  if (isAuthorizationFailure(error)) {
    const user = config.services.kafka.external?.sasl?.username ?? 'pbx';
    const what = topic ? `topic ${topic}` : 'the topics of pbx.yaml';
    return new UserError(`Kafka at ${brokers} does not let ${user} create or change ${what}: ${message}`, {
      code: 'KAFKA_NOT_AUTHORIZED',
      nextSteps: [
        `Ask the cluster's administrator for CREATE, DESCRIBE_CONFIGS and ALTER_CONFIGS on ${what}, or create the topics with Kafka's own tools.`,
      ],
      cause: error,
    });
  }
  return new UserError(`Kafka at ${brokers} did not make the topics of pbx.yaml: ${message}`, {
    code: 'KAFKA_UNAVAILABLE',
    exitCode: ExitCode.unhealthy,
    nextSteps: ['Check the stack with `pbx status kafka`, then run `pbx up` again.'],
    cause: error,
  });
}

/** Runs the CQL schema files in order; statements that create what already exists are skipped. */
interface SchemaFile {
  file: string;
  path: string;
  text: string;
}

async function readSchema(config: ResolvedConfig): Promise<SchemaFile[]> {
  return Promise.all(
    config.services.cassandra.schema.map(async (file) => {
      const path = resolve(config.projectDir, file);
      const text = await readFile(path, 'utf8').catch((error: Error) => {
        throw new UserError(`Cannot read CQL schema file ${path}: ${error.message}`, {
          code: 'SCHEMA_UNREADABLE',
          nextSteps: ['Fix services.cassandra.schema in pbx.yaml (paths are relative to pbx.yaml).'],
        });
      });
      return { file, path, text };
    }),
  );
}

async function applySchema(config: ResolvedConfig, schema: SchemaFile[]): Promise<string[]> {
  if (schema.length === 0) return [];
  const { types } = await import('cassandra-driver');
  const client = await createCassandraClient(cassandraEndpoint(config));
  await client.connect();
  try {
    for (const { path, text } of schema) {
      for (const { text: statement, line } of splitCql(text)) {
        try {
          await client.execute(statement);
        } catch (error) {
          if ((error as { code?: number }).code === types.responseErrorCodes.alreadyExists) continue;
          throw new UserError(`${path}:${line}: Cassandra refused the statement: ${(error as Error).message}`, {
            code: 'SCHEMA_FAILED',
            hint: statement.length > 200 ? `${statement.slice(0, 200)}…` : statement,
            nextSteps: ['Fix the statement; pbx applies schema files on every `pbx up`, so use IF NOT EXISTS.'],
          });
        }
      }
    }
    return schema.map((s) => s.file);
  } finally {
    await client.shutdown();
  }
}
