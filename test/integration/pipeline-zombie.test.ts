// A zombie worker (KIP-447): paused in the middle of a batch long enough for its partition to move to another member,
// it then tries to commit its transaction with the membership it had. Kafka must refuse the offsets and with them
// the records: only the new owner's transaction is read. The workers here are kafkajs consumers of one group with
// pbx's transactional producer, as a pipeline's worker is; kafkajs heartbeats only between and inside batches, so a
// batch that waits is a paused worker to the group.
// And the other side of a handover: a pipeline's worker that gets a partition while its last owner's transaction is
// not yet stable (its EndTxn answered, the commit marker not yet written to __consumer_offsets) must read on from
// that transaction's offset once it is, not from the one before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { kafkaClientConfig, loadKafkajs } from '../../src/clients/kafka';
import { loadBatchMemberships } from '../../src/clients/kafkajs-internals';
import { pipeline } from '../../src/pipelines/api';
import { runPipeline } from '../../src/pipelines/runtime/run';
import { runOptions } from '../support/pipelines';
import { TransactionalProducer } from '../../src/clients/transactional-producer';
import { purge, startStack, testProject } from '../support/stack';
import { createTopic, produce, readTopic, withAdmin } from '../support/topics';
import { rejectionOf, waitFor } from '../support/wait';

const PORT = 29461;
const BROKER = `127.0.0.1:${PORT}`;
const project = testProject('itzombie', `services:\n  kafka: {port: ${PORT}, mode: kraft}\n`);
const GROUP = 'zombie-group';

beforeAll(async () => {
  await startStack(project, 'kafka');
  await produce(BROKER, 'zombie-in', ['one']);
  await createTopic(BROKER, 'zombie-out');
});
afterAll(() => purge(project.name));

interface Member {
  consumer: Consumer;
  memberId: string;
  /** Resolves with the member's generation when its first batch starts. */
  batch: Promise<number>;
}

/** A member of the group whose first batch waits until `hold` resolves (a paused worker), or returns at once. */
async function member(hold: Promise<void>): Promise<Member> {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 6000,
    rebalanceTimeout: 8000,
    heartbeatInterval: 500,
    readUncommitted: false,
  });
  const membershipOf = await loadBatchMemberships();
  const self: Member = { consumer, memberId: '', batch: Promise.resolve(-1) };
  let started!: (generation: number) => void;
  self.batch = new Promise((resolve) => (started = resolve));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => (self.memberId = payload.memberId));
  await consumer.connect();
  await consumer.subscribe({ topic: 'zombie-in', fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      started(membershipOf(batch)?.generationId ?? -1);
      await hold;
    },
  });
  return self;
}

async function producer(id: string): Promise<TransactionalProducer> {
  return TransactionalProducer.connect({
    kafka: kafkaClientConfig({ brokers: [BROKER] }, { clientId: 'pbx-zombie-test' }),
    transactionalId: id,
    transactionTimeoutMs: 15_000,
  });
}

const transaction = (value: string, who: Member, generationId: number) => ({
  records: [['zombie-out', [{ value }]]] as [string, { value: string }[]][],
  offsets: {
    groupId: GROUP,
    memberId: who.memberId,
    generationId,
    offsets: [{ topic: 'zombie-in', partition: 0, offset: 1n }],
  },
});

