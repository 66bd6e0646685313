// The records stage: a source's entry becomes the message that leaves for Kafka (its key, its value, its headers
// and when it is due), or the reason it cannot.
import type { Bytes, RecordHeader } from '../clients/record-batch';
import { bracketHint, getPath, type Format, type SourceItem } from '../flow/records';
import { shiftTime, type Pace, type Schedule } from './pacing';
import { REPLAY_HEADER } from './resume';

/** The record being sent. */
export interface OutgoingMessage {
  key: string | null;
  value: Bytes;
  headers: readonly RecordHeader[];
  /** When it is due, in ms after the first record left (0: at once). */
  dueMs: number;
}

/**
 * Makes each entry's message in one object, filled again for each (a million records make no garbage here): the
 * message is valid until the next entry is built.
 */
export class MessageBuilder {
  readonly message: OutgoingMessage;
  /** Set when checkpointing: each record then carries `<run id>:<pass>:<index>`, which a resume looks for. */
  runId: string | undefined;

  constructor(
    private readonly plan: { key?: string; pace: Pace; headers: readonly RecordHeader[] },
    private readonly schedule: Schedule,
  ) {
    this.message = { key: null, value: null, headers: plan.headers, dueMs: 0 };
  }

  /** Makes `message` the one for this entry and returns undefined, or returns what is wrong with the entry. */
  build(item: SourceItem, pass: number, format: Format): string | undefined {
    if (item.kind === 'bad') return item.reason;
    const due = this.schedule.next(item.value, pass);
    if ('error' in due) return due.error;
    const { key: keyPath, pace, headers } = this.plan;
    let key: string | null = null;
    if (keyPath !== undefined) {
      const value = getPath(item.value, keyPath);
      if (value === undefined) return `no field ${keyPath} for the key${bracketHint(keyPath)}`;
      if (value === null) return `field ${keyPath} is null, which is no key`;
      key = typeof value === 'string' ? value : JSON.stringify(value);
    }
    const shift = pace.kind === 'event-time' ? pass * this.schedule.shiftPerPass : 0;
    const message = this.message;
    message.key = key;
    message.value =
      shift !== 0 && pace.kind === 'event-time' // (narrows pace for .field)
        ? JSON.stringify(shiftTime(item.value, pace.field, shift))
        : format === 'csv'
          ? JSON.stringify(item.value) // (its bytes are the row as written, for messages)
          : item; // the file's exact bytes; for a JSON array, the element's compact JSON, made as it was read
    message.headers =
      this.runId !== undefined ? [...headers, [REPLAY_HEADER, `${this.runId}:${pass}:${item.index}`]] : headers;
    message.dueMs = due.dueMs;
    return undefined;
  }
}
