// The kafkajs internals pbx's producer relies on (src/clients/kafkajs-internals.ts): their shape in the
// installed kafkajs, what a changed kafkajs is told, and the produce path's wait for a broker's throttle time,
// on kafkajs's own request queue with a socket that records what is written and when.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifyError } from '../../src/cli/errors';
import {
  importKafkajsModules,
  kafkajsShapeProblems,
  KafkajsChangedError,
  loadBatchMemberships,
  loadFetchInternals,
  loadProducerInternals,
  produceOn,
  produceResponse,
  REQUEST_HEADROOM,
  type Broker,
  type Connection,
  type KafkajsModules,
} from '../../src/clients/kafkajs-internals';
import { BufferPool, RecordBatchBuilder } from '../../src/clients/record-batch';

let modules: KafkajsModules;
beforeAll(async () => {
  modules = await importKafkajsModules();
});

type Constructor = new (...args: never[]) => object;

/** A subclass of a kafkajs class whose prototype hides `method`, as a kafkajs that renamed it would. */
function without(base: unknown, method: string): Constructor {
  const Changed = class extends (base as Constructor) {};
  Object.defineProperty(Changed.prototype, method, { value: undefined });
  return Changed;
}

describe('the kafkajs internals pbx relies on', () => {
  it('are all in the installed kafkajs, in the shape pbx uses', async () => {
    // On failure the list says which module and which function or property moved.
    expect(await kafkajsShapeProblems(modules)).toEqual([]);
  });

  it('name the module and the property that moved when kafkajs differs', async () => {
    const Connection = modules.connection as Constructor;
    const changed: KafkajsModules = {
      ...modules,
      cluster: without(modules.cluster, 'findBroker'),
      connection: class extends Connection {
        constructor(...args: never[]) {
          super(...args);
          Object.assign(this, { requestQueue: { push: () => undefined } });
        }
      },
      produce: {
        ...(modules.produce as object),
        protocol: ({ version }: { version: number }) =>
          version === 7 ? undefined : (modules.produce as { protocol: (v: object) => unknown }).protocol({ version }),
      },
      errors: {},
    };
    expect(await kafkajsShapeProblems(changed)).toEqual([
      'kafkajs/src/cluster/index.js: Cluster#findBroker is missing, not a function',
      'kafkajs/src/protocol/error.js: createErrorFromCode is missing, not a function',
      'kafkajs/src/protocol/requests/produce/index.js: protocol({ version: 7 }) is missing, not a function',
      'kafkajs/src/protocol/requests/index.js: lookup(versions)(0, produce) throws TypeError: requests.lookup(...)(...) is not a function',
      'kafkajs/src/network/connection.js: new Connection(…).requestQueue.maybeThrottle is missing, not a function',
    ]);
  });

  it('notices a produce response decoder that no longer gives the throttle time', async () => {
    type Decode = (payload: Buffer) => Promise<object>;
    type Make = (args: object) => { request: object; response: { decode: Decode } };
    const produce = modules.produce as { versions: string[]; protocol: (v: { version: number }) => Make };
    const changed = {
      ...modules,
      produce: {
        versions: produce.versions,
        protocol:
          ({ version }: { version: number }) =>
          (args: object) => {
            const made = produce.protocol({ version })(args);
            const decode = async (payload: Buffer) => ({
              ...(await made.response.decode(payload)),
              clientSideThrottleTime: 0,
            });
            return { ...made, response: { ...made.response, decode } };
          },
      },
    };
    expect(await kafkajsShapeProblems(changed)).toEqual(
      [6, 7].map(
        (v) =>
          `kafkajs/src/protocol/requests/produce/index.js: protocol({ version: ${v} })(…).response.decode does not give the throttle time as clientSideThrottleTime`,
      ),
    );
  });

  it('stop a producer from connecting with a bug report that lists them, not a TypeError later', async () => {
    const changed = { ...modules, broker: without(modules.broker, 'initProducerId') };
    const error = await loadProducerInternals({ brokers: ['127.0.0.1:9'] }, changed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkajsChangedError);
    expect((error as Error).message).toBe(
      "pbx's producer relies on kafkajs 2.2.4's internals, and the kafkajs it runs with differs:\n" +
        '  - kafkajs/src/broker/index.js: Broker#initProducerId is missing, not a function',
    );
    expect(classifyError(error).bug).toBe(error); // exit 70, "Error (bug in pbx)"
  });

  it('stop the figures reader the same way when a broker no longer fetches', async () => {
    const changed = { ...modules, broker: without(modules.broker, 'fetch') };
    const error = await loadFetchInternals({ brokers: ['127.0.0.1:9'] }, changed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkajsChangedError);
    expect((error as Error).message).toContain('kafkajs/src/broker/index.js: Broker#fetch is missing, not a function');
  });
});

