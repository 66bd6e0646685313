// What a container has used of the CPU so far, read from its cgroup (v1 or v2), for the benches' CPU columns.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';

/** The container's CPU so far in ms, or undefined where its cgroup cannot be read. */
export function containerCpuMs(id: string): number | undefined {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`; // nanoseconds
  const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`; // usage_usec line
  if (existsSync(v1)) return Number(readFileSync(v1, 'utf8')) / 1e6;
  if (existsSync(v2)) return Number(/usage_usec (\d+)/.exec(readFileSync(v2, 'utf8'))?.[1]) / 1000;
  return undefined;
}

/** A container's full id from its name or id. */
export async function containerId(nameOrId: string): Promise<string> {
  return (await execa('docker', ['inspect', '-f', '{{.Id}}', nameOrId])).stdout.trim();
}
