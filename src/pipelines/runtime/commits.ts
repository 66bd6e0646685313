// A worker's transactions, one at a time on its one transactional producer. Batches of several partitions are worked
// on at once, and while one transaction is in flight the next batches' work goes on: the transactions that wait
// for it go out together as one (their records and their offsets), each batch resolved or failed with it. A batch
// commits only with what it asked for, and never before Kafka committed it.
import type { GroupOffsets } from '../../clients/kafkajs-internals';
import type { OutgoingRecord, Transaction } from '../../clients/transactional-producer';

/** A transaction, or one decided only once no other transaction runs (undefined: nothing to send after all). */
export type Pending = Transaction | (() => Transaction | undefined);

interface Waiting {
  pending: Pending;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class Commits {
  private waiting: Waiting[] = [];
  private running = false;

  constructor(private readonly send: (transaction: Transaction) => Promise<void>) {}

  /** Resolves once Kafka has committed the transaction (with others, maybe); rejects with what failed it. */
  commit(pending: Pending): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ pending, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const taken = this.waiting.splice(0);
      const decided = taken.map((w) => (typeof w.pending === 'function' ? w.pending() : w.pending));
      // One member's offsets per transaction: a batch of another generation (a rebalance between) waits its turn.
      const member = decided.find((t) => t?.offsets)?.offsets;
      const now: Array<{ waiting: Waiting; transaction?: Transaction }> = [];
      taken.forEach((waiting, i) => {
        const transaction = decided[i];
        const offsets = transaction?.offsets;
        if (offsets && member && !sameMember(offsets, member)) this.waiting.push({ ...waiting, pending: transaction });
        else now.push({ waiting, transaction });
      });
      const merged = merge(now.flatMap((n) => (n.transaction ? [n.transaction] : [])));
      try {
        if (merged) await this.send(merged);
        for (const { waiting } of now) waiting.resolve();
      } catch (error) {
        for (const { waiting } of now) waiting.reject(error);
      }
    }
    this.running = false;
  }
}

function sameMember(a: GroupOffsets, b: GroupOffsets): boolean {
  return a.groupId === b.groupId && a.memberId === b.memberId && a.generationId === b.generationId;
}

/** Several transactions as one: each topic's records in the order of the transactions, every offset. */
function merge(transactions: Transaction[]): Transaction | undefined {
  if (transactions.length <= 1) return transactions[0];
  const records = new Map<string, OutgoingRecord[]>();
  let offsets: GroupOffsets | undefined;
  for (const transaction of transactions) {
    for (const [topic, list] of transaction.records) {
      const all = records.get(topic);
      if (all) for (const record of list) all.push(record);
      else records.set(topic, [...list]);
    }
    if (transaction.offsets) {
      offsets ??= { ...transaction.offsets, offsets: [] };
      offsets.offsets.push(...transaction.offsets.offsets);
    }
  }
  return { records, offsets };
}
