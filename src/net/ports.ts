import { createServer } from 'node:net';

/**
 * True when nothing listens on host:port. A port below 1024 that only root may bind counts as free: the engine
 * publishes it, not pbx.
 */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  const error = await tryListen(host, port);
  return error === undefined || error.code === 'EACCES';
}

/** Whether `host` is an address of this machine that services can be published on (0.0.0.0 is every one). */
export async function isLocalAddress(host: string): Promise<boolean> {
  return (await tryListen(host, 0))?.code !== 'EADDRNOTAVAIL';
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', resolve);
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Best effort, Linux only: the process listening on `port` ("nc (pid 4242)"), read from /proc.
 * Undefined when it cannot be told (another user's process, another OS, a container's proxy).
 */
export async function listenerOf(port: number): Promise<string | undefined> {
  const { readFile, readdir, readlink } = await import('node:fs/promises');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the socket inode.
      if (fields[3] === '0A' && parseInt(fields[1]?.split(':')[1] ?? '', 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        return `${command} (pid ${pid})`;
      }
    }
  }
  return undefined;
}
