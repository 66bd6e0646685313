import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DseClientOptions } from 'cassandra-driver';
import type { ResolvedConfig } from '../config/load';
import { endpointOf } from '../services/endpoints';

/** cassandra-driver options for the project's Cassandra, pbx-run or external. */
export async function cassandraClientOptions(config: ResolvedConfig): Promise<DseClientOptions> {
  const external = config.services.cassandra.external;
  const { auth } = await import('cassandra-driver');
  const tls = external?.tls;
  return {
    contactPoints: endpointOf(config, 'cassandra').addresses,
    localDataCenter: external?.localDataCenter ?? 'datacenter1',
    authProvider:
      external?.username !== undefined
        ? new auth.PlainTextAuthProvider(external.username, external.password ?? '')
        : undefined,
    sslOptions:
      tls === undefined || tls === false
        ? undefined
        : tls === true
          ? {}
          : {
              rejectUnauthorized: tls.rejectUnauthorized,
              ca: tls.ca ? [readFileSync(resolve(config.projectDir, tls.ca), 'utf8')] : undefined,
            },
  };
}
