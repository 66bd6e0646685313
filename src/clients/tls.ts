/**
 * TLS to a service, as Node's `tls.connect` takes it (and so kafkajs, cassandra-driver and ioredis): `{}` trusts
 * the system's CAs; `ca` holds PEM text already read, so that clients read no files of their own.
 */
export interface TlsSettings {
  ca?: string[];
  /** false accepts any certificate (a test cluster's self-signed one); Node's default is true. */
  rejectUnauthorized?: boolean;
}
