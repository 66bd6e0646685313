import type { Client, DseClientOptions } from 'cassandra-driver';
import type { TlsSettings } from './tls';

/** Where a Cassandra cluster answers and how to talk to it: pbx's own, or an external one (credentials, TLS). */
export interface CassandraEndpoint {
  /** host:port of the contact points, as a client on this machine reaches them. */
  contactPoints: string[];
  localDataCenter: string;
  credentials?: { username: string; password: string };
  /** Absent: plaintext. */
  tls?: TlsSettings;
}

/** What differs between pbx's clients: how long they wait, whether they follow the cluster's schema, how soon they reconnect. */
export type CassandraClientOptions = Pick<DseClientOptions, 'socketOptions' | 'isMetadataSyncEnabled' | 'policies'>;

/** A cassandra-driver client for an endpoint, not yet connected; the driver loads only when one is made. */
export async function createCassandraClient(
  endpoint: CassandraEndpoint,
  options: CassandraClientOptions = {},
): Promise<Client> {
  const { Client, auth } = await import('cassandra-driver');
  const { credentials } = endpoint;
  return new Client({
    ...options,
    contactPoints: endpoint.contactPoints,
    localDataCenter: endpoint.localDataCenter,
    authProvider: credentials ? new auth.PlainTextAuthProvider(credentials.username, credentials.password) : undefined,
    sslOptions: endpoint.tls,
  });
}
