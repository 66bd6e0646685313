import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { sleep } from '../async';
import type { ServiceName } from '../config/schema';
import { LABELS, names, projectFilter, projectLabels } from '../docker/names';
import { specHash } from '../services/catalog';
import type { ServiceSpec } from '../services/types';

/** What pbx knows about one of its containers. */
export interface ProjectContainer {
  id: string;
  name: string;
  service: ServiceName;
  /** Its node: the service's name, or kafka-2 of several brokers (see nodeName). */
  node: string;
  image: string;
  state: string; // running, exited, created, …
  configHash?: string;
  createdAt: Date;
}

/** The project's containers, found by label (never by name alone). */
export async function listProjectContainers(docker: Docker, project: string): Promise<ProjectContainer[]> {
  const found = await docker.listContainers({ all: true, filters: projectFilter(project) });
  return found.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    service: c.Labels[LABELS.service] as ServiceName,
    // Containers made before services had several nodes carry no node label: each was its service's one node.
    node: c.Labels[LABELS.node] ?? c.Labels[LABELS.service]!,
    image: c.Image,
    state: c.State,
    configHash: c.Labels[LABELS.configHash],
    createdAt: new Date(c.Created * 1000),
  }));
}

/** Creates the project's bridge network unless it exists; returns whether it was created. */
export async function ensureNetwork(docker: Docker, project: string): Promise<boolean> {
  const name = names.network(project);
  const existing = (await docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
  if (existing.some((n) => n.Labels?.[LABELS.project] !== project)) {
    throw new Error(`a network named ${name} exists but was not created by pbx; remove or rename it`);
  }
  if (existing.length > 1) await keepOneNetwork(docker, name, existing);
  if (existing.length > 0) return false;
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: projectLabels(project) });
  return true;
}

/**
 * Two creates at once can make two networks of one name (two `pbx up` did, before the project lock), and the engine
 * then refuses the name as ambiguous. The ones no container uses go; the oldest stays when none is used.
 */
async function keepOneNetwork(docker: Docker, name: string, networks: Docker.NetworkInspectInfo[]): Promise<void> {
  const inspected = await Promise.all(networks.map((n) => docker.getNetwork(n.Id).inspect()));
  const used = inspected.filter((n) => Object.keys(n.Containers ?? {}).length > 0);
  if (used.length > 1) {
    throw new Error(`${used.length} networks are named ${name}, each with containers; \`pbx down\` removes them all`);
  }
  const keep = used[0] ?? [...inspected].sort((a, b) => a.Created.localeCompare(b.Created))[0]!;
  for (const n of inspected) if (n.Id !== keep.Id) await docker.getNetwork(n.Id).remove();
}

/**
 * Creates the named volumes a service mounts that do not exist yet (labelled, so `down --volumes` finds
 * them) and returns their names: with any, the service starts with no data.
 */
export async function ensureVolumes(docker: Docker, project: string, spec: ServiceSpec): Promise<string[]> {
  const created: string[] = [];
  for (const name of Object.keys(spec.volumes)) {
    try {
      const volume = await docker.getVolume(name).inspect();
      if (volume.Labels?.[LABELS.project] !== project) {
        throw new Error(`a volume named ${name} exists but was not created by pbx for ${project}; remove or rename it`);
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      const format: Record<string, string> = spec.dataFormat ? { [LABELS.dataFormat]: spec.dataFormat } : {};
      await docker.createVolume({ Name: name, Labels: { ...projectLabels(project, spec.name), ...format } });
      created.push(name);
    }
  }
  return created;
}

/** What every service's container has, whatever its spec: part of the hash that says when to recreate one. */
const EVERY_CONTAINER = {
  // The engine starts a service again whenever it ends by itself: a crash, a kill -9 of its process, an OOM kill heal
  // with no pbx command, as in a compose stack with this policy. What the engine is told to end stays ended, with
  // every policy: `pbx down`, `docker stop`, `docker kill`, a forced removal. Not on-failure: a service never ends
  // by itself while it should run, whatever its exit code; not always: after an engine restart the stack is back as
  // it was left, a stopped service too. The engine waits 100 ms before a restart, doubling while runs end within
  // 10 s, up to a minute: Kafka refused by ZooKeeper while its old session lives (NodeExists) rides that out.
  RestartPolicy: { Name: 'unless-stopped' },
  // The engine's init as the first process, passing signals on: a first process ignores a SIGTERM it has no
  // handler for yet, so a stop in a service's first moments waited out the whole grace period (30 s).
  Init: true,
} as const;

/** The digest a container is labelled with: a change of its spec or of EVERY_CONTAINER means it is made again. */
export function containerHash(spec: ServiceSpec): string {
  const digest = createHash('sha256').update(`${specHash(spec)} ${JSON.stringify(EVERY_CONTAINER)}`);
  return digest.digest('hex').slice(0, 16);
}

/** Creates (but does not start) a service's container, which writes its config files as it starts. */
export async function createServiceContainer(
  docker: Docker,
  project: string,
  spec: ServiceSpec,
): Promise<Docker.Container> {
  const portKey = `${spec.port.container}/tcp`;
  const { command, env } = writingFiles(spec);
  return docker.createContainer({
    name: names.container(project, spec.node.name),
    Image: spec.image,
    // The command is the whole contract with the image: any entrypoint of its own is bypassed.
    Entrypoint: [],
    Cmd: command,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    // Root, so every image can write the named volumes whatever user it was built for.
    User: '0:0',
    Hostname: spec.node.name,
    Labels: {
      ...projectLabels(project, spec.name),
      [LABELS.node]: spec.node.name,
      [LABELS.configHash]: containerHash(spec),
    },
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      PortBindings: { [portKey]: [{ HostIp: spec.port.bind, HostPort: String(spec.port.host) }] },
      Mounts: Object.entries(spec.volumes).map(([source, target]) => ({
        Type: 'volume',
        Source: source,
        Target: target,
      })),
      Memory: spec.memoryBytes,
      ...EVERY_CONTAINER,
    },
    NetworkingConfig: { EndpointsConfig: { [names.network(project)]: { Aliases: [spec.node.name] } } },
  });
}

