import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { ResolvedConfig } from '../config/load';
import { endpointOf } from '../services/endpoints';

/** kafkajs settings for the project's Kafka, pbx-run or external (SASL/TLS). */
export function kafkaClientConfig(config: ResolvedConfig, clientId: string): KafkaConfig {
  const external = config.services.kafka.external;
  const tls = external?.tls;
  return {
    clientId,
    brokers: endpointOf(config, 'kafka').addresses,
    ssl:
      tls === undefined || tls === false
        ? false
        : tls === true
          ? true
          : {
              rejectUnauthorized: tls.rejectUnauthorized,
              ca: tls.ca ? [readFileSync(resolve(config.projectDir, tls.ca), 'utf8')] : undefined,
            },
    sasl: external?.sasl
      ? ({
          mechanism: external.sasl.mechanism,
          username: external.sasl.username,
          password: external.sasl.password,
        } as SASLOptions)
      : undefined,
  };
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
