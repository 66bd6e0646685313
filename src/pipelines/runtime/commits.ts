// A worker's transactions, one at a time on its one transactional producer. Batches of several partitions are worked
// on at once, and while one transaction is in flight the next batches' work goes on: the transactions that wait
// for it go out together as one (their records and their offsets), each batch resolved or failed with it. A batch
// commits only with what it asked for, and never before Kafka committed it. A transaction also waits, up to a short
// bound, for the batches begun and not yet done (a fetch's batches begin together): the first ready would otherwise
// commit alone while the others still work, two or three transactions one after the other where one does.
import type { GroupOffsets } from '../../clients/kafkajs-internals';
import type { OutgoingRecord, Transaction } from '../../clients/transactional-producer';

/** A transaction, or one decided only once no other transaction runs (undefined: nothing to send after all). */
export type Pending = Transaction | (() => Transaction | undefined);

interface Waiting {
  pending: Pending;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A batch begun: it commits, or leaves without committing (failed, empty, given up); either once. */
export interface Begun {
  commit(pending: Pending): Promise<void>;
  leave(): void;
}

export class Commits {
  private waiting: Waiting[] = [];
  private running = false;
  /** Batches begun that have neither committed nor left. */
  private working = 0;
  /** Wakes the transaction waiting for the batches still working, when the last of them joins. */
  private joined?: () => void;

  /** `gatherMs`: how long a transaction waits at most for the batches still working to join it. */
  constructor(
    private readonly send: (transaction: Transaction) => Promise<void>,
    private readonly gatherMs = 0,
  ) {}

  /** A batch begins: the next transaction waits for it (up to gatherMs). */
  begin(): Begun {
    this.working++;
    let done = false;
    const join = () => {
      if (done) return;
      done = true;
      this.working--;
      if (this.working === 0) this.joined?.();
    };
    return {
      // Joined first: the last to join goes out at once, and a transaction waiting for it takes it along.
      commit: (pending) => {
        join();
        return this.commit(pending);
      },
      leave: join,
    };
  }

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
      if (this.working > 0 && this.gatherMs > 0) await this.gathered();
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

  /** Once every batch begun has joined, or gatherMs has passed: a slow batch holds the others back no longer. */
  private gathered(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.joined = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.gatherMs);
      this.joined = done;
    });
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
