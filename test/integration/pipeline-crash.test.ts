// Effectively once, against a real Kafka and the compiled binary: a pipeline killed with -9 at random points and
// started again, and a replica of three killed while the others run, leave outputs equal to a recomputation done
// here from the generated file, with nothing missing and nothing twice.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKafkajs } from '../../src/clients/kafka';
import type { RunSummary } from '../../src/pipelines/runtime/run';
import { perHourCounts, perHourReference, replayReviews, type Review } from '../support/pipelines';
import { purge, sh, startStack, testProject } from '../support/stack';
import { readTopic, recordsWritten, withAdmin } from '../support/topics';
import { waitFor } from '../support/wait';

const PORT = 29397;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itcrash', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const COUNT = 150_000;
let reviews: Review[];

// Seeded, so a failure can be run again at the same kill points.
let seed = 20261202;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

beforeAll(async () => {
  await startStack(project, 'kafka');
  reviews = await replayReviews(project, COUNT, 3);
  mkdirSync(join(project.dir, 'pipelines'));
  writeFileSync(
    join(project.dir, 'pipelines', 'clean.ts'),
    `import { pipeline } from 'pbx';
export default pipeline('clean')
  .from('reviews')
  .filter((r) => Number(r.score) >= 2)
  .map((r) => ({ user: r.user_id, product: r.product_id, score: Number(r.score) }))
  .to('clean');
`,
  );
  // The same, slowed down (2 ms every 10 records) so that a replica can be killed while it works.
  writeFileSync(
    join(project.dir, 'pipelines', 'slow-clean.ts'),
    `import { pipeline } from 'pbx';
let seen = 0;
export default pipeline('slow-clean')
  .from('reviews')
  .filter((r) => Number(r.score) >= 2)
  .map(async (r) => {
    if (++seen % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    return { user: r.user_id, product: r.product_id, score: Number(r.score) };
  })
  .to('slow-clean');
`,
  );
  writeFileSync(
    join(project.dir, 'pipelines', 'per-hour.ts'),
    `import { pipeline, tumbling } from 'pbx';
export default pipeline('per-hour')
  .from('reviews', { time: (r) => r.time * 1000 })
  .keyBy((r) => r.product_id)
  .window(tumbling('1h'))
  .count()
  .to('per-hour');
`,
  );
  // The same count keyed by the records' own keys (replayed with --key product_id): no repartition topic.
  writeFileSync(
    join(project.dir, 'pipelines', 'per-hour-by-key.ts'),
    `import { pipeline, tumbling } from 'pbx';
export default pipeline('per-hour-by-key')
  .from('reviews', { time: (r) => r.time * 1000 })
  .keyBy()
  .window(tumbling('1h'))
  .count()
  .to('per-hour-by-key');
`,
  );
  // The same, slowed down (2 ms every 10 records) so that a replica can be killed while it works.
  writeFileSync(
    join(project.dir, 'pipelines', 'slow-per-hour-by-key.ts'),
    `import { pipeline, tumbling } from 'pbx';
let seen = 0;
export default pipeline('slow-per-hour-by-key')
  .from('reviews', { time: (r) => r.time * 1000 })
  .filter(async () => {
    if (++seen % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    return true;
  })
  .keyBy()
  .window(tumbling('1h'))
  .count()
  .to('slow-per-hour-by-key');
`,
  );
}, 600_000);
afterAll(() => purge(project.name));

const run = (name: string, ...flags: string[]) => project.binary(['run', name, '--until-end', '--json', ...flags]);
const written = (topic: string) => recordsWritten(BROKER, topic);
/** The source records a pipeline's group has committed (its repartition topic holds a batch's values in a few). */
const committed = (group: string) =>
  withAdmin(BROKER, async (admin) => {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: ['reviews'] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + (p.offset === '-1' ? 0n : BigInt(p.offset)), 0n);
  });

/** Runs `name` to its end, killed with -9 `kills` times once `progress` has grown past a random share of `expected`. */
async function runKilled(
  name: string,
  progress: { what: string; count: () => Promise<bigint> },
  expected: number,
  kills: number,
): Promise<void> {
  for (let kill = 0; kill < kills; kill++) {
    const at = BigInt(Math.floor(expected * (0.1 + 0.8 * random())));
    const child = run(name);
    const before = await progress.count();
    await waitFor(async () => (await progress.count()) - before >= at / BigInt(kills) || child.exitCode !== null, {
      timeout: 120_000,
      what: `${progress.what} to grow`,
    });
    expect(child.exitCode, 'the run ended before it could be killed: give it more input').toBeNull();
    child.kill('SIGKILL');
    await child.catch(() => undefined);
  }
  const last = await run(name);
  expect(last.exitCode, String(last.stdout) + String(last.stderr)).toBe(0);
}

