import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import type { ServiceName } from '../config/schema';
import { LABELS, projectFilter, projectLabels } from '../docker/labels';
import { names } from '../services/catalog';
import type { ServiceSpec } from '../services/types';

/** What pbx knows about one of its containers. */
export interface ProjectContainer {
  id: string;
  name: string;
  service: ServiceName;
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
    image: c.Image,
    state: c.State,
    configHash: c.Labels[LABELS.configHash],
    createdAt: new Date(c.Created * 1000),
  }));
}

/** Creates the project's bridge network unless it exists; returns whether it was created. */
export async function ensureNetwork(docker: Docker, project: string): Promise<boolean> {
  const name = names.network(project);
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  const exact = existing.find((n) => n.Name === name);
  if (exact) {
    if (exact.Labels?.[LABELS.project] !== project) {
      throw new Error(`a network named ${name} exists but was not created by pbx; remove or rename it`);
    }
    return false;
  }
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: projectLabels(project) });
  return true;
}

/**
 * Creates the named volumes a service mounts that do not exist yet (labelled, so `down --volumes` finds
 * them); true when it created any, so the service starts with no data.
 */
export async function ensureVolumes(docker: Docker, project: string, spec: ServiceSpec): Promise<boolean> {
  let created = false;
  for (const name of Object.keys(spec.volumes)) {
    try {
      const volume = await docker.getVolume(name).inspect();
      if (volume.Labels?.[LABELS.project] !== project) {
        throw new Error(`a volume named ${name} exists but was not created by pbx for ${project}; remove or rename it`);
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      await docker.createVolume({ Name: name, Labels: projectLabels(project, spec.name) });
      created = true;
    }
  }
  return created;
}

/** Creates (but does not start) a service's container, with its config files copied in. */
export async function createServiceContainer(
  docker: Docker,
  project: string,
  spec: ServiceSpec,
  configHash: string,
): Promise<Docker.Container> {
  const portKey = `${spec.port.container}/tcp`;
  const container = await docker.createContainer({
    name: names.container(project, spec.name),
    Image: spec.image,
    // The command is the whole contract with the image: any entrypoint of its own is bypassed.
    Entrypoint: [],
    Cmd: spec.command,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    // Root, so every image can write the named volumes whatever user it was built for.
    User: '0:0',
    Hostname: spec.name,
    Labels: { ...projectLabels(project, spec.name), [LABELS.configHash]: configHash },
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      PortBindings: { [portKey]: [{ HostIp: spec.port.bind, HostPort: String(spec.port.host) }] },
      Mounts: Object.entries(spec.volumes).map(([source, target]) => ({
        Type: 'volume',
        Source: source,
        Target: target,
      })),
      Memory: spec.memoryBytes,
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: { [names.network(project)]: { Aliases: [spec.name] } } },
  });
  if (Object.keys(spec.files).length > 0) {
    await container.putArchive(await tarOf(spec.files), { path: '/' });
  }
  return container;
}

/** A tar archive of `files` (absolute path → content), with their parent directories. */
async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    const parts = path.replace(/^\//, '').split('/').slice(0, -1);
    parts.forEach((_, i) => dirs.add(parts.slice(0, i + 1).join('/')));
  }
  for (const dir of [...dirs].sort()) archive.entry({ name: `${dir}/`, type: 'directory', mode: 0o755 });
  for (const [path, content] of Object.entries(files)) {
    archive.entry({ name: path.replace(/^\//, ''), mode: 0o644 }, content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Stops (briefly) and removes a container; a container already gone is fine. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  const container = docker.getContainer(id);
  try {
    await container.remove({ force: true, v: false });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

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

/** State and exit code of a container, or undefined when it is gone. */
export async function containerState(
  docker: Docker,
  id: string,
): Promise<{ running: boolean; status: string; exitCode: number; oomKilled: boolean; startedAt: string } | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    return {
      running: info.State.Running,
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      startedAt: info.State.StartedAt,
    };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}
