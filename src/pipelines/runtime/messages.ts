// What a pipeline reads from and writes to Kafka, as plain data: a source message made a record, the repartition
// topic's records and watermark markers, dead letters. Pure: unit-tested without a broker.
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { StreamRecord } from '../api';
import type { Topology } from './topology';

/** Headers pbx puts on the records of its internal topics and on dead letters. */
export const HEADER = {
  /** Repartition: on a marker, the event time (ms) its source partition reached, or `end`. */
  time: 'pbx-time',
  /** Repartition: a watermark marker of source partition `topic/partition`; its pbx-time is a time or `end`. */
  mark: 'pbx-mark',
  /** Repartition: on a marker, `1` when its source partition is idle (it holds the watermark back no more). */
  idle: 'pbx-idle',
  error: 'pbx-error',
  operator: 'pbx-operator',
  topic: 'pbx-topic',
  partition: 'pbx-partition',
  offset: 'pbx-offset',
} as const;

/** A record that cannot go on, with the reason and the operator (or stage) it failed at. */
export class RecordProblem extends Error {
  /** `topic/partition/offset` of the source record, once known. */
  at?: string;
  constructor(
    readonly operator: string,
    message: string,
    /** The operator's index among the pipeline's steps; none for a problem before any (the value, its time). */
    readonly step?: number,
  ) {
    super(message);
    this.name = 'RecordProblem';
  }
}

export function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    out[name] = first === undefined ? '' : first.toString();
  }
  return out;
}

/** A source message as the operators see it: the value parsed, the event time read. Throws RecordProblem. */
export function sourceRecord(
  topology: Pick<Topology, 'format' | 'time'>,
  topic: string,
  partition: number,
  message: KafkaMessage,
): { value: unknown; record: StreamRecord } {
  const timestamp = Number(message.timestamp);
  const record: StreamRecord = {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString() : null,
    headers: headersOf(message.headers),
    timestamp,
    time: timestamp,
  };
  const text = message.value ? message.value.toString() : '';
  let value: unknown = text;
  if (topology.format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
      throw new RecordProblem(
        'source',
        `the value is not JSON (${(error as Error).message}): ${JSON.stringify(shown)}`,
      );
    }
  }
  if (topology.time) {
    let time: unknown;
    try {
      time = topology.time(value, record);
    } catch (error) {
      throw new RecordProblem('time', `from()'s time function threw: ${(error as Error).message}`);
    }
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw new RecordProblem('time', `from()'s time function gave ${JSON.stringify(time)}, not a time in ms`);
    }
    record.time = time;
  }
  return { value, record };
}

/**
 * Stage A's progress on one source partition, sent to every repartition partition: stage B's watermark. `time` is
 * -Infinity for an idle partition that never had a record, +Infinity at its end.
 */
export function markerMessages(source: string, time: number, partitions: number, idle = false): Message[] {
  const value = time === Infinity ? 'end' : String(time);
  const headers = { [HEADER.mark]: source, [HEADER.time]: value, ...(idle ? { [HEADER.idle]: '1' } : {}) };
  return Array.from({ length: partitions }, (_, partition) => ({ partition, key: null, value: null, headers }));
}

export type StageBMessage =
  | { kind: 'mark'; source: string; time: number; idle: boolean }
  /** `chunk`: the record's text (read with eachChunkValue), which a window shell's state logs as it is. */
  | { kind: 'values'; chunk: string };

/** A repartition message read back: a marker, or a chunk of keyed values with their source coordinates. */
export function stageBMessage(message: KafkaMessage): StageBMessage {
  const mark = message.headers?.[HEADER.mark];
  if (mark === undefined) {
    return { kind: 'values', chunk: message.value?.toString() ?? '{"r":[],"e":[]}' };
  }
  const headers = headersOf(message.headers);
  const time = headers[HEADER.time];
  return {
    kind: 'mark',
    source: headers[HEADER.mark]!,
    time: time === 'end' ? Infinity : Number(time),
    idle: headers[HEADER.idle] === '1',
  };
}

/** A value as a sink topic gets it: a string as it is, anything else as compact JSON. */
export function encodeValue(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}

/** A record that was stopped, for the dead-letter topic: the original bytes, and why, where and at what. */
export function deadLetter(record: StreamRecord, original: Buffer | string | null, problem: RecordProblem): Message {
  return {
    key: record.key,
    value: original,
    headers: {
      [HEADER.error]: problem.message,
      [HEADER.operator]: problem.operator,
      [HEADER.topic]: record.topic,
      [HEADER.partition]: String(record.partition),
      [HEADER.offset]: record.offset,
    },
  };
}