describe('a paused worker whose partitions moved', () => {
  it('cannot commit: its records and offsets are refused, the new owner commits', async () => {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    const zombie = await member(paused);
    const zombieGeneration = await zombie.batch;
    expect(zombieGeneration).toBeGreaterThan(0);
    // The zombie sends no heartbeat while its batch waits: its session ends and the partition moves on.
    const owner = await member(Promise.resolve());
    const ownerGeneration = await waitFor(() => Promise.race([owner.batch, Promise.resolve(undefined)]), {
      what: 'the partition to move to the second member',
      timeout: 40_000,
      interval: 200,
    });
    expect(ownerGeneration).toBeGreaterThan(zombieGeneration);

    const zombieProducer = await producer('zombie-a');
    const ownerProducer = await producer('zombie-b');
    try {
      const refused = (await rejectionOf(
        zombieProducer.commit(transaction('from the zombie', zombie, zombieGeneration)),
      )) as { type?: string };
      expect(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']).toContain(refused.type);
      await ownerProducer.commit(transaction('from the owner', owner, ownerGeneration!));
      // The zombie's producer goes on after a refusal: its next transaction (no group's offsets) commits.
      await zombieProducer.commit({ records: [['zombie-out', [{ value: 'after' }]]] });
    } finally {
      release();
      await Promise.all([zombieProducer.disconnect(), ownerProducer.disconnect()]);
      await Promise.all([zombie.consumer.disconnect(), owner.consumer.disconnect()]);
    }
    const values = (await readTopic(BROKER, 'zombie-out')).map((r) => r.value).sort();
    expect(values).toEqual(['after', 'from the owner']);
    const committed = await withAdmin(BROKER, (admin) => admin.fetchOffsets({ groupId: GROUP, topics: ['zombie-in'] }));
    expect(committed[0]!.partitions[0]!.offset).toBe('1');
  });
});

describe('a partition whose last owner’s transaction is not yet stable', () => {
  it('is read on from that transaction’s offset once it is: its records are not read and sent again', async () => {
    const values = Array.from({ length: 10 }, (_, n) => ({ n }));
    await produce(BROKER, 'handover-in', values);
    await createTopic(BROKER, 'handover-out');
    const group = 'pbx-handover';
    // The previous owner did the first 6 records: its transaction holds their outputs and the offset 6, and is not
    // yet stable, as one is between its EndTxn and the marker Kafka writes (which no test can hold back; an open
    // transaction's offsets are pending in the same way).
    const { Kafka, logLevel } = await loadKafkajs();
    const kafka = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING });
    const previous = kafka.producer({ transactionalId: 'handover-previous', idempotent: true, maxInFlightRequests: 1 });
    await previous.connect();
    const transaction = await previous.transaction();
    await transaction.send({
      topic: 'handover-out',
      messages: values.slice(0, 6).map((v) => ({ value: JSON.stringify(v) })),
    });
    await transaction.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: 'handover-in', partitions: [{ partition: 0, offset: '6' }] }],
    });
    const spec = pipeline('handover')
      .from('handover-in')
      .map((v: { n: number }) => ({ n: v.n }))
      .to('handover-out');
    const run = runPipeline(runOptions(project, spec));
    try {
      // The new owner has joined, and kafkajs has read where the partition starts (before the transaction's offset).
      await waitFor(() => withAdmin(BROKER, (admin) => admin.describeGroups([group])), {
        what: `the pipeline's worker to join ${group}`,
        timeout: 30_000,
        interval: 20,
        until: ({ groups }) => groups[0]?.state === 'Stable' && groups[0].members.length === 1,
      });
      await transaction.commit();
    } finally {
      await previous.disconnect();
    }
    const summary = await run;
    expect(summary.records).toBe(4);
    const written = (await readTopic(BROKER, 'handover-out')).map((r) => r.value).sort();
    expect(written).toEqual(values.map((v) => JSON.stringify(v)).sort());
    const committed = await withAdmin(BROKER, (admin) =>
      admin.fetchOffsets({ groupId: group, topics: ['handover-in'] }),
    );
    expect(committed[0]!.partitions[0]!.offset).toBe('10');
  }, 60_000);
});

describe('a partition whose last owner’s transaction stays open past every worker’s patience', () => {
  it('fails the run with what Kafka holds and what to do, committing nothing', async () => {
    await produce(BROKER, 'stuck-in', [{ n: 1 }, { n: 2 }]);
    await createTopic(BROKER, 'stuck-out');
    const group = 'pbx-stuck';
    // A producer that set a transaction timeout far longer than a pipeline's (15 s) and went away mid-transaction:
    // Kafka keeps its offsets pending for 10 minutes.
    const { Kafka, logLevel } = await loadKafkajs();
    const kafka = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING });
    const stuck = kafka.producer({
      transactionalId: 'stuck-previous',
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 600_000,
    });
    await stuck.connect();
    const open = await stuck.transaction();
    await open.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: 'stuck-in', partitions: [{ partition: 0, offset: '1' }] }],
    });
    try {
      const spec = pipeline('stuck').from('stuck-in').to('stuck-out');
      const error = (await rejectionOf(runPipeline(runOptions(project, spec)))) as {
        message: string;
        code?: string;
        exitCode?: number;
        nextSteps?: string[];
      };
      expect(error.code).toBe('KAFKA_TRANSACTION_PENDING');
      expect(error.exitCode).toBe(3);
      expect(error.message).toContain(`group ${group}`);
      expect(error.message).toContain('stuck-in/0');
      expect(error.nextSteps?.join(' ')).toContain('Run the same command again');
      expect(await readTopic(BROKER, 'stuck-out')).toEqual([]);
    } finally {
      await open.abort().catch(() => undefined);
      await stuck.disconnect();
    }
  }, 120_000);
});
