// Kafka's DescribeLogDirs request (API key 35), which kafkajs 2.2.4 lacks: a broker's log directories with the size
// on disk of each partition replica it holds there. pbx top asks each broker for the partitions it leads, one request
// a refresh. Versions 0 and 1 (Kafka 1.0 on) are written here: their bodies are the same and not flexible; version 1
// only moves the throttle to the client (KIP-219), and it is the oldest Kafka 4 still answers. The request is made in
// the shape of kafkajs's own request definitions, so kafkajs's broker picks the version (lookupRequest) and its
// connection sends it, with TLS, SASL, timeouts and throttling as for every other request (kafkajs-internals.ts).

import { ClassicReader } from './kafka-encoding';

export const DESCRIBE_LOG_DIRS_API_KEY = 35;
/** Versions written here, each the broker's pick when it is the best both sides know. */
const VERSIONS = [0, 1];

/** The partitions to describe, by topic; null asks for every partition the broker holds. */
export type LogDirsQuery = Array<{ topic: string; partitions: number[] }> | null;

export interface LogDirReplica {
  topic: string;
  partition: number;
  /** Bytes of its log segments on disk. */
  size: number;
  /** How far a future replica (one being moved to this directory) is behind: 0 otherwise. */
  offsetLag: number;
  /** A copy being moved here from another directory of the same broker, not the replica itself. */
  isFuture: boolean;
}

export interface LogDir {
  /** 0, or why the directory could not be read (KAFKA_STORAGE_ERROR: 56 for a directory offline). */
  errorCode: number;
  path: string;
  replicas: LogDirReplica[];
}

export interface LogDirsAnswer {
  throttleTime: number;
  /** From version 1 on the broker answers at once and the client waits this long before its next request. */
  clientSideThrottleTime?: number;
  /** Empty when the client may not describe the cluster (Kafka answers so before version 3, with no error code). */
  logDirs: LogDir[];
}

/** The request's body (after the request header), as Kafka's protocol writes it for versions 0 and 1 (pure). */
export function encodeLogDirsRequest(query: LogDirsQuery): Buffer {
  const parts: Buffer[] = [int32(query === null ? -1 : query.length)];
  for (const { topic, partitions } of query ?? []) {
    parts.push(string(topic), int32(partitions.length), ...partitions.map(int32));
  }
  return Buffer.concat(parts);
}

/** The response's body (after the correlation id) of versions 0 and 1 (pure); throws when it is cut short. */
export function decodeLogDirsResponse(payload: Buffer, version: number): LogDirsAnswer {
  const read = new ClassicReader(payload, 'DescribeLogDirs');
  const throttleTime = read.int32();
  const logDirs = read.array(() => {
    const errorCode = read.int16();
    const path = read.string();
    const replicas = read.array(() => {
      const topic = read.string();
      return read.array((): LogDirReplica => ({
        topic,
        partition: read.int32(),
        size: Number(read.int64()),
        offsetLag: Number(read.int64()),
        isFuture: read.boolean(),
      }));
    });
    return { errorCode, path, replicas: replicas.flat() };
  });
  return version >= 1 ? { throttleTime: 0, clientSideThrottleTime: throttleTime, logDirs } : { throttleTime, logDirs };
}

/** What kafkajs's broker and connection take of a request: its versions, and per version what to send and decode. */
export interface LogDirsProtocol {
  request: {
    apiKey: number;
    apiVersion: number;
    apiName: string;
    encode: () => Promise<{ buf: Buffer; buffer: Buffer }>;
  };
  response: {
    decode: (payload: Buffer) => Promise<LogDirsAnswer>;
    parse: (answer: LogDirsAnswer) => Promise<LogDirsAnswer>;
  };
}

/** DescribeLogDirs as a kafkajs request definition: `broker.lookupRequest(35, describeLogDirs)({ query })`. */
export const describeLogDirs = {
  versions: VERSIONS.map(String),
  protocol:
    ({ version }: { version: number }) =>
    ({ query }: { query: LogDirsQuery }): LogDirsProtocol => ({
      request: {
        apiKey: DESCRIBE_LOG_DIRS_API_KEY,
        apiVersion: version,
        apiName: 'DescribeLogDirs',
        // kafkajs frames what encode() gives by reading `buf` and `buffer`, as from its own Encoder.
        encode: () => {
          const body = encodeLogDirsRequest(query);
          return Promise.resolve({ buf: body, buffer: body });
        },
      },
      response: {
        decode: (payload) => Promise.resolve(decodeLogDirsResponse(payload, version)),
        // A directory's error is the caller's to weigh (one disk offline is no reason to lose the others).
        parse: (answer) => Promise.resolve(answer),
      },
    }),
};

function int32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(n);
  return out;
}

function string(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
