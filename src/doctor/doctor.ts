import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import type { ResolvedConfig } from '../config/load';
import { parseSize, type ServiceName } from '../config/schema';
import { connectDocker, engineInfo, MIN_API_VERSION, versionAtLeast, type EngineInfo } from '../docker/engine';
import { LABELS, managedFilter } from '../docker/names';
import { isLocalAddress, isPortFree } from '../net/ports';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  project: string;
  configFile: string | null;
  docker?: EngineInfo;
  checks: Check[];
}

// Images plus volumes for the four-service stack need a few GB; below this, builds and Cassandra fail.
const MIN_FREE_DISK_BYTES = 5 * 1024 ** 3;

/** Checks everything pbx needs for `config`; never throws for a problem it can describe. */
export async function runDoctor(config: ResolvedConfig): Promise<DoctorReport> {
  const checks: Check[] = [];
  let engine: EngineInfo | undefined;
  let ownPorts = new Map<number, string>();
  try {
    const { docker } = await connectDocker();
    const info = await engineInfo(docker);
    engine = info;
    checks.push({ name: 'docker', ok: true, detail: `engine ${info.version} at ${info.host}` });
    const apiOk = versionAtLeast(info.apiVersion, MIN_API_VERSION);
    checks.push({
      name: 'docker-api',
      ok: apiOk,
      detail: `API ${info.apiVersion} (pbx needs ${MIN_API_VERSION} or newer)`,
      fix: apiOk ? undefined : 'Upgrade Docker to 20.10 or newer.',
    });
    ownPorts = await publishedPortsOfPbx(docker);
  } catch (error) {
    const e = error as { message: string; nextSteps?: string[] };
    checks.push({ name: 'docker', ok: false, detail: e.message, fix: e.nextSteps?.join(' ') });
  }
  if (await isLocalAddress(config.bind)) checks.push(...(await portChecks(config, ownPorts)));
  else {
    checks.push({
      name: 'bind',
      ok: false,
      detail: `${config.bind} (bind in pbx.yaml) is not an address of this machine`,
      fix: 'Set bind to 127.0.0.1 (the default), 0.0.0.0 (every address) or one `ip -4 addr` shows.',
    });
  }
  checks.push(await diskCheck(engine?.rootDir));
  checks.push(memoryCheck(config));
  return { ok: checks.every((c) => c.ok), project: config.name, configFile: config.file, docker: engine, checks };
}

/** Host ports already published by pbx containers, so a running pbx stack is not reported as a conflict. */
async function publishedPortsOfPbx(docker: import('dockerode')): Promise<Map<number, string>> {
  const containers = await docker.listContainers({ filters: managedFilter() });
  const ports = new Map<number, string>();
  for (const c of containers) {
    for (const p of c.Ports ?? []) {
      if (p.PublicPort) ports.set(p.PublicPort, `${c.Labels[LABELS.project]}/${c.Labels[LABELS.service]}`);
    }
  }
  return ports;
}

/** The host ports the configured (non-external) services will publish. */
export function configuredPorts(config: ResolvedConfig): Array<{ service: ServiceName; port: number }> {
  const services = config.profiles.default ?? [];
  return services
    .filter((name) => !('external' in config.services[name] && config.services[name].external))
    .map((service) => ({ service, port: config.services[service].port }));
}

async function portChecks(config: ResolvedConfig, ownPorts: Map<number, string>): Promise<Check[]> {
  return Promise.all(
    configuredPorts(config).map(async ({ service, port }) => {
      const name = `port-${service}`;
      const owner = ownPorts.get(port);
      if (owner) return { name, ok: true, detail: `${config.bind}:${port} is used by pbx (${owner})` };
      if (await isPortFree(config.bind, port)) return { name, ok: true, detail: `${config.bind}:${port} is free` };
      return {
        name,
        ok: false,
        detail: `${config.bind}:${port} (${service}) is taken by another process`,
        fix: `Stop the process listening on ${port} (find it with \`ss -ltnp 'sport = :${port}'\`) or set services.${service}.port in pbx.yaml.`,
      };
    }),
  );
}

async function diskCheck(dockerRoot: string | undefined): Promise<Check> {
  for (const path of [dockerRoot, '/var/lib/docker', process.cwd()]) {
    if (!path) continue;
    try {
      const stats = await statfs(path);
      const free = stats.bavail * stats.bsize;
      const ok = free >= MIN_FREE_DISK_BYTES;
      return {
        name: 'disk',
        ok,
        detail: `${formatBytes(free)} free at ${path}`,
        fix: ok ? undefined : `Free at least ${formatBytes(MIN_FREE_DISK_BYTES)} (e.g. \`docker system prune\`).`,
      };
    } catch {
      // Not there (e.g. the engine runs elsewhere): try the next candidate.
    }
  }
  return { name: 'disk', ok: true, detail: 'free space unknown (no readable path)' };
}

function memoryCheck(config: ResolvedConfig): Check {
  const needed = (config.profiles.default ?? []).reduce(
    (sum, name) => sum + parseSize(config.services[name].memory),
    0,
  );
  const total = totalmem();
  const ok = total >= needed;
  return {
    name: 'memory',
    ok,
    detail: `${formatBytes(total)} total, ${formatBytes(freemem())} free; the stack asks for ${formatBytes(needed)}`,
    fix: ok ? undefined : 'Lower services.<name>.memory in pbx.yaml or start fewer services with a profile.',
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}
