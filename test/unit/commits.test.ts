import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/clients/transactional-producer';
import { Commits } from '../../src/pipelines/runtime/commits';

const offsets = (partition: number, generationId = 1) => ({
  groupId: 'g',
  memberId: 'm',
  generationId,
  offsets: [{ topic: 'in', partition, offset: 10n }],
});
const batch = (value: string, partition: number, generationId = 1): Transaction => ({
  records: [['out', [{ value }]]],
  offsets: offsets(partition, generationId),
});

/** A producer whose commits wait until released, recording what each one held. */
function producer() {
  const sent: Transaction[] = [];
  const releases: Array<(error?: Error) => void> = [];
  const send = (transaction: Transaction) => {
    sent.push(transaction);
    return new Promise<void>((resolve, reject) => releases.push((error) => (error ? reject(error) : resolve())));
  };
  const values = (t: Transaction) => [...t.records].flatMap(([, records]) => records.map((r) => r.value));
  return { sent, releases, send, values };
}

describe('Commits', () => {
  it('commits the transactions that waited for the one in flight as one, records in order, every offset', async () => {
    const p = producer();
    const commits = new Commits(p.send);
    const first = commits.commit(batch('a', 0));
    const second = commits.commit(batch('b', 1));
    const third = commits.commit(() => ({ records: [['out', [{ value: 'c' }]]] }));
    expect(p.sent).toHaveLength(1);
    p.releases[0]!();
    await first;
    await Promise.resolve();
    expect(p.sent).toHaveLength(2);
    expect(p.values(p.sent[1]!)).toEqual(['b', 'c']);
    expect(p.sent[1]!.offsets?.offsets.map((o) => o.partition)).toEqual([1]);
    p.releases[1]!();
    await Promise.all([second, third]);
  });

  it('fails every batch of a transaction that failed, and goes on with the next', async () => {
    const p = producer();
    const commits = new Commits(p.send);
    const first = commits.commit(batch('a', 0));
    const second = commits.commit(batch('b', 1));
    const third = commits.commit(batch('c', 2));
    p.releases[0]!(Object.assign(new Error('fenced'), { type: 'ILLEGAL_GENERATION' }));
    await expect(first).rejects.toThrow('fenced');
    await Promise.resolve();
    p.releases[1]!(new Error('down'));
    await expect(second).rejects.toThrow('down');
    await expect(third).rejects.toThrow('down');
  });

  it("keeps a batch of another generation's membership out of the others' transaction", async () => {
    const p = producer();
    const commits = new Commits(p.send);
    const first = commits.commit(batch('a', 0));
    const old = commits.commit(batch('b', 1, 1));
    const newer = commits.commit(batch('c', 2, 2));
    p.releases[0]!();
    await first;
    await Promise.resolve();
    expect(p.values(p.sent[1]!)).toEqual(['b']);
    p.releases[1]!();
    await old;
    await Promise.resolve();
    expect(p.values(p.sent[2]!)).toEqual(['c']);
    expect(p.sent[2]!.offsets?.generationId).toBe(2);
    p.releases[2]!();
    await newer;
  });
});

describe('Commits with batches begun together', () => {
  it('waits for every batch begun before committing, then commits them as one', async () => {
    const p = producer();
    const commits = new Commits(p.send, 10_000);
    const [a, b, c] = [commits.begin(), commits.begin(), commits.begin()];
    const first = a.commit(batch('a', 0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(p.sent).toHaveLength(0);
    const second = b.commit(batch('b', 1));
    c.leave(); // a batch that had nothing to commit (failed, or given up on a rebalance)
    await Promise.resolve();
    expect(p.sent).toHaveLength(1);
    expect(p.values(p.sent[0]!)).toEqual(['a', 'b']);
    expect(p.sent[0]!.offsets?.offsets.map((o) => o.partition)).toEqual([0, 1]);
    p.releases[0]!();
    await Promise.all([first, second]);
  });

  it('commits what joined once the bound has passed, without the batch still working', async () => {
    const p = producer();
    const commits = new Commits(p.send, 20);
    const [a, slow] = [commits.begin(), commits.begin()];
    const first = a.commit(batch('a', 0));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(p.values(p.sent[0]!)).toEqual(['a']);
    p.releases[0]!();
    await first;
    const late = slow.commit(batch('b', 1));
    expect(p.values(p.sent[1]!)).toEqual(['b']);
    p.releases[1]!();
    await late;
  });

  it('lets a transaction of no batch (idle markers) wait for the batches begun, and join their transaction', async () => {
    const p = producer();
    const commits = new Commits(p.send, 10_000);
    const a = commits.begin();
    const markers = commits.commit({ records: [['out', [{ value: 'marker' }]]] });
    await Promise.resolve();
    expect(p.sent).toHaveLength(0);
    const first = a.commit(batch('a', 0));
    await Promise.resolve();
    expect(p.values(p.sent[0]!)).toEqual(['marker', 'a']);
    p.releases[0]!();
    await Promise.all([markers, first]);
  });
});
