// Stage 1: a job event becomes a script, kept as a row of workers.jobs and sent on as an event of the topic scripts
// (keyed by the job, as the job was). Run it with `pbx run plan --replicas 2`.
import { pipeline } from 'pbx';

/** A line of jobs.json. */
interface Job {
  job_id: string;
  task: 'sum';
  numbers: number[];
}

// TODO: .map each job to { job_id, script: 'sum 3 5 8' } and send it .to(cassandra('workers.jobs'), 'scripts').
export default pipeline('plan').from<Job>('jobs');
