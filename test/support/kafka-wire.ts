import { Socket } from 'node:net';

/** One produce request as it went on the wire: which batch it carried (a batch is known by its sequence number). */
export interface ProduceWrite {
  topic: string;
  partition: number;
  producerId: bigint;
  baseSequence: number;
  records: number;
  /** The batch's compression, by Kafka's codes: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  compression: number;
  /** When it was written (Date.now()). */
  at: number;
}

const PRODUCE = 0;

/**
 * Watches this process's connections to a Kafka listening on `port` until `stop`, and records every produce request
 * written to them, read from the bytes as Kafka reads them (produce versions 3 to 8, one request per write). Each
 * write still goes out as it came, after `onWrite` saw it. Independent of how pbx builds its requests: every client
 * socket writes here.
 */
export function watchProduceRequests(
  port: number,
  onWrite?: (write: ProduceWrite) => void,
): { writes: ProduceWrite[]; stop: () => void } {
  const writes: ProduceWrite[] = [];
  const stop = watchRequestFrames(port, (frame) => {
    const request = produceRequestIn(frame);
    if (!request) return;
    const write = { ...request, at: Date.now() };
    writes.push(write);
    onWrite?.(write);
  });
  return { writes, stop };
}

/** Kafka's names of the requests a client of pbx sends, by API key. */
const API_NAMES: Record<number, string> = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  8: 'OffsetCommit',
  9: 'OffsetFetch',
  10: 'FindCoordinator',
  11: 'JoinGroup',
  12: 'Heartbeat',
  13: 'LeaveGroup',
  14: 'SyncGroup',
  15: 'DescribeGroups',
  16: 'ListGroups',
  18: 'ApiVersions',
  19: 'CreateTopics',
  32: 'DescribeConfigs',
  35: 'DescribeLogDirs',
  60: 'DescribeCluster',
};

/**
 * Counts the requests, by name, that clients whose id starts with `clientIdPrefix` write to a Kafka on `port`, until
 * `stop`: what a piece of pbx asks of Kafka, read off the wire whatever builds the requests.
 */
export function countRequests(port: number, clientIdPrefix: string): { counts: Map<string, number>; stop: () => void } {
  const counts = new Map<string, number>();
  const stop = watchRequestFrames(port, (frame) => {
    if (frame.length < 14) return;
    const idLength = frame.readInt16BE(12);
    if (!frame.toString('utf8', 14, 14 + Math.max(0, idLength)).startsWith(clientIdPrefix)) return;
    const apiKey = frame.readInt16BE(4);
    const name = API_NAMES[apiKey] ?? `api ${apiKey}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  return { counts, stop };
}

/** Calls `onFrame` with each buffer this process writes to a socket connected to `port`; returns the undo. */
function watchRequestFrames(port: number, onFrame: (frame: Buffer) => void): () => void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its socket, and put back by stop
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    const [chunk] = args;
    if (this.remotePort === port && Buffer.isBuffer(chunk)) onFrame(chunk);
    return (write as (...args: unknown[]) => boolean).apply(this, args);
  };
  return () => void (Socket.prototype.write = write);
}

/** The batch a produce request carries (one topic, one partition, as pbx sends them), or undefined for others. */
function produceRequestIn(frame: Buffer): Omit<ProduceWrite, 'at'> | undefined {
  if (frame.length < 14 || frame.readInt16BE(4) !== PRODUCE) return undefined;
  let at = 14 + frame.readInt16BE(12); // size, api key and version, correlation id, client id
  const transactionalId = frame.readInt16BE(at);
  at += 2 + Math.max(transactionalId, 0) + 2 + 4 + 4; // transactional id, acks, timeout, topic count
  const topicLength = frame.readInt16BE(at);
  const topic = frame.toString('utf8', at + 2, at + 2 + topicLength);
  at += 2 + topicLength + 4; // topic, partition count
  const partition = frame.readInt32BE(at);
  const batch = at + 8; // partition, record set size
  return {
    topic,
    partition,
    producerId: frame.readBigInt64BE(batch + 43),
    baseSequence: frame.readInt32BE(batch + 53),
    records: frame.readInt32BE(batch + 57),
    compression: frame.readInt16BE(batch + 21) & 0x07,
  };
}
