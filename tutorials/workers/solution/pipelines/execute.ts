// Stage 2: a worker executes each script and records its output, in workers.executions and as an event of the topic
// results. Run it with `pbx run execute --replicas 2`.
import { cassandra, pipeline } from 'pbx';

/** An event of the topic scripts. */
interface Script {
  job_id: string;
  /** "sum 3 5 8" */
  script: string;
}

/** Runs a script: its first word names the task, the rest are its numbers. */
function execute(script: string): string {
  const [task, ...args] = script.split(' ');
  if (task !== 'sum') throw new Error(`unknown task ${task}`);
  return String(args.reduce((sum, n) => sum + Number(n), 0));
}

export default pipeline('execute')
  .from<Script>('scripts')
  .map((s) => ({ job_id: s.job_id, output: execute(s.script) }))
  .to(cassandra('workers.executions'), 'results');
