// The kafkajs 2.2.4 internals batch-producer.ts uses: its cluster (metadata, leaders, connections with TLS and
// SASL, version negotiation), the produce request definitions and the protocol errors.
// CommonJS modules: `default` is their module.exports.

declare module 'kafkajs/src/cluster/index.js' {
  import type { PartitionMetadata } from 'kafkajs';
  export interface ProduceProtocol {
    request: { apiKey: number; apiVersion: number; apiName: string; encode: () => Promise<unknown> };
    response: {
      decode: (payload: Buffer) => Promise<ProduceResponse>;
      parse: (data: ProduceResponse) => Promise<ProduceResponse>;
    };
  }
  export interface ProduceResponse {
    topics: { topicName: string; partitions: { partition: number; errorCode: number; baseOffset: string }[] }[];
  }
  /** A connection to one broker; its queue pairs responses with requests by correlation id. */
  export interface Connection {
    sasl: unknown;
    clientId: string;
    socket: { write(bytes: Buffer): boolean };
    isAuthenticated(): boolean;
    failIfNotConnected(): void;
    nextCorrelationId(): number;
    requestQueue: {
      push(request: {
        entry: {
          apiKey: number;
          apiName: string;
          apiVersion: number;
          correlationId: number;
          resolve: (answer: { payload: Buffer }) => void;
          reject: (error: Error) => void;
        };
        expectResponse: boolean;
        sendRequest: () => void;
      }): void;
    };
  }
  export interface Broker {
    lookupRequest(apiKey: number, definition: unknown): (args: object) => ProduceProtocol;
    connectionPool: {
      send(protocol: ProduceProtocol): Promise<ProduceResponse>;
      getConnection(): Promise<Connection>;
    };
    initProducerId(args: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  }
  export default class Cluster {
    constructor(options: object);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    addMultipleTargetTopics(topics: string[]): Promise<void>;
    refreshMetadata(): Promise<void>;
    findTopicPartitionMetadata(topic: string): PartitionMetadata[];
    findBroker(args: { nodeId: number }): Promise<Broker>;
    findControllerBroker(): Promise<Broker>;
  }
}

declare module 'kafkajs/src/loggers/index.js' {
  const loggers: {
    createLogger(options: { level: number; logCreator: () => () => void }): unknown;
    LEVELS: { NOTHING: number };
  };
  export default loggers;
}

declare module 'kafkajs/src/network/socketFactory.js' {
  export default function socketFactory(): unknown;
}

declare module 'kafkajs/src/protocol/requests/produce/index.js' {
  const definition: unknown;
  export default definition;
}

declare module 'kafkajs/src/protocol/error.js' {
  const errors: { createErrorFromCode(code: number): Error & { retriable: boolean; type: string } };
  export default errors;
}
