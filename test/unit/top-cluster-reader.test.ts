// pbx top's reading of a cluster (src/top/collect-kafka.ts) over a cluster answered here: the sizes on disk come in
// one DescribeLogDirs per leader for the partitions it leads, a future replica and a directory offline left out; a
// broker that does not answer them leaves its partitions without a size; a Metadata answer failed whole by a
// partition without a leader is asked again.
import { describe, expect, it } from 'vitest';
import type { LogDirsAnswer, LogDirsQuery } from '../../src/clients/describe-log-dirs';
import type { ClusterMetadata, ClusterReads, ReadingBroker } from '../../src/clients/kafkajs-internals';
import { ClusterReader } from '../../src/top/collect-kafka';

const METADATA: ClusterMetadata = {
  brokers: [1, 2].map((nodeId) => ({ nodeId, host: 'h', port: 9092 })),
  topicMetadata: [
    {
      topic: 't',
      partitionMetadata: [0, 1, 2].map((partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: partitionId === 2 ? 2 : 1,
        replicas: [1, 2],
        isr: [1, 2],
      })),
    },
  ],
};

/** A cluster whose brokers answer the collector's requests with nothing, and its log dirs with `logDirs`. */
function cluster(logDirs: (nodeId: number, query: LogDirsQuery) => Promise<LogDirsAnswer>, metadataFailures = 0) {
  const asked: Array<[number, LogDirsQuery]> = [];
  let failures = metadataFailures;
  const broker = {
    listOffsets: () => Promise.resolve({ responses: [] }),
    listGroups: () => Promise.resolve({ groups: [] }),
  } as unknown as ReadingBroker;
  const reads: ClusterReads = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    metadata: () => {
      if (failures-- > 0) {
        const error = Object.assign(new Error('There is no leader for this topic-partition'), {
          name: 'KafkaJSProtocolError',
          retriable: true,
        });
        return Promise.reject(error);
      }
      return Promise.resolve(METADATA);
    },
    broker: () => Promise.resolve(broker),
    logDirs: (nodeId, query) => {
      asked.push([nodeId, query]);
      return logDirs(nodeId, query);
    },
  };
  return { reader: new ClusterReader(reads, () => 0), asked };
}

const replica = (partition: number, size: number, isFuture = false) => ({
  topic: 't',
  partition,
  size,
  offsetLag: 0,
  isFuture,
});

describe("pbx top's reading of the sizes on disk", () => {
  it('asks each leader once for the partitions it leads, and takes their leader replicas', async () => {
    const { reader, asked } = cluster((nodeId) =>
      Promise.resolve({
        throttleTime: 0,
        logDirs:
          nodeId === 1
            ? [
                // Partition 2 is held here too, as a follower: its leader's size counts, not this one's.
                { errorCode: 0, path: '/a', replicas: [replica(0, 100), replica(1, 200), replica(2, 999)] },
                // A copy of partition 0 on its way to another disk of the broker: the data once.
                { errorCode: 0, path: '/b', replicas: [replica(0, 50, true)] },
                { errorCode: 56, path: '/c', replicas: [] },
              ]
            : [{ errorCode: 0, path: '/a', replicas: [replica(2, 300)] }],
      }),
    );
    const reading = await reader.read();
    expect(asked.sort(([a], [b]) => a - b)).toEqual([
      [1, [{ topic: 't', partitions: [0, 1] }]],
      [2, [{ topic: 't', partitions: [2] }]],
    ]);
    expect(reading.topics[0]!.partitions.map((p) => p.bytes)).toEqual([100, 200, 300]);
  });

  it("leaves a broker's partitions without a size when it does not answer (an old Kafka, no right to describe)", async () => {
    const { reader } = cluster((nodeId) =>
      nodeId === 2
        ? Promise.reject(new Error('The Kafka server does not support the requested API version'))
        : Promise.resolve({ throttleTime: 0, logDirs: [{ errorCode: 0, path: '/a', replicas: [replica(0, 1)] }] }),
    );
    const reading = await reader.read();
    expect(reading.topics[0]!.partitions.map((p) => p.bytes)).toEqual([1, undefined, undefined]);
  });

  it('asks for the metadata again when a partition has no leader for a moment, not saying Kafka is down', async () => {
    const { reader } = cluster(() => Promise.resolve({ throttleTime: 0, logDirs: [] }), 1);
    expect((await reader.read()).topics.map((t) => t.name)).toEqual(['t']);
    const failing = cluster(() => Promise.resolve({ throttleTime: 0, logDirs: [] }), 2);
    await expect(failing.reader.read()).rejects.toThrow(/no leader/);
  });
});
