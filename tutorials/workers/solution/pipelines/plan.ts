// Stage 1: a job event becomes a script, kept as a row of workers.jobs and sent on as an event of the topic scripts
// (keyed by the job, as the job was). Run it with `pbx run plan --replicas 2`.
import { cassandra, pipeline } from 'pbx';

/** A line of jobs.json. */
interface Job {
  job_id: string;
  task: 'sum';
  numbers: number[];
}

export default pipeline('plan')
  .from<Job>('jobs')
  .map((job) => ({ job_id: job.job_id, script: `${job.task} ${job.numbers.join(' ')}` }))
  .to(cassandra('workers.jobs'), 'scripts');
