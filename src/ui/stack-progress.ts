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

/** The line or task an event is for: its node (kafka-2 of several brokers), else its service. */
const nodeOf = (event: StackEvent): string => event.node ?? event.service;

/**
 * The live view of `pbx up`: each update is one node's change (a service's container; one per broker). On a terminal
 * a listr2 tree (its own renderer: a task per node that ends as the node ended), otherwise a line per change.
 */
export function stackProgress(services: string[], started = Date.now()): ViewSpec<StackEvent> {
  const width = Math.max(...services.map((s) => s.length));
  return {
    to: 'stderr',
    render: (event) =>
      `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${nodeOf(event).padEnd(width)}  ${LABEL[event.phase]}${event.detail ? `: ${event.detail}` : ''}`,
    plainEveryMs: 0,
    terminal: ({ stream }) => listrProgress(services, started, stream),
  };
}

type Task = { title: string; output: string; skip: (message: string) => void };
/** A service's task in the tree: events that came before listr2 started it wait in `early`. */
type Entry = { task?: Task; settle: (error?: Error) => void; early: StackEvent[]; done?: boolean };

/** One service's change in its task: title, detail underneath, and the task's end when the service ended. */
function showEvent(task: Task, entry: Entry, event: StackEvent, started: number): void {
  const { phase, detail } = event;
  const service = nodeOf(event);
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
}

async function listrProgress(
  services: string[],
  started: number,
  stream: TerminalStream,
): Promise<LiveView<StackEvent>> {
  const { DefaultRenderer, Listr, ListrLogger, ProcessOutput } = await import('listr2');
  // The live-view contract chose the tree: its stream is a terminal with a size. Without this listr2 would look at
  // stdout instead, and fall back to plain lines on stdout whenever stdout is no terminal.
  class OnTheViewsTerminal extends DefaultRenderer {
    static override nonTTY = true;
  }
  const pending = new Map<string, Entry>();
  const apply = (service: string, task: Task, event: StackEvent) =>
    showEvent(task, pending.get(service)!, event, started);
  // A service that never finished is marked as not started when the view ends, or when its task starts after that
  // (up can fail before listr2 has begun any task).
  let stopped = false;
  const endIfStopped = (service: string, entry: Entry) => {
    if (!stopped || entry.done || !entry.task) return;
    entry.done = true;
    entry.task.skip(`${service}: not started`);
    entry.settle();
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
          endIfStopped(service, entry);
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
      renderer: OnTheViewsTerminal,
    },
  );
  for (const service of services) pending.set(service, { settle: () => undefined, early: [] });
  const running = list.run().catch(() => undefined);
  const notes: string[] = [];
  return {
    update: (event) => {
      const entry = pending.get(nodeOf(event));
      if (!entry) return;
      if (entry.task) apply(nodeOf(event), entry.task, event);
      else entry.early.push(event);
    },
    // listr2 has no room for lines above its tree: they follow it, once it is finished.
    note: (text) => void notes.push(text),
    stop: async () => {
      stopped = true;
      for (const [service, entry] of pending) endIfStopped(service, entry);
      await running;
      for (const text of notes) stream.write(`${text}\n`);
    },
  };
}