describe("a consumer's batches", () => {
  it('each carry the group membership their fetch was sent under, though the group moved on meanwhile', async () => {
    // A consumer group whose fetch takes a while, during which the member joins a new generation (with several
    // brokers, another broker's fetch rejoins the group after a leader moved).
    class Group {
      memberId = 'member-1';
      generationId = 4;
      fetch(): Promise<object[]> {
        const batches = [{ partition: 0 }, { partition: 1 }];
        this.generationId = 5;
        return Promise.resolve(batches);
      }
    }
    const membershipOf = await loadBatchMemberships({ ...modules, consumerGroup: Group });
    const group = new Group();
    const fetched = await group.fetch();
    expect(fetched.map(membershipOf)).toEqual([
      { memberId: 'member-1', generationId: 4 },
      { memberId: 'member-1', generationId: 4 },
    ]);
    expect((await group.fetch()).map(membershipOf)).toEqual([
      { memberId: 'member-1', generationId: 5 },
      { memberId: 'member-1', generationId: 5 },
    ]);
    expect(membershipOf({ partition: 0 })).toBeUndefined();
  });
});

describe("the produce path's wait for a broker's throttle time (quotas)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * A broker of produce `version` on a kafkajs request queue: each frame written is recorded with the (fake) time,
   * and `answer` gives it kafkajs's way of receiving the broker's response.
   */
  function brokerOf(version: number) {
    const Connection = modules.connection as new (options: object) => Connection;
    const real = new Connection({ host: '127.0.0.1', port: 9, logger: silentLogger(), requestTimeout: 30_000 });
    const writes: { at: number; correlationId: number; frame: Buffer }[] = [];
    let correlationId = 0;
    const connection: Connection = {
      sasl: null,
      clientId: 'pbx-test',
      socket: {
        write: (frame) => writes.push({ at: Date.now(), correlationId: frame.readInt32BE(8), frame }) > 0,
      },
      isAuthenticated: () => true,
      failIfNotConnected: () => undefined,
      nextCorrelationId: () => correlationId++,
      requestQueue: real.requestQueue,
    };
    const lookup = (modules.requests as { lookup: (versions: object) => Broker['lookupRequest'] }).lookup;
    const broker = {
      lookupRequest: lookup({ 0: { minVersion: 0, maxVersion: version } }),
      connectionPool: { getConnection: () => Promise.resolve(connection), send: () => Promise.reject(new Error()) },
      initProducerId: () => Promise.reject(new Error()),
    } satisfies Broker;
    const answer = (index: number, throttle: number) => {
      const payload = produceResponse(version, { partition: 3, baseOffset: BigInt(index * 10), throttle });
      const queue = real.requestQueue as unknown as { fulfillRequest(r: object): void };
      queue.fulfillRequest({ correlationId: writes[index]!.correlationId, payload, size: payload.length });
    };
    return { broker, writes, answer };
  }

  function silentLogger(): unknown {
    const loggers = modules.loggers as { createLogger: (options: object) => unknown; LEVELS: { NOTHING: number } };
    return loggers.createLogger({ level: loggers.LEVELS.NOTHING, logCreator: () => () => undefined });
  }

  const builder = new RecordBatchBuilder(new BufferPool(REQUEST_HEADROOM + 4096, 4), REQUEST_HEADROOM);
  function request() {
    builder.add(null, '{"review":1}', [], 1_700_000_000_000);
    const batch = builder.finish({ producerId: 1n, producerEpoch: 0, baseSequence: 0 });
    return { nodeId: 1, topic: 't', partition: 3, batch };
  }

  it('from produce version 6 on, sends nothing more to the broker until its throttle time is up (KIP-219)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { broker, writes, answer } = brokerOf(7);
    const first = produceOn(broker, modules.produce, request());
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(1);
    // The frame: produce (0), version 7, then the batch as built, unchanged.
    const { frame } = writes[0]!;
    expect([frame.readInt16BE(4), frame.readInt16BE(6), frame.readInt32BE(0)]).toEqual([0, 7, frame.length - 4]);
    answer(0, 500);
    expect(await first).toMatchObject({ errorCode: 0, baseOffset: '0' });

    const sentAt = Date.now();
    const second = produceOn(broker, modules.produce, request());
    await vi.advanceTimersByTimeAsync(499);
    expect(writes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toHaveLength(2);
    expect(writes[1]!.at - sentAt).toBe(500);
    answer(1, 0);
    expect(await second).toMatchObject({ errorCode: 0, baseOffset: '10' });
    // No throttle in the answer: the next request goes at once.
    void produceOn(broker, modules.produce, request());
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(3);
  });

  it('before version 6, sends at once: the broker itself delayed its answer by the throttle time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { broker, writes, answer } = brokerOf(5);
    const first = produceOn(broker, modules.produce, request());
    await vi.advanceTimersByTimeAsync(0);
    answer(0, 500);
    await first;
    void produceOn(broker, modules.produce, request());
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(2);
    expect(writes[1]!.frame.readInt16BE(6)).toBe(5);
  });
});
