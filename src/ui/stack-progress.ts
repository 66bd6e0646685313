import type { Output } from '../cli/output';
import type { ServiceName } from '../config/schema';
import type { Phase, StackEvent } from '../stack/up';

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

export interface StackProgress {
  onEvent(event: StackEvent): void;
  /** Ends the view; services that never finished are marked as not started. */
  finish(): Promise<void>;
}

/** Progress of `pbx up`: a listr2 tree on a terminal, one plain line per change otherwise, nothing for JSON. */
export async function stackProgress(out: Output, services: ServiceName[]): Promise<StackProgress> {
  if (out.mode === 'json') return { onEvent: () => undefined, finish: () => Promise.resolve() };
  const started = Date.now();
  if (out.mode === 'plain') {
    const width = Math.max(...services.map((s) => s.length));
    return {
      onEvent: ({ service, phase, detail }) =>
        out.note(
          `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${service.padEnd(width)}  ${LABEL[phase]}${detail ? `: ${detail}` : ''}`,
        ),
      finish: () => Promise.resolve(),
    };
  }
  return listrProgress(services, started);
}

async function listrProgress(services: ServiceName[], started: number): Promise<StackProgress> {
  const { Listr } = await import('listr2');
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
      rendererOptions: { collapseSubtasks: false, showErrorMessage: true },
      registerSignalListeners: false,
    },
  );
  for (const service of services) pending.set(service, { settle: () => undefined, early: [] });
  const running = list.run().catch(() => undefined);
  return {
    onEvent: (event) => {
      const entry = pending.get(event.service);
      if (!entry) return;
      if (entry.task) apply(event.service, entry.task, event);
      else entry.early.push(event);
    },
    finish: async () => {
      for (const [service, entry] of pending) {
        if (entry.done) continue;
        if (entry.task) entry.task.skip(`${service}: not started`);
        entry.settle();
      }
      await running;
    },
  };
}
