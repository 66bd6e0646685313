// The Cassandra sink: each value an INSERT (an upsert) of its fields into the columns of the same name, so writing a
// batch again after a crash rewrites the same rows. See ../README.md for what it guarantees.
import type { Client } from 'cassandra-driver';
import { UserError } from '../../cli/errors';
import { createCassandraClient, type CassandraEndpoint } from '../../clients/cassandra';
import type { SinkSpec } from '../api';
import { insertCql, rowOf, type ColumnType, type Row, type TableShape } from './cassandra-values';
import { SinkDownError, SinkRecordError, ValueProblem, type RecordFailure } from './errors';
import type { SinkWrite, SinkWriter } from './types';

type CassandraSinkSpec = Extract<SinkSpec, { kind: 'cassandra' }>;
type Driver = typeof import('cassandra-driver');

export interface CassandraSinkOptions {
  /** How long one write may wait for its acknowledgement before the sink counts as down (ms). */
  timeoutMs?: number;
  /** Writes in flight at once (not a logged BATCH: those cost a coordinator round and are for atomicity, not speed). */
  concurrency?: number;
}

/** Connects, reads the table's columns and returns a writer; a table that does not exist is a UserError. */
export async function openCassandraSink(
  spec: CassandraSinkSpec,
  endpoint: CassandraEndpoint,
  options: CassandraSinkOptions = {},
): Promise<SinkWriter> {
  const name = `cassandra ${spec.keyspace}.${spec.table}`;
  const driver = await import('cassandra-driver');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = await createCassandraClient(endpoint, {
    socketOptions: { connectTimeout: Math.min(timeoutMs, 5000), readTimeout: timeoutMs },
    // The driver's default waits up to 10 minutes between tries at a node that went away: the runtime's retries would
    // meet NoHostAvailable long after Cassandra is back.
    policies: { reconnection: new driver.policies.reconnection.ExponentialReconnectionPolicy(500, 5000, true) },
  });
  try {
    await client.connect().catch((error: unknown) => {
      throw refusedOrDown(driver, name, endpoint, error);
    });
    const shape = await describeTable(driver, client, spec);
    return cassandraWriter({ driver, client, shape, name, concurrency: options.concurrency ?? 64 });
  } catch (error) {
    await client.shutdown().catch(() => {});
    throw error;
  }
}

/** The table's columns by type name, its primary key; refuses a table pbx cannot upsert into. */
async function describeTable(driver: Driver, client: Client, spec: CassandraSinkSpec): Promise<TableShape> {
  // Unquoted CQL names are lower case: cassandra('Reviews.PerHour') means reviews.perhour unless that is absent.
  const keyspace = client.metadata.keyspaces[spec.keyspace] ? spec.keyspace : spec.keyspace.toLowerCase();
  const table =
    (await client.metadata.getTable(keyspace, spec.table)) ??
    (await client.metadata.getTable(keyspace, spec.table.toLowerCase()));
  if (!table) throw missingTable(spec, Boolean(client.metadata.keyspaces[keyspace]));
  const names = new Map(Object.entries(driver.types.dataTypes).map(([n, code]) => [code as unknown, n]));
  const typeOf = (type: { code: number; info?: unknown }): ColumnType => {
    const name = names.get(type.code) ?? `type ${type.code}`;
    const info = type.info;
    if ((name === 'list' || name === 'set') && info && typeof info === 'object' && 'code' in info) {
      return { name, args: [typeOf(info as { code: number })] };
    }
    if (name === 'map' && Array.isArray(info)) return { name, args: info.map((t) => typeOf(t as { code: number })) };
    return { name };
  };
  const columns = table.columns.map((c) => ({ name: c.name, type: typeOf(c.type) }));
  const counters = columns.filter((c) => c.type.name === 'counter').map((c) => c.name);
  if (counters.length > 0) {
    throw new UserError(
      `${spec.keyspace}.${spec.table} has counter columns (${counters.join(', ')}): pbx cannot write it.`,
      {
        code: 'SINK_TABLE_UNSUITABLE',
        hint:
          'A counter only takes increments (c = c + 1), and an increment written again after a crash counts twice. ' +
          'pbx writes absolute values (an upsert per result), so a replay rewrites the same rows.',
        nextSteps: [`Use a bigint column instead (the pipeline's count or sum is already the total).`],
      },
    );
  }
  const primaryKey = [...table.partitionKeys, ...table.clusteringKeys].map((c) => c.name);
  return { keyspace, table: table.name, columns, primaryKey };
}

