// pbx's DescribeLogDirs (src/clients/describe-log-dirs.ts) against bytes written here from Kafka's protocol guide
// (kafka.apache.org/protocol, "DescribeLogDirs API (Key: 35)", versions 0 and 1, non-flexible): a nullable array is
// an INT32 count (-1 for null), a STRING an INT16 length and UTF-8, a BOOLEAN one byte. Then the request as kafkajs
// frames and negotiates it, and what a changed kafkajs is told.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeLogDirsResponse,
  describeLogDirs,
  encodeLogDirsRequest,
  type LogDirsProtocol,
} from '../../src/clients/describe-log-dirs';
import { importKafkajsModules, kafkajsShapeProblems, type KafkajsModules } from '../../src/clients/kafkajs-internals';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe("pbx's DescribeLogDirs request body (versions 0 and 1)", () => {
  it('asks for every partition with a null topics array', () => {
    expect(encodeLogDirsRequest(null)).toEqual(hex('ffffffff'));
  });

  it('asks for the partitions of each topic', () => {
    const body = encodeLogDirsRequest([
      { topic: 'ab', partitions: [0, 3] },
      { topic: 'é', partitions: [] },
    ]);
    // topics: 2 · "ab" · partitions: 2 · 0 · 3 · "é" (2 UTF-8 bytes) · partitions: 0
    expect(body).toEqual(hex('00000002 0002 6162 00000002 00000000 00000003 0002 c3a9 00000000'));
  });
});

/**
 * throttle_time_ms 100 · results: 2 · [error 0 · "/d" · topics: 1 · "ab" · partitions: 2 · (0, size 4096, lag 0, not
 * future) (3, size 2^32 + 5, lag 7, future)] · [error 56 (KAFKA_STORAGE_ERROR) · "/e" · topics: 0]
 */
const ANSWER = hex(`
  00000064 00000002
  0000 0002 2f64 00000001 0002 6162 00000002
    00000000 0000000000001000 0000000000000000 00
    00000003 0000000100000005 0000000000000007 01
  0038 0002 2f65 00000000
`);

describe("pbx's DescribeLogDirs answer", () => {
  const logDirs = [
    {
      errorCode: 0,
      path: '/d',
      replicas: [
        { topic: 'ab', partition: 0, size: 4096, offsetLag: 0, isFuture: false },
        { topic: 'ab', partition: 3, size: 2 ** 32 + 5, offsetLag: 7, isFuture: true },
      ],
    },
    { errorCode: 56, path: '/e', replicas: [] },
  ];

  it('reads each directory, its error and its replicas with their sizes', () => {
    expect(decodeLogDirsResponse(ANSWER, 1)).toEqual({ throttleTime: 0, clientSideThrottleTime: 100, logDirs });
  });

  it('leaves the throttle to the broker in version 0 (it delayed its answer), to the client from version 1 (KIP-219)', () => {
    expect(decodeLogDirsResponse(ANSWER, 0)).toEqual({ throttleTime: 100, logDirs });
  });

  it('reads an answer with no directories (a client not allowed to describe the cluster)', () => {
    expect(decodeLogDirsResponse(hex('00000000 00000000'), 1).logDirs).toEqual([]);
  });

  it('says so when the answer is cut short', () => {
    expect(() => decodeLogDirsResponse(ANSWER.subarray(0, ANSWER.length - 3), 1)).toThrow(/cut short/);
  });
});

describe('DescribeLogDirs through kafkajs', () => {
  let modules: KafkajsModules;
  beforeAll(async () => {
    modules = await importKafkajsModules();
  });

  it("is framed by kafkajs's own request framing: its header, then pbx's body", async () => {
    const frame = modules.request as (args: object) => Promise<{ buffer: Buffer }>;
    const make = describeLogDirs.protocol({ version: 1 });
    const { request } = make({ query: [{ topic: 'ab', partitions: [1] }] });
    const { buffer } = await frame({ correlationId: 258, clientId: 'pbx', request });
    // size 29 · api key 35 · version 1 · correlation id 258 · client id "pbx" · the body
    expect(buffer).toEqual(hex('0000001d 0023 0001 00000102 0003 706278 00000001 0002 6162 00000001 00000001'));
  });

  it("is sent at the version kafkajs's lookup picks: the broker's best of 0 and 1", () => {
    const { lookup } = modules.requests as {
      lookup: (versions: object) => (apiKey: number, definition: object) => (args: object) => LogDirsProtocol;
    };
    const picked = (maxVersion: number) =>
      lookup({ 35: { minVersion: 0, maxVersion } })(35, describeLogDirs)({ query: null }).request.apiVersion;
    expect([picked(4), picked(1), picked(0)]).toEqual([1, 1, 0]);
    expect(() => lookup({})(35, describeLogDirs)).toThrow(/does not support/);
  });

  it("stops with the module that moved when kafkajs's framing or lookup changes", async () => {
    const changed: KafkajsModules = {
      ...modules,
      request: () => Promise.resolve({ buffer: Buffer.alloc(0) }),
      requests: { ...(modules.requests as object), lookup: () => () => () => ({ request: { apiVersion: 4 } }) },
    };
    const problems = await kafkajsShapeProblems(changed);
    expect(problems).toContain(
      'kafkajs/src/protocol/request.js: module.exports does not frame a request as its header and then what encode() gives',
    );
    expect(problems).toContain(
      "kafkajs/src/protocol/requests/index.js: lookup does not pick DescribeLogDirs version 1 from a broker's 0 to 4",
    );
  });
});
