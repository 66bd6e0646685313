import type Docker from 'dockerode';
import { UserError } from '../cli/errors';
import { withTimeout } from '../async';

/** Where pbx looks for the engine: DOCKER_HOST, else the default socket (what the docker CLI does). */
export function dockerHost(env: Record<string, string | undefined> = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

export interface EngineInfo {
  host: string;
  version: string;
  apiVersion: string;
  storageDriver?: string;
  rootDir?: string;
}

/** The oldest Docker API pbx is tested with (Debian bookworm's docker.io 20.10). */
export const MIN_API_VERSION = '1.41';

/**
 * Connects to the engine (lazily loading dockerode); answers within `timeoutMs` or throws a UserError. Only a ping:
 * the engine's version and info cost it 10–60 ms more, before every command's first real call (see engineInfo).
 */
export async function connectDocker(timeoutMs = 5000): Promise<{ docker: Docker }> {
  const host = dockerHost();
  if (host.startsWith('ssh://')) {
    throw new UserError(`DOCKER_HOST=${host}: ssh:// Docker hosts are not supported by the pbx binary.`, {
      code: 'DOCKER_UNSUPPORTED_HOST',
      nextSteps: [
        'Forward the remote socket (ssh -L /tmp/docker.sock:/var/run/docker.sock host) and set DOCKER_HOST=unix:///tmp/docker.sock.',
      ],
    });
  }
  const { default: DockerClient } = await import('dockerode');
  const docker = new DockerClient();
  try {
    await withTimeout(docker.ping(), timeoutMs, `no answer within ${timeoutMs} ms`);
    return { docker };
  } catch (error) {
    throw engineUnreachable(host, error);
  }
}

/** The engine's version, API version and storage, as `pbx doctor` reports them. */
export async function engineInfo(docker: Docker, timeoutMs = 5000): Promise<EngineInfo> {
  const host = dockerHost();
  try {
    const [version, info] = await withTimeout(
      Promise.all([docker.version(), docker.info() as Promise<{ Driver?: string; DockerRootDir?: string }>]),
      timeoutMs,
      `no answer within ${timeoutMs} ms`,
    );
    return {
      host,
      version: version.Version,
      apiVersion: version.ApiVersion,
      storageDriver: info.Driver,
      rootDir: info.DockerRootDir,
    };
  } catch (error) {
    throw engineUnreachable(host, error);
  }
}

/** The one message for "no Docker engine", used by every command that needs one. */
export function engineUnreachable(host: string, cause: unknown): UserError {
  const reason = (cause as Error)?.message ?? String(cause);
  // The engine runs; its socket is not this user's to use.
  if ((cause as NodeJS.ErrnoException)?.code === 'EACCES') {
    return new UserError(`This user may not use the Docker engine at ${host} (${reason}).`, {
      code: 'DOCKER_FORBIDDEN',
      nextSteps: [
        'Join the docker group (`sudo usermod -aG docker $USER`, then log in again), or run pbx with sudo.',
        'With rootless Docker, set DOCKER_HOST to its socket (e.g. unix:///run/user/1000/docker.sock).',
      ],
      cause,
    });
  }
  return new UserError(`No Docker engine answers at ${host} (${reason}).`, {
    code: 'DOCKER_UNREACHABLE',
    hint: 'pbx runs its services as Docker containers and needs a running engine.',
    nextSteps: [
      'Start Docker (Docker Desktop, `sudo systemctl start docker`, or `sudo dockerd &`).',
      'On a Debian machine without Docker, run `npm run provision` in the pbx repository (as root).',
      'If the engine listens elsewhere, set DOCKER_HOST (e.g. unix:///run/user/1000/docker.sock).',
    ],
    cause,
  });
}

/** Compares dotted versions such as Docker API versions ("1.41" < "1.43"). */
export function versionAtLeast(actual: string, minimum: string): boolean {
  const a = actual.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff > 0;
  }
  return true;
}
