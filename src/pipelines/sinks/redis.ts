// The Redis sink: a batch's commands (redis-commands.ts) in one MULTI/EXEC, one round trip, applied together.
// See ../README.md for what each type guarantees.
import type { Redis } from 'ioredis';
import { UserError } from '../../cli/errors';
import { createRedisClient, type RedisEndpoint } from '../../clients/redis';
import type { SinkSpec } from '../api';
import { SinkDownError, SinkRecordError, ValueProblem, type RecordFailure } from './errors';
import { commandsFor, type RedisCommand } from './redis-commands';
import type { SinkWrite, SinkWriter } from './types';

type RedisSinkSpec = Extract<SinkSpec, { kind: 'redis' }>;

export interface RedisSinkOptions {
  /** How long a batch may wait for its replies before the sink counts as down (ms). */
  timeoutMs?: number;
}

/**
 * Replies that say Redis cannot take writes now (out of memory, loading its data, a replica, a script running), not
 * that this value is wrong: the batch is retried. Any other error reply (WRONGTYPE, say) is the value's.
 */
const NOT_NOW = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|MISCONF|NOAUTH|NOPERM|EXECABORT)\b/;
const REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password/i;

/** Connects and returns a writer; a Redis that refuses pbx's credentials is a UserError, one that is down a SinkDownError. */
export async function openRedisSink(
  spec: RedisSinkSpec,
  endpoint: RedisEndpoint,
  options: RedisSinkOptions = {},
): Promise<SinkWriter> {
  const name = `redis ${spec.type}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // No offline queue and no retry per command: a write while Redis is away fails at once (the runtime retries the
  // batch); the client itself keeps reconnecting in the background.
  const client = await createRedisClient(endpoint, {
    connectTimeout: Math.min(timeoutMs, 5000),
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const why = lastError ?? (error as Error);
    const where = new URL(endpoint.url).host;
    if (REFUSED.test(why.message)) {
      throw new UserError(`Redis at ${where} refused pbx: ${why.message}`, {
        code: 'SINK_REFUSED',
        nextSteps: ['Check services.redis.external in pbx.yaml (the URL, its user and password) against the server.'],
      });
    }
    throw new SinkDownError(name, `cannot connect to ${where}: ${why.message}`, { cause: why });
  }
  return redisWriter(spec, client, name);
}

function redisWriter(spec: RedisSinkSpec, client: Redis, name: string): SinkWriter {
  return {
    name,
    async write(batch) {
      const failures: RecordFailure[] = [];
      const planned = planBatch(spec, batch, failures);
      const replies = planned.length > 0 ? await execute(client, name, planned) : [];
      let at = 0;
      for (const { write, commands } of planned) {
        const own = replies.slice(at, (at += commands.length));
        const refused = own.findIndex(([error]) => error);
        if (refused >= 0) {
          failures.push({ write, reason: `Redis refused ${commands[refused]![0]}: ${own[refused]![0]!.message}` });
        }
      }
      if (failures.length > 0) {
        const order = new Map(batch.map((write, index) => [write, index]));
        failures.sort((a, b) => order.get(a.write)! - order.get(b.write)!);
        throw new SinkRecordError(name, failures);
      }
    },
    takeWarnings: () => [],
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** Each write's commands; a value with no commands (its key function threw, say) goes to `failures`. */
function planBatch(
  spec: RedisSinkSpec,
  batch: SinkWrite[],
  failures: RecordFailure[],
): Array<{ write: SinkWrite; commands: RedisCommand[] }> {
  // A stream entry's position counts the values one record gave before it (a flatMap's n-th output).
  const seen = new Map<string, number>();
  const planned: Array<{ write: SinkWrite; commands: RedisCommand[] }> = [];
  for (const write of batch) {
    let nth = 0;
    if (spec.type === 'stream') {
      const { topic, partition, offset } = write.record;
      const id = `${topic}/${partition}/${offset}`;
      nth = seen.get(id) ?? 0;
      seen.set(id, nth + 1);
    }
    try {
      planned.push({ write, commands: commandsFor(spec, write, nth) });
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      failures.push({ write, reason: error.message });
    }
  }
  return planned;
}

/** The batch in one MULTI/EXEC: every reply, or SinkDownError when Redis is unreachable or cannot take writes now. */
async function execute(
  client: Redis,
  name: string,
  planned: Array<{ commands: RedisCommand[] }>,
): Promise<Array<[Error | null, unknown]>> {
  const transaction = client.multi();
  for (const { commands } of planned)
    for (const [command, ...args] of commands) void transaction.call(command, ...args);
  let replies: Array<[Error | null, unknown]> | null;
  try {
    replies = await transaction.exec();
  } catch (error) {
    const queued = (error as { previousErrors?: Error[] }).previousErrors ?? [];
    const why = queued.find((e) => NOT_NOW.test(e.message)) ?? (error as Error);
    throw new SinkDownError(name, why.message, { cause: error });
  }
  if (!replies) throw new SinkDownError(name, 'the transaction was discarded');
  const notNow = replies.find(([error]) => error && NOT_NOW.test(error.message));
  if (notNow) throw new SinkDownError(name, notNow[0]!.message, { cause: notNow[0] });
  return replies;
}
