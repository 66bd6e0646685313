import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CassandraEndpoint } from '../clients/cassandra';
import type { KafkaEndpoint } from '../clients/kafka';
import type { RedisEndpoint } from '../clients/redis';
import type { TlsSettings } from '../clients/tls';
import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';
import { KAFKA_INTERNAL_PORT } from './kafka';
import { isExternal, nodesOf } from './catalog';
import type { ServiceNode } from './types';

/** Where a service answers: from the host, and (for pbx-run services) from containers on the pbx network. */
export interface Endpoint {
  service: ServiceName;
  external: boolean;
  /** host:port entries as a client on this machine uses them. */
  addresses: string[];
  /** host:port for other containers on the project's network (several, comma-separated, for several brokers). */
  internal?: string;
  url: string;
}

/** The host address clients use: the bind address, or loopback when bound to every interface. */
export function clientHost(config: ResolvedConfig): string {
  return config.bind === '0.0.0.0' ? '127.0.0.1' : config.bind;
}

/**
 * The endpoint of one service, managed or external (pure): every broker's address for Kafka, or with `node`, that node's
 * own (one of several brokers).
 */
export function endpointOf(config: ResolvedConfig, service: ServiceName, node?: ServiceNode): Endpoint {
  const host = clientHost(config);
  const { services } = config;
  const external = isExternal(config, service);
  switch (service) {
    case 'zookeeper': {
      const address = `${host}:${services.zookeeper.port}`;
      return { service, external, addresses: [address], internal: 'zookeeper:2181', url: `zookeeper://${address}` };
    }
    case 'kafka': {
      if (services.kafka.external) {
        const addresses = services.kafka.external.brokers;
        return { service, external, addresses, internal: undefined, url: `kafka://${addresses.join(',')}` };
      }
      // Consecutive host ports from services.kafka.port, one per broker; each broker's own name on the network.
      const brokers = node ? [node] : nodesOf(config, 'kafka');
      const addresses = brokers.map(({ index }) => `${host}:${services.kafka.port + index - 1}`);
      const internal = brokers.map(({ name }) => `${name}:${KAFKA_INTERNAL_PORT}`).join(',');
      return { service, external, addresses, internal, url: `kafka://${addresses.join(',')}` };
    }
    case 'cassandra': {
      const port = services.cassandra.port;
      const addresses = services.cassandra.external?.contactPoints ?? [`${host}:${port}`];
      const internal = external ? undefined : `cassandra:${port}`;
      return { service, external, addresses, internal, url: `cql://${addresses.join(',')}` };
    }
    case 'redis': {
      const url = services.redis.external?.url ?? `redis://${host}:${services.redis.port}`;
      const address = new URL(url).host;
      return { service, external, addresses: [address], internal: external ? undefined : 'redis:6379', url };
    }
  }
}

/** How pbx's clients reach the project's Kafka, pbx-run or external (SASL/TLS, the CA file read now). */
export function kafkaEndpoint(config: ResolvedConfig): KafkaEndpoint {
  const external = config.services.kafka.external;
  return {
    brokers: endpointOf(config, 'kafka').addresses,
    ...tlsOf(config, external?.tls),
    ...(external?.sasl ? { sasl: { ...external.sasl } } : {}),
  };
}

/** How pbx's clients reach the project's Cassandra, pbx-run or external (credentials, TLS). */
export function cassandraEndpoint(config: ResolvedConfig): CassandraEndpoint {
  const external = config.services.cassandra.external;
  return {
    contactPoints: endpointOf(config, 'cassandra').addresses,
    localDataCenter: external?.localDataCenter ?? 'datacenter1',
    ...(external?.username !== undefined
      ? { credentials: { username: external.username, password: external.password ?? '' } }
      : {}),
    ...tlsOf(config, external?.tls),
  };
}

/** How pbx's clients reach the project's Redis, pbx-run or external (rediss:// for TLS). */
export function redisEndpoint(config: ResolvedConfig): RedisEndpoint {
  return { url: endpointOf(config, 'redis').url };
}

/** pbx.yaml's `tls` of an external service as clients take it, its CA file (relative to pbx.yaml) read. */
function tlsOf(
  config: ResolvedConfig,
  tls: boolean | { ca?: string; rejectUnauthorized: boolean } | undefined,
): { tls?: TlsSettings } {
  if (tls === undefined || tls === false) return {};
  if (tls === true) return { tls: {} };
  return {
    tls: {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: [readFileSync(resolve(config.projectDir, tls.ca), 'utf8')] } : {}),
    },
  };
}

/** Connection settings other tools read, as environment variables (`pbx env`). */
export function connectionEnv(config: ResolvedConfig, services: ServiceName[]): Record<string, string> {
  const env: Record<string, string> = { PBX_PROJECT: config.name };
  for (const service of services) {
    const endpoint = endpointOf(config, service);
    switch (service) {
      case 'zookeeper':
        env.ZOOKEEPER_CONNECT = endpoint.addresses.join(',');
        break;
      case 'kafka': {
        env.KAFKA_BROKERS = endpoint.addresses.join(',');
        const ext = config.services.kafka.external;
        if (ext?.sasl) {
          env.KAFKA_SASL_MECHANISM = ext.sasl.mechanism;
          env.KAFKA_SASL_USERNAME = ext.sasl.username;
        }
        if (ext?.tls) env.KAFKA_TLS = 'true';
        break;
      }
      case 'cassandra': {
        env.CASSANDRA_CONTACT_POINTS = endpoint.addresses.join(',');
        const ext = config.services.cassandra.external;
        env.CASSANDRA_LOCAL_DC = ext?.localDataCenter ?? 'datacenter1';
        // The user name, as for Kafka; passwords stay in pbx.yaml (or the variables it reads them from).
        if (ext?.username) env.CASSANDRA_USERNAME = ext.username;
        break;
      }
      case 'redis':
        env.REDIS_URL = endpoint.url;
        break;
    }
  }
  return env;
}