function missingTable(spec: CassandraSinkSpec, keyspaceExists: boolean): UserError {
  const { keyspace, table } = spec;
  const createKeyspace = `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};`;
  const createTable = `CREATE TABLE IF NOT EXISTS ${keyspace}.${table} (key text, window_start timestamp, window_end timestamp, count bigint, PRIMARY KEY (key, window_start));`;
  return new UserError(
    keyspaceExists
      ? `Cassandra has no table ${keyspace}.${table} to write to.`
      : `Cassandra has no keyspace ${keyspace} (for the table ${keyspace}.${table}).`,
    {
      code: 'SINK_TABLE_MISSING',
      hint:
        'The sink writes each value field to the column of the same name; the primary key columns must be fields of every value. ' +
        `For a windowed count, for example: ${keyspaceExists ? '' : `${createKeyspace} `}${createTable}`,
      nextSteps: [
        'Create it with cqlsh, or put the statements in a file listed under services.cassandra.schema in pbx.yaml (pbx up applies it).',
      ],
    },
  );
}

function cassandraWriter(options: {
  driver: Driver;
  client: Client;
  shape: TableShape;
  name: string;
  concurrency: number;
}): SinkWriter {
  const { driver, client, shape, name, concurrency } = options;
  const queries = new Map<string, string>();
  const ignored = new Set<string>();
  const warnings: string[] = [];
  const execution = { prepare: true, isIdempotent: true, consistency: driver.types.consistencies.localQuorum };

  const noteIgnored = (row: Row) => {
    for (const field of row.ignored) {
      if (ignored.has(field)) continue;
      ignored.add(field);
      warnings.push(`${name}: values have a field ${field} with no column of that name; it is not written.`);
    }
  };
  const writeOne = async (write: SinkWrite, failures: Array<RecordFailure & { index: number }>, index: number) => {
    let row: Row;
    try {
      row = rowOf(write.value, shape);
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      failures.push({ write, reason: error.message, index });
      return;
    }
    noteIgnored(row);
    const key = row.columns.join('\0');
    let query = queries.get(key);
    if (!query) queries.set(key, (query = insertCql(shape, row.columns)));
    try {
      await client.execute(query, row.values, execution);
    } catch (error) {
      if (!isValueRefused(driver, error)) throw error;
      failures.push({ write, reason: (error as Error).message, index });
    }
  };

  return {
    name,
    async write(batch) {
      const failures: Array<RecordFailure & { index: number }> = [];
      try {
        await forEachLimited(batch, concurrency, (write, index) => writeOne(write, failures, index));
      } catch (error) {
        throw new SinkDownError(name, describe(error), { cause: error });
      }
      if (failures.length > 0) {
        failures.sort((a, b) => a.index - b.index);
        throw new SinkRecordError(
          name,
          failures.map(({ write, reason }) => ({ write, reason })),
        );
      }
    },
    takeWarnings: () => warnings.splice(0),
    close: () => client.shutdown(),
  };
}

/** Runs fn over items with at most `limit` in flight; stops starting new ones after the first failure, and rethrows it. */
async function forEachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}

/**
 * Cassandra refused this value itself (the driver could not encode it, or the server found it invalid, e.g. an empty
 * partition key): writing it again fails the same way. A table or column gone since the sink opened is not the value's
 * fault: that, and everything else (no host, time-outs, overload), is the sink being down.
 */
function isValueRefused(driver: Driver, error: unknown): boolean {
  if (error instanceof TypeError) return true;
  if (!(error instanceof driver.errors.ResponseError)) return false;
  const { invalid } = driver.types.responseErrorCodes;
  return (
    error.code === (invalid as number) &&
    !/unconfigured table|undefined column|unknown identifier|keyspace/i.test(error.message)
  );
}

/** A refused login is the user's to fix; anything else when connecting is the sink being down (retried). */
function refusedOrDown(driver: Driver, name: string, endpoint: CassandraEndpoint, error: unknown): Error {
  const inner =
    error instanceof driver.errors.NoHostAvailableError
      ? Object.values(error.innerErrors as Record<string, unknown>)
      : [];
  const refusal = [error, ...inner].find((e) => e instanceof driver.errors.AuthenticationError) as Error | undefined;
  if (refusal) {
    return new UserError(`Cassandra at ${endpoint.contactPoints.join(', ')} refused pbx: ${refusal.message}`, {
      code: 'SINK_REFUSED',
      nextSteps: ['Check services.cassandra.external in pbx.yaml (credentials, TLS) against the cluster.'],
    });
  }
  return new SinkDownError(name, `cannot connect to ${endpoint.contactPoints.join(', ')}: ${describe(error)}`, {
    cause: error,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