describe('pbx run after kill -9', () => {
  it('leaves a filter/map output equal to a recomputation, with no duplicates', async () => {
    const expected = reviews
      .filter((r) => Number(r.score) >= 2)
      .map((r) => JSON.stringify({ user: r.user_id, product: r.product_id, score: Number(r.score) }));
    await runKilled('clean', { what: 'clean', count: () => written('clean') }, expected.length, 3);
    const got = (await readTopic(BROKER, 'clean')).map((r) => r.value);
    expect(got.length).toBe(expected.length);
    expect(got.sort()).toEqual(expected.sort());
  });

  it('leaves per-hour counts equal to a count done here', async () => {
    const reference = perHourReference(reviews);
    await runKilled('per-hour', { what: "pbx-per-hour's offsets", count: () => committed('pbx-per-hour') }, COUNT, 3);
    const got = await perHourCounts(BROKER, 'per-hour');
    expect(got.size).toBe(reference.size);
    expect(got).toEqual(reference);
  });

  it('leaves per-hour counts by the records own keys (keyBy(), no repartition) equal to a count done here', async () => {
    const reference = perHourReference(reviews);
    const group = 'pbx-per-hour-by-key';
    await runKilled('per-hour-by-key', { what: `${group}'s offsets`, count: () => committed(group) }, COUNT, 3);
    const got = await perHourCounts(BROKER, 'per-hour-by-key');
    expect(got.size).toBe(reference.size);
    expect(got).toEqual(reference);
  });
});

describe('pbx run interrupted', () => {
  it('commits what it did on Ctrl-C and leaves its group at once; the next run goes on with nothing twice', async () => {
    const child = project.binary(['run', 'slow-clean']);
    await waitFor(() => written('slow-clean'), {
      what: 'slow-clean to grow',
      timeout: 120_000,
      until: (n) => n > 1000n,
    });
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(130);
    expect(String(stopped.stderr)).toContain('committed what it had done');
    const group = (await withAdmin(BROKER, (admin) => admin.describeGroups(['pbx-slow-clean']))).groups[0]!;
    expect(group.members).toEqual([]);
    const last = await run('slow-clean');
    expect(last.exitCode, String(last.stderr)).toBe(0);
    const expected = reviews
      .filter((r) => Number(r.score) >= 2)
      .map((r) => JSON.stringify({ user: r.user_id, product: r.product_id, score: Number(r.score) }));
    const got = (await readTopic(BROKER, 'slow-clean')).map((r) => r.value);
    expect(got.length).toBe(expected.length);
    expect(got.sort()).toEqual(expected.sort());
  });
});

/** Waits for the group's three members to hold one partition of reviews each; kills the second with -9. */
async function killOneOfThree(parent: ReturnType<typeof run>, group: string): Promise<void> {
  const { AssignerProtocol } = await loadKafkajs();
  const assignments = await withAdmin(BROKER, (admin) =>
    waitFor(
      async () => {
        const described = (await admin.describeGroups([group])).groups[0]!;
        const parts = described.members.map(
          (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment.reviews?.length ?? 0,
        );
        return parts.length === 3 && parts.every((n) => n === 1) ? parts : undefined;
      },
      { timeout: 60_000, what: 'three members with a partition each' },
    ),
  );
  expect(assignments).toEqual([1, 1, 1]);
  const children = (await sh('pgrep', ['-P', String(parent.pid)])).split('\n').filter(Boolean);
  expect(children.length).toBe(3);
  expect(parent.exitCode, 'the run ended before a replica could be killed').toBeNull();
  process.kill(Number(children[1]), 'SIGKILL');
}

describe('pbx run --replicas 3', () => {
  it('splits the partitions between three workers and survives one killed', async () => {
    // What earlier runs wrote stays: --reset recomputes into the same topic, after it.
    const before = await readTopic(BROKER, 'slow-clean').catch(() => []);
    const parent = run('slow-clean', '--replicas', '3', '--reset');
    await killOneOfThree(parent, 'pbx-slow-clean');
    const result = await parent;
    expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(0);
    const summary = JSON.parse(String(result.stdout)) as { restarts: number };
    expect(summary.restarts).toBe(1);
    const expected = reviews
      .filter((r) => Number(r.score) >= 2)
      .map((r) => JSON.stringify({ user: r.user_id, product: r.product_id, score: Number(r.score) }));
    const got = (await readTopic(BROKER, 'slow-clean')).map((r) => r.value);
    expect(got.length).toBe(before.length + expected.length);
    expect(got.sort()).toEqual([...before.map((r) => r.value), ...expected].sort());
  });

  it('moves keyBy() state with its source partition: per-hour counts equal to a count done here', async () => {
    const parent = run('slow-per-hour-by-key', '--replicas', '3');
    await killOneOfThree(parent, 'pbx-slow-per-hour-by-key');
    const result = await parent;
    expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(0);
    expect((JSON.parse(String(result.stdout)) as { restarts: number }).restarts).toBe(1);
    const reference = perHourReference(reviews);
    expect(await perHourCounts(BROKER, 'slow-per-hour-by-key')).toEqual(reference);
  });

  it('stopped by SIGTERM, sums in its summary what its replicas read and wrote', async () => {
    const before = await written('slow-clean');
    const parent = project.binary(['run', 'slow-clean', '--json', '--replicas', '3', '--reset']);
    await waitFor(() => written('slow-clean'), {
      what: 'the replicas to write to slow-clean',
      timeout: 120_000,
      until: (n) => n - before > 3000n,
      giveUpIf: () => (parent.exitCode === null ? undefined : `the run ended (exit ${parent.exitCode})`),
    });
    parent.kill('SIGTERM');
    const result = await parent;
    expect(result.exitCode, String(result.stderr)).toBe(143);
    const summary = JSON.parse(String(result.stdout)) as RunSummary;
    expect(summary.stoppedBy).toBe('interrupt');
    expect(summary.sent['slow-clean']).toBeGreaterThan(0);
    // The filter drops reviews scored under 2: more read than sent.
    expect(summary.records).toBeGreaterThan(summary.sent['slow-clean']!);
  });
});