/**
 * The service's command, preceded by writing its config files, whose contents come in the environment. Copying
 * them into the created container instead (putArchive) made the engine run a helper process per container and
 * held each start back by 200–330 ms while the stack started.
 */
export function writingFiles(spec: Pick<ServiceSpec, 'command' | 'env' | 'files'>): {
  command: string[];
  env: Record<string, string>;
} {
  const paths = Object.keys(spec.files);
  if (paths.length === 0) return { command: spec.command, env: spec.env };
  const env = { ...spec.env };
  const writes = paths.map((path, i) => {
    env[`PBX_FILE_${i}`] = spec.files[path]!;
    return `mkdir -p '${dirname(path)}' && printf %s "$PBX_FILE_${i}" > '${path}'`;
  });
  // sh -c SCRIPT NAME ARG…: the script's "$@" is the service's own command, which replaces the shell.
  return { command: ['sh', '-c', `${writes.join(' && ')} && exec "$@"`, 'sh', ...spec.command], env };
}

/** Stops (briefly) and removes a container; a container already gone is fine. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  const container = docker.getContainer(id);
  try {
    // v: the anonymous volumes an image declares go with the container (upstream images declare some); named ones never do.
    await container.remove({ force: true, v: true });
  } catch (error) {
    const { statusCode, message } = error as { statusCode?: number; message?: string };
    if (statusCode === 404) return;
    // Another removal is under way (an `up` stopped by a second Ctrl-C left the engine removing it): wait for it,
    // since its network and volumes can go only after it.
    if (statusCode !== 409 || !message?.includes('already in progress')) throw error;
    for (const deadline = Date.now() + REMOVAL_WAIT_MS; Date.now() < deadline; await sleep(100)) {
      const gone = await container.inspect().then(
        () => false,
        (inspectError: { statusCode?: number }) => inspectError.statusCode === 404,
      );
      if (gone) return;
    }
    throw error;
  }
}

/** How long to wait for a removal another process began: a forced one takes a second or two; longer is stuck. */
const REMOVAL_WAIT_MS = 30_000;

/** The last `lines` log lines of a container, stdout and stderr merged. */
export async function logTail(docker: Docker, id: string, lines: number): Promise<string[]> {
  try {
    const raw = await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return demuxBuffer(docker, raw)
      .split('\n')
      .filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}

/** Docker multiplexes stdout/stderr of non-TTY containers into frames; this turns them back into text. */
export function demuxBuffer(docker: Docker, raw: Buffer): string {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const source = new PassThrough();
  docker.modem.demuxStream(source, out, out);
  source.end(raw);
  // demuxStream processes synchronously on 'data'; whatever was framed is in chunks now.
  return Buffer.concat(chunks).toString('utf8');
}

/** What the engine says of a container's current run and of the restarts of its restart policy. */
export interface ContainerState {
  /** True also while the engine waits to start it again (`restarting`). */
  running: boolean;
  /** The engine is between two runs: the last one ended (with `exitCode`) and the policy starts it again. */
  restarting: boolean;
  status: string;
  /** Of the run that ended; 0 again once the engine has started the next one. */
  exitCode: number;
  /** Whether the last run that ended was killed for memory (kept while the next one runs). */
  oomKilled: boolean;
  startedAt: string;
  /** When the last run ended (the zero time when none has). */
  finishedAt: string;
  /** Starts by the restart policy since the container was created or last started by hand. */
  restartCount: number;
}

/** State of a container, or undefined when it is gone. */
export async function containerState(docker: Docker, id: string): Promise<ContainerState | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    return {
      running: info.State.Running,
      restarting: info.State.Restarting,
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      startedAt: info.State.StartedAt,
      finishedAt: info.State.FinishedAt,
      restartCount: info.RestartCount,
    };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * The exit codes of a container's runs that ended from `sinceMs` to `untilMs`, oldest first, from the engine's
 * events: once the restart policy has started a container again, its inspect data says 0. The engine keeps only its
 * last few hundred events, so an old exit may be forgotten (an empty list).
 */
export async function exitCodes(docker: Docker, id: string, sinceMs: number, untilMs = Date.now()): Promise<number[]> {
  const stream = await docker.getEvents({
    since: Math.floor(sinceMs / 1000),
    until: Math.ceil(untilMs / 1000),
    filters: { type: ['container'], container: [id], event: ['die'] },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { timeNano: number; Actor: { Attributes: { exitCode?: string } } })
    .filter((event) => event.timeNano / 1e6 >= sinceMs && event.timeNano / 1e6 <= untilMs)
    .map((event) => Number(event.Actor.Attributes.exitCode));
}
