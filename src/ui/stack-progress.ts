import type { ServiceName } from '../config/schema';
import type { Phase, StackEvent } from '../stack/up';
import type { LiveView, TerminalStream, ViewSpec } from './live-view';

const LABEL: Record<Phase, string> = {
  queued: 'waiting for another pbx up of this project to finish',
  image: 'preparing image',
  creating: 'creating container',
  starting: 'starting',
  waiting: 'waiting for a protocol answer',
  ready: 'ready',
  failed: 'failed',
  skipped: 'skipped',
};

/**
 * The live view of `pbx up`: each update is one service's change. On a terminal a listr2 tree (its own renderer:
 * a task per service that ends as the service ended), otherwise a line per change.
 */
export function stackProgress(services: ServiceName[], started = Date.now()): ViewSpec<StackEvent> {
  const width = Math.max(...services.map((s) => s.length));
  return {
    to: 'stderr',
    render: ({ service, phase, detail }) =>
      `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${service.padEnd(width)}  ${LABEL[phase]}${detail ? `: ${detail}` : ''}`,
    plainEveryMs: 0,
    terminal: ({ stream }) => listrProgress(services, started, stream),
  };
}

async function listrProgress(
  services: ServiceName[],
  started: number,
  stream: TerminalStream,
): Promise<LiveView<StackEvent>> {
  const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
  type Task = { title: string; output: string; skip: (message: string) => void };
  const pending = new Map<
    ServiceName,
    { task?: Task; settle: (error?: Error) => void; early: StackEvent[]; done?: boolean }
  >();
  const apply = (service: ServiceName, task: Task, { phase, detail }: StackEvent) => {
    const entry = pending.get(service)!;
    const elapsed = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    task.title = `${service}: ${LABEL[phase]}${phase === 'ready' || phase === 'failed' ? ` (${elapsed})` : ''}`;
    if (detail) task.output = detail;
    if (phase === 'ready' || phase === 'failed' || phase === 'skipped') entry.done = true;
    if (phase === 'ready') entry.settle();
    if (phase === 'failed') entry.settle(new Error(`${service}: ${detail ?? 'failed'}`));
    if (phase === 'skipped') {
      task.skip(`${service}: skipped${detail ? ` (${detail})` : ''}`);
      entry.settle();
    }
  };
  const list = new Listr(
    services.map((service) => ({
      title: `${service}: queued`,
      task: (_ctx: unknown, task: Task) =>
        new Promise<void>((resolve, reject) => {
          const entry = pending.get(service)!;
          entry.task = task;
          entry.settle = (error) => (error ? reject(error) : resolve());
          for (const event of entry.early.splice(0)) apply(service, task, event);
        }),
    })),
    {
      concurrent: true,
      exitOnError: false,
      rendererOptions: {
        collapseSubtasks: false,
        showErrorMessage: true,
        // The tree is progress, as the plain lines are: drawn on the view's stream (stderr), not on stdout.
        logger: new ListrLogger({ useIcons: true, processOutput: new ProcessOutput(stream, stream) }),
      },
      registerSignalListeners: false,
    },
  );
  for (const service of services) pending.set(service, { settle: () => undefined, early: [] });
  const running = list.run().catch(() => undefined);
  return {
    update: (event) => {
      const entry = pending.get(event.service);
      if (!entry) return;
      if (entry.task) apply(event.service, entry.task, event);
      else entry.early.push(event);
    },
    // Written to the stream listr2 holds while it draws: it prints them under the finished tree.
    note: (text) => void stream.write(`${text}\n`),
    stop: async () => {
      for (const [service, entry] of pending) {
        if (entry.done) continue;
        if (entry.task) entry.task.skip(`${service}: not started`);
        entry.settle();
      }
      await running;
    },
  };
}
