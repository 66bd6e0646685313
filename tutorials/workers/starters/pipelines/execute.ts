// Stage 2: a worker executes each script and records its output, in workers.executions and as an event of the topic
// results. Run it with `pbx run execute --replicas 2`.
import { pipeline } from 'pbx';

/** An event of the topic scripts. */
interface Script {
  job_id: string;
  /** "sum 3 5 8" */
  script: string;
}

// TODO: .map each script to { job_id, output } (the output of `sum 3 5 8` is "16") and send it
// .to(cassandra('workers.executions'), 'results').
export default pipeline('execute').from<Script>('scripts');
