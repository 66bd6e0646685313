import type Docker from 'dockerode';
import type { Writable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { sleep } from '../async';
import { UserError } from '../cli/errors';
import type { ResolvedConfig } from '../config/load';
import { SERVICE_NAMES, type ServiceName } from '../config/schema';
import { connectDocker } from '../docker/engine';
import { isExternal, nodesOf } from '../services/catalog';
import { containerState, exitCodes, listProjectContainers, type ProjectContainer } from './containers';

export interface LogsOptions {
  config: ResolvedConfig;
  services: string[];
  follow: boolean;
  tail?: number;
  signal: AbortSignal;
  /** Receives whole lines, already prefixed when several services are shown. */
  write: (line: string) => void;
  /**
   * Says what is not shown: a service without a container, or why a followed service's lines ended (it stopped,
   * or its container went) when Ctrl-C did not end them.
   */
  note: (text: string) => void;
}

/**
 * What each name `pbx logs` takes shows (pure): a service's name all its nodes, and each node of a service with
 * several (kafka-2 of three brokers, as `pbx status` names it) itself.
 */
export function logNames(config: ResolvedConfig): Map<string, ServiceName> {
  const names = new Map<string, ServiceName>(SERVICE_NAMES.map((service) => [service, service]));
  for (const service of SERVICE_NAMES) for (const node of nodesOf(config, service)) names.set(node.name, service);
  return names;
}

/** The containers the names given show, each once: all of them when no name is given (pure). */
export function containersNamed(all: ProjectContainer[], names: string[]): ProjectContainer[] {
  return names.length > 0 ? all.filter((c) => names.includes(c.service) || names.includes(c.node)) : all;
}

/** Streams the services' logs (stdout and stderr demultiplexed), one prefixed line at a time. */
export async function streamLogs(options: LogsOptions): Promise<void> {
  const { config } = options;
  const known = logNames(config);
  const unknown = options.services.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new UserError(`Unknown service: ${unknown.join(', ')}.`, {
      exitCode: 2,
      code: 'USAGE',
      nextSteps: [`pbx knows: ${[...known.keys()].join(', ')}.`],
    });
  }
  const external = options.services.filter((s) => isExternal(config, known.get(s)!));
  if (external.length > 0) {
    throw new UserError(
      `No logs here for external services: ${external.join(', ')}. pbx checks them (services.<name>.external in pbx.yaml) but does not run them.`,
      {
        code: 'EXTERNAL_SERVICE',
        nextSteps: [`Read their logs where they run; \`pbx status ${external.join(' ')}\` checks them from here.`],
      },
    );
  }
  const { docker } = await connectDocker();
  const all = await listProjectContainers(docker, config.name);
  const containers = containersNamed(all, options.services);
  if (containers.length === 0) {
    throw new UserError(`No ${options.services.join(', ') || 'pbx'} container in project ${config.name}.`, {
      code: 'NO_CONTAINERS',
      nextSteps: ['Start the stack with `pbx up`; `pbx status` shows what runs.'],
    });
  }
  const missing = options.services.filter((s) => !containers.some((c) => c.service === s || c.node === s));
  if (missing.length > 0) {
    options.note(
      `No container for ${missing.join(', ')} in project ${config.name} (\`pbx up ${missing.join(' ')}\` starts it).`,
    );
  }
  // A line is prefixed with its node: kafka-2 of several brokers, else the service.
  const width = Math.max(...containers.map((c) => c.node.length));
  const prefixed = containers.length > 1 || options.services.length > 1;
  await Promise.all(
    containers.map(async (c) => {
      const prefix = prefixed ? `${c.node.padEnd(width)} | ` : '';
      const sink = lineSplitter((line) => options.write(prefix + line));
      if (options.follow) {
        await followRuns(docker, c, sink, options);
      } else {
        const raw = await docker.getContainer(c.id).logs({
          stdout: true,
          stderr: true,
          follow: false,
          ...(options.tail !== undefined ? { tail: options.tail } : {}),
        });
        const source = new PassThrough();
        docker.modem.demuxStream(source, sink, sink);
        source.end(raw);
      }
      sink.end();
    }),
  );
}

/**
 * Follows a container's lines across the runs its restart policy starts after a crash, until Ctrl-C or until it
 * stops for good (a stop, `pbx down`), saying why its lines end or go on.
 */
async function followRuns(docker: Docker, c: ProjectContainer, sink: Writable, options: LogsOptions): Promise<void> {
  let since: string | undefined; // the next run's start; the first attach takes --tail instead
  let run = (await containerState(docker, c.id).catch(() => undefined))?.startedAt;
  for (;;) {
    await followRun(docker, c.id, sink, options, since);
    if (options.signal.aborted) return;
    const ended = Date.now();
    const next = await nextRun(docker, c.id, options.signal);
    if (options.signal.aborted) return;
    if (next !== 'removed' && next.running && next.startedAt === run) {
      since = String(ended / 1000); // the engine closed the stream, not the run: go on from where it stopped
      continue;
    }
    if (next === 'removed') {
      options.note(`${c.node}'s container was removed (pbx down, or pbx up recreating it); its lines end here.`);
      return;
    }
    if (!next.running) {
      const why = `exit code ${next.exitCode}${next.oomKilled ? ', out of memory' : ''}`;
      options.note(`${c.node} stopped (${why}); its lines end here.`);
      return;
    }
    // The restart policy started it again: inspect says 0 for the run that ended; the engine's events say why.
    const [code] = (await exitCodes(docker, c.id, ended - 60_000).catch(() => [])).slice(-1);
    const why = code === undefined ? 'it ended' : `exit code ${code}`;
    options.note(
      `${c.node} was started again by the engine after ${why} (restart ${next.restartCount}); its lines go on.`,
    );
    run = next.startedAt;
    since = String(Date.parse(next.startedAt) / 1000);
  }
}

/** Streams one run's lines until the run ends or Ctrl-C. */
async function followRun(
  docker: Docker,
  id: string,
  sink: Writable,
  options: LogsOptions,
  since: string | undefined,
): Promise<void> {
  const from = since !== undefined ? { since } : options.tail !== undefined ? { tail: options.tail } : {};
  // dockerode's types say number; the engine takes a Unix time with a fraction, as `docker logs --since` sends it.
  const stream = await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: true, ...(from as object) });
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve) => {
    const stop = () => {
      (stream as unknown as { destroy: () => void }).destroy();
      resolve();
    };
    stream.on('end', resolve);
    stream.on('close', resolve);
    options.signal.addEventListener('abort', stop, { once: true });
  });
}

/** What became of a container whose run ended: started again by its restart policy, stopped, or removed. */
async function nextRun(
  docker: Docker,
  id: string,
  signal: AbortSignal,
): Promise<NonNullable<Awaited<ReturnType<typeof containerState>>> | 'removed'> {
  for (;;) {
    const state = await containerState(docker, id).catch(() => undefined);
    if (!state) return 'removed';
    // Between two runs the engine says restarting, for its back-off (100 ms, doubling while runs stay short).
    if (!state.restarting || signal.aborted) return state;
    await sleep(200, signal);
  }
}

/** A writable that calls `onLine` for every complete line (and the last partial one at the end). */
function lineSplitter(onLine: (line: string) => void): Writable {
  let pending = '';
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    const parts = (pending + chunk.toString('utf8')).split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) onLine(part);
  });
  sink.on('finish', () => {
    if (pending) onLine(pending);
    pending = '';
  });
  return sink;
}
