import type { Kafka, KafkaConfig, RetryOptions, SASLOptions } from 'kafkajs';
import type { TlsSettings } from './tls';

/** Where a Kafka cluster answers and how to talk to it: pbx's own (plain) or an external one (SASL/TLS). */
export interface KafkaEndpoint {
  /** host:port of the bootstrap brokers, as a client on this machine reaches them. */
  brokers: string[];
  /** Absent: plaintext. */
  tls?: TlsSettings;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/** What differs between pbx's clients: who they are to the broker and how long they wait. */
export interface KafkaClientOptions {
  /** Names the client in the broker's logs and quotas: pbx-up, pbx-replay… */
  clientId: string;
  connectionTimeout?: number;
  requestTimeout?: number;
  retry?: RetryOptions;
}

// logLevel.NOTHING, written out so that building the settings does not load kafkajs: pbx reports problems itself.
const LOG_NOTHING = 0 as NonNullable<KafkaConfig['logLevel']>;

/** kafkajs settings for an endpoint (pure): every Kafka client pbx makes, BatchProducer's included, starts here. */
export function kafkaClientConfig(endpoint: KafkaEndpoint, options: KafkaClientOptions): KafkaConfig {
  return {
    ...options,
    brokers: endpoint.brokers,
    ssl: endpoint.tls ?? false,
    sasl: endpoint.sasl as SASLOptions | undefined,
    logLevel: LOG_NOTHING,
  };
}

/** A kafkajs client for an endpoint, with kafkajs loaded lazily and silent. */
export async function createKafka(endpoint: KafkaEndpoint, options: KafkaClientOptions): Promise<Kafka> {
  const { Kafka } = await loadKafkajs();
  return new Kafka(kafkaClientConfig(endpoint, options));
}

/** A refusal of pbx's rights on a topic, a group or the cluster (ACLs): nothing a retry or pbx can change. */
export function isAuthorizationFailure(error: unknown): boolean {
  return (error as { type?: string }).type?.endsWith('_AUTHORIZATION_FAILED') ?? false;
}

/** Loads kafkajs lazily with its logs silenced: pbx reports problems itself. */
export async function loadKafkajs(): Promise<typeof import('kafkajs')> {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  silenceNegativeTimeoutWarning();
  return import('kafkajs');
}

/**
 * kafkajs 2.2.4 schedules a timer at `-1 − now` (kafkajs issue #1751), which the runtime turns into 1 ms and
 * reports on stderr as a TimeoutNegativeWarning. Giving the runtime the 1 ms itself keeps stderr for pbx.
 */
function silenceNegativeTimeoutWarning(): void {
  const original = globalThis.setTimeout;
  if ((original as { pbxClamped?: boolean }).pbxClamped) return;
  const clamped = ((handler: () => void, timeout?: number, ...args: unknown[]) =>
    original(handler, typeof timeout === 'number' && timeout < 1 ? 1 : timeout, ...args)) as typeof setTimeout;
  Object.defineProperties(clamped, { ...Object.getOwnPropertyDescriptors(original), pbxClamped: { value: true } });
  globalThis.setTimeout = clamped;
}
