// workers (after Peach Backend): a job event becomes a script, a database row and a second event, which a second
// stage executes; both stages run by two workers of one consumer group, one of them killed mid-run. Peach Backend
// had no consumer group, and two copies did the work twice: the check reads every result back (read_committed) and
// finds each job executed exactly once, with the output its numbers give.
import { count, plural, withSchema } from './checks';
import { tutorialRecords } from './files';
import type { CheckResult, StepContext, Tutorial } from './types';

interface Job {
  job_id: string;
  numbers: number[];
}

const jobs = () => tutorialRecords<Job>('workers', 'jobs.json');
const TOPICS = ['jobs', 'scripts', 'results'];
const STAGES = ['plan', 'execute'];

async function stackCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `Kafka with the topics ${TOPICS.join(', ')}; Cassandra with workers.jobs and workers.executions`;
  for (const topic of TOPICS) {
    if ((await services.topicRecords(topic)) === undefined)
      return { ok: false, expected, found: `Kafka has no topic ${topic}` };
  }
  const tables = await services.query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'workers'");
  const names = tables.map((t) => String(t.table_name)).sort();
  if (names.join() !== 'executions,jobs')
    return { ok: false, expected, found: `Cassandra's keyspace workers has tables: ${names.join(', ') || 'none'}` };
  return {
    ok: true,
    expected,
    found: `Kafka has ${TOPICS.join(', ')}; Cassandra has workers.executions, workers.jobs`,
  };
}

async function workersCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = 'two workers in each stage’s consumer group (pbx-plan, pbx-execute)';
  const members = await Promise.all(STAGES.map((stage) => services.groupMembers(`pbx-${stage}`)));
  const found = STAGES.map((stage, i) => `pbx-${stage} has ${plural(members[i]!, 'worker')}`).join(', ');
  return { ok: members.every((n) => n === 2), expected, found };
}

async function exactlyOnceCheck({ services }: StepContext): Promise<CheckResult> {
  const all = jobs();
  const expected = `each of the ${count(all.length)} jobs executed exactly once, with the output its numbers give`;
  // jobs is written by the replay alone, so its offsets count its records (results' count transaction markers too).
  const replayed = (await services.topicRecords('jobs')) ?? 0;
  if (replayed < all.length) {
    return { ok: false, expected, found: `jobs holds ${count(replayed)} of ${count(all.length)} jobs so far` };
  }
  const seen = new Map<string, string[]>();
  const results = await services.readRecords('results', 100_000);
  for (const message of results) {
    const result = JSON.parse(message.value?.toString() ?? 'null') as { job_id?: string; output?: string } | null;
    if (result?.job_id) seen.set(result.job_id, [...(seen.get(result.job_id) ?? []), String(result.output)]);
  }
  const twice = [...seen].filter(([, outputs]) => outputs.length > 1).map(([id]) => id);
  const missing = all.filter((job) => !seen.has(job.job_id)).map((job) => job.job_id);
  const wrong = all.filter(
    (job) =>
      seen.get(job.job_id)?.[0] !== undefined &&
      seen.get(job.job_id)![0] !== String(job.numbers.reduce((a, b) => a + b, 0)),
  );
  const problems = [
    ...(twice.length > 0
      ? [`${plural(twice.length, 'job')} executed more than once (${twice.slice(0, 3).join(', ')})`]
      : []),
    ...(missing.length > 0
      ? [`${plural(missing.length, 'job')} not executed yet (${missing.slice(0, 3).join(', ')})`]
      : []),
    ...(wrong.length > 0 ? [`${plural(wrong.length, 'wrong output')} (${wrong[0]!.job_id})`] : []),
  ];
  const found = `results holds ${plural(results.length, 'result')} (read_committed)${problems.length > 0 ? `: ${problems.join('; ')}` : ', one for each job, each right'}`;
  return { ok: problems.length === 0 && results.length === all.length, expected, found };
}

export const workers: Tutorial = {
  name: 'workers',
  title: 'Jobs run by workers, each exactly once',
  after: 'Peach Backend',
  summary: 'Job events become scripts and rows, executed by two stages of two workers each; one is killed mid-run.',
  minutes: 15,
  projectFiles: ['pbx.yaml', 'schema.cql', 'jobs.json', 'README.md'],
  steps: [
    {
      id: 'stack',
      title: 'The stack',
      teaches:
        'Three topics carry the work: jobs (the events that ask for it), scripts (what the first stage made of them) and results. Cassandra keeps each job’s script and each execution.',
      todo: ['$ pbx up'],
      expects: `Kafka with the topics ${TOPICS.join(', ')}, Cassandra with the tables of schema.cql`,
      check: withSchema(stackCheck, 'the tables of schema.cql'),
      hint: 'Run `pbx up` where pbx.yaml is.',
      solution: [{ kind: 'run', argv: ['up'] }],
      solveTimeoutMs: 60_000,
    },
    {
      id: 'workers',
      title: 'Two stages, two workers each',
      teaches:
        'Peach Backend’s consumers shared no group, so two copies each did every job. `pbx run --replicas 2` runs two workers in the pipeline’s consumer group (pbx-<name>): Kafka gives each its share of the partitions, and a worker that dies has its share taken over.',
      todo: [
        'write pipelines/plan.ts and pipelines/execute.ts',
        '$ pbx run plan --replicas 2',
        '$ pbx run execute --replicas 2   (in another terminal; leave both running)',
      ],
      starters: {
        'pipelines/plan.ts': 'starters/pipelines/plan.ts',
        'pipelines/execute.ts': 'starters/pipelines/execute.ts',
      },
      expects: 'two workers in each of pbx-plan and pbx-execute',
      check: workersCheck,
      hint: "plan: map(job => ({ job_id, script: `sum ${numbers.join(' ')}` })).to(cassandra('workers.jobs'), 'scripts'). execute: map(s => ({ job_id, output: String(sum of the numbers) })).to(cassandra('workers.executions'), 'results').",
      solution: [
        { kind: 'write', path: 'pipelines/plan.ts', from: 'solution/pipelines/plan.ts' },
        { kind: 'write', path: 'pipelines/execute.ts', from: 'solution/pipelines/execute.ts' },
        { kind: 'start', name: 'plan workers', argv: ['run', 'plan', '--replicas', '2'] },
        { kind: 'start', name: 'execute workers', argv: ['run', 'execute', '--replicas', '2'] },
      ],
    },
    {
      id: 'exactly-once',
      title: 'Kill a worker mid-run',
      teaches:
        'Each batch a worker reads is one Kafka transaction: its results, its offsets and (after Cassandra acknowledged them) its rows commit together. A worker killed mid-batch leaves nothing half-done: `--replicas` starts it again, it goes on from the last committed batch, and the results topic holds every job once for a read_committed reader.',
      todo: [
        '$ pbx replay jobs.json --topic jobs --key job_id --rate 20',
        "while it runs (20 s): $ pkill -9 -n -f 'pbx run execute'   (the newest: a worker)",
      ],
      expects: 'each job executed exactly once',
      check: exactlyOnceCheck,
      hint: 'Keep both `pbx run` commands running: the one whose worker was killed says it started it again. A job executed twice would show here by its id.',
      solution: [
        {
          kind: 'start',
          name: 'jobs replay',
          argv: ['replay', 'jobs.json', '--topic', 'jobs', '--key', 'job_id', '--rate', '20'],
        },
        { kind: 'kill', name: 'execute workers', afterMs: 5000 },
      ],
      solveTimeoutMs: 180_000,
    },
  ],
};
