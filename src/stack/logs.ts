import type { Writable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { UserError } from '../cli/errors';
import type { ResolvedConfig } from '../config/load';
import { SERVICE_NAMES, type ServiceName } from '../config/schema';
import { connectDocker } from '../docker/engine';
import { isExternal } from '../services/catalog';
import { containerState, listProjectContainers } from './containers';

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

/** Streams the services' logs (stdout and stderr demultiplexed), one prefixed line at a time. */
export async function streamLogs(options: LogsOptions): Promise<void> {
  const { config } = options;
  const unknown = options.services.filter((s) => !SERVICE_NAMES.includes(s as ServiceName));
  if (unknown.length > 0) {
    throw new UserError(`Unknown service: ${unknown.join(', ')}.`, {
      exitCode: 2,
      code: 'USAGE',
      nextSteps: [`pbx knows: ${SERVICE_NAMES.join(', ')}.`],
    });
  }
  const external = options.services.filter((s) => isExternal(config, s as ServiceName));
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
  const containers = options.services.length > 0 ? all.filter((c) => options.services.includes(c.service)) : all;
  if (containers.length === 0) {
    throw new UserError(`No ${options.services.join(', ') || 'pbx'} container in project ${config.name}.`, {
      code: 'NO_CONTAINERS',
      nextSteps: ['Start the stack with `pbx up`; `pbx status` shows what runs.'],
    });
  }
  const missing = options.services.filter((s) => !containers.some((c) => c.service === s));
  if (missing.length > 0) {
    options.note(
      `No container for ${missing.join(', ')} in project ${config.name} (\`pbx up ${missing.join(' ')}\` starts it).`,
    );
  }
  const width = Math.max(...containers.map((c) => c.service.length));
  const prefixed = containers.length > 1 || options.services.length > 1;
  await Promise.all(
    containers.map(async (c) => {
      const prefix = prefixed ? `${c.service.padEnd(width)} | ` : '';
      const sink = lineSplitter((line) => options.write(prefix + line));
      if (options.follow) {
        const stream = await docker.getContainer(c.id).logs({
          stdout: true,
          stderr: true,
          follow: true,
          ...(options.tail !== undefined ? { tail: options.tail } : {}),
        });
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
        if (!options.signal.aborted) {
          const state = await containerState(docker, c.id).catch(() => undefined);
          options.note(
            state
              ? `${c.service} stopped (exit code ${state.exitCode}${state.oomKilled ? ', out of memory' : ''}); its lines end here.`
              : `${c.service}'s container was removed (pbx down, or pbx up recreating it); its lines end here.`,
          );
        }
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
