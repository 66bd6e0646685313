import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSProtocolError } from 'kafkajs';
import kafkajsProtocolErrors from 'kafkajs/src/protocol/error.js';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import { isAuthorizationFailure, kafkaClientConfig } from '../../src/clients/kafka';
import {
  collidingTopic,
  notOnEveryBroker,
  refusedName,
  topicChange,
  topicErrorsOf,
  topicNameProblem,
  topicRefusal,
  topicsNotLed,
  type TopicRequest,
} from '../../src/clients/topics';
import { parseConfigText, resolveConfig } from '../../src/config/load';
import { cassandraEndpoint, kafkaEndpoint, redisEndpoint } from '../../src/services/endpoints';

// kafkajs's private modules are typed `unknown` (src/clients/kafkajs-modules.d.ts): this one as the test uses it.
const protocolErrors = kafkajsProtocolErrors as { createErrorFromCode(code: number): Error };

/** kafkajs's error for a protocol error code, as its admin throws it for one topic. */
function kafkaError(code: number, topic?: string): Error & { type: string; topic?: string } {
  const error = new KafkaJSProtocolError(protocolErrors.createErrorFromCode(code)) as KafkaJSProtocolError & {
    topic?: string;
  };
  if (topic !== undefined) error.topic = topic;
  return error;
}
const INVALID_PARTITIONS = 37;
const TOPIC_AUTHORIZATION_FAILED = 29;

const request = (name: string, more: Partial<TopicRequest> = {}): TopicRequest => ({
  name,
  namedIn: '--topic',
  ...more,
});

describe('topic names', () => {
  it("refuses names Kafka refuses and Kafka's own topics, saying why", () => {
    expect(topicNameProblem('movie_reviews.v2-x')).toBeUndefined();
    expect(topicNameProblem('no spaces')).toContain('not a Kafka topic name');
    expect(topicNameProblem('..')).toContain('not a Kafka topic name');
    expect(topicNameProblem('x'.repeat(250))).toContain('not a Kafka topic name');
    expect(topicNameProblem('__consumer_offsets')).toContain("Kafka's own topic");
  });

  it('finds the topic a name collides with by "." and "_", and not the name itself', () => {
    expect(collidingTopic('my.events', ['other', 'my_events'])).toBe('my_events');
    expect(collidingTopic('my_events', ['my.events'])).toBe('my.events');
    expect(collidingTopic('my.events', ['my.events', 'my-events'])).toBeUndefined();
  });

  it("refuses a colliding name with Kafka's reason, the topic it collides with and where to rename it", () => {
    const refused = refusedName([request('dots.under')], new Set(['dots_under']));
    expect(refused).toBeInstanceOf(UserError);
    expect([refused!.code, refused!.exitCode]).toEqual(['TOPIC_REFUSED', 1]);
    expect(refused!.message).toContain('Topic dots.under would collide with topic dots_under, which exists');
    expect(refused!.nextSteps).toEqual(['Name it dots_under (--topic), or choose a name that differs otherwise.']);
  });

  it('refuses two requested names that collide with each other, and a reserved one, by the same code', () => {
    const both = refusedName([request('a.b'), request('a_b', { namedIn: '--dead-letter-topic' })], new Set());
    expect(both?.message).toContain('Topic a_b would collide with topic a.b, which is requested too');
    expect(both?.nextSteps[0]).toContain('(--dead-letter-topic)');
    const reserved = refusedName([request('__transaction_state')], new Set());
    expect([reserved?.code, reserved?.exitCode]).toEqual(['TOPIC_REFUSED', 1]);
    expect(refusedName([request('fine'), request('fine.too')], new Set(['other']))).toBeUndefined();
  });
});

describe('bringing an existing topic to a request', () => {
  const reconcile = (partitions: number, settings: Record<string, string> = {}) =>
    request('reviews', { namedIn: 'services.kafka.topics', partitions, settings, existing: 'reconcile' });

  it('adds partitions and sends the topic own settings again with the requested ones on top', () => {
    const change = topicChange(reconcile(4, { 'retention.ms': '3600000' }), 3, [
      { name: 'retention.ms', value: '604800000', own: false },
      { name: 'max.message.bytes', value: '2000000', own: true },
      { name: 'cleanup.policy', value: 'delete', own: false },
    ]);
    expect(change).toEqual({
      growTo: 4,
      settings: [
        { name: 'max.message.bytes', value: '2000000' },
        { name: 'retention.ms', value: '3600000' },
      ],
      changes: ['partitions 3 → 4', 'retention.ms 604800000 → 3600000'],
    });
  });

  it('changes nothing when the topic is as requested, and notes partitions Kafka cannot take away', () => {
    expect(
      topicChange(reconcile(2, { 'retention.ms': '1' }), 2, [{ name: 'retention.ms', value: '1', own: true }]),
    ).toEqual({ changes: [] });
    const fewer = topicChange(reconcile(2), 4, []);
    expect(fewer.changes).toEqual([]);
    expect(fewer.note).toContain('Kafka cannot take partitions away');
    expect(topicChange(reconcile(1, { 'segment.ms': '10' }), 1, []).changes).toEqual(['segment.ms (unset) → 10']);
  });
});

describe("Kafka's refusals", () => {
  it('unwraps the errors kafkajs gathers under "Topic creation errors", each with its topic', () => {
    const grouped = new KafkaJSAggregateError('Topic creation errors', [
      kafkaError(INVALID_PARTITIONS, 'a'),
      kafkaError(INVALID_PARTITIONS, 'b'),
    ]);
    expect(topicErrorsOf(grouped).map((e) => e.topic)).toEqual(['a', 'b']);
    const single = new Error('alone');
    expect(topicErrorsOf(single)).toEqual([single]);
  });

  it("words a refusal of the topic as TOPIC_REFUSED with Kafka's reason per topic and the caller's steps", () => {
    const grouped = new KafkaJSAggregateError('Topic creation errors', [kafkaError(INVALID_PARTITIONS, 'many')]);
    const refused = topicRefusal('create', grouped, 'many', ['Check --partitions.']) as UserError;
    expect(refused).toBeInstanceOf(UserError);
    expect([refused.code, refused.exitCode, refused.nextSteps]).toEqual(['TOPIC_REFUSED', 1, ['Check --partitions.']]);
    expect(refused.message).toBe('Kafka refused to create topic many: Number of partitions is invalid');
    const changed = topicRefusal('change', kafkaError(INVALID_PARTITIONS), 'reviews', []) as UserError;
    expect(changed.message).toMatch(/^Kafka refused to change topic reviews: /);
  });

  it('leaves a refusal of rights and a broker that does not answer to the caller, with the topic concerned', () => {
    const denied = new KafkaJSAggregateError('Topic creation errors', [
      kafkaError(INVALID_PARTITIONS, 'a'),
      kafkaError(TOPIC_AUTHORIZATION_FAILED, 'guarded'),
    ]);
    const passed = topicRefusal('create', denied, 'a, guarded', []) as Error & { topic?: string };
    expect(passed).not.toBeInstanceOf(UserError);
    expect(isAuthorizationFailure(passed)).toBe(true);
    expect(passed.topic).toBe('guarded');
    const down = new KafkaJSConnectionError('Connection error: ECONNREFUSED');
    expect(topicRefusal('create', down, 'a', [])).toBe(down);
    expect(isAuthorizationFailure(down)).toBe(false);
  });
});

describe('endpoints and client settings', () => {
  it('makes an external Kafka endpoint of pbx.yaml with SASL and the CA already read, and kafkajs settings of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-endpoint-'));
    writeFileSync(join(dir, 'ca.pem'), 'PEM');
    const text = `services:
  kafka: {external: {brokers: ['k:9093'], sasl: {mechanism: plain, username: u, password: p}, tls: {ca: ca.pem}}}
  cassandra: {external: {contactPoints: ['c:9042'], username: cu, tls: true}}
  redis: {external: {url: 'rediss://r:6380'}}
`;
    const config = resolveConfig(parseConfigText(text, join(dir, 'pbx.yaml')), join(dir, 'pbx.yaml'), dir);
    const endpoint = kafkaEndpoint(config);
    expect(endpoint).toEqual({
      brokers: ['k:9093'],
      tls: { rejectUnauthorized: true, ca: ['PEM'] },
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
    });
    expect(kafkaClientConfig(endpoint, { clientId: 'pbx-test', connectionTimeout: 10 })).toEqual({
      clientId: 'pbx-test',
      connectionTimeout: 10,
      brokers: ['k:9093'],
      ssl: { rejectUnauthorized: true, ca: ['PEM'] },
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
      logLevel: 0,
    });
    expect(cassandraEndpoint(config)).toEqual({
      contactPoints: ['c:9042'],
      localDataCenter: 'datacenter1',
      credentials: { username: 'cu', password: '' },
      tls: {},
    });
    expect(redisEndpoint(config)).toEqual({ url: 'rediss://r:6380' });
  });

  it("makes pbx's own Kafka a plaintext endpoint on the bind address", () => {
    const config = resolveConfig(parseConfigText('bind: 0.0.0.0\n', 'pbx.yaml'), 'pbx.yaml', '/nowhere');
    expect(kafkaEndpoint(config)).toEqual({ brokers: ['127.0.0.1:9092'] });
    expect(kafkaClientConfig(kafkaEndpoint(config), { clientId: 'x' }).ssl).toBe(false);
  });
});

describe('what a broker knows of topics just made', () => {
  const partition = (partitionId: number, leader: number) => ({
    partitionErrorCode: 0,
    partitionId,
    leader,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
  });

  it('lacks a topic it does not list, lists with no partition, or lists with a partition not led', () => {
    const metadata = [
      { topic: 'led', partitionMetadata: [partition(0, 1), partition(1, 3)] },
      { topic: 'leaderless', partitionMetadata: [partition(0, 2), partition(1, -1)] },
      { topic: 'empty', partitionMetadata: [] },
    ];
    expect(topicsNotLed(metadata, ['led', 'leaderless', 'empty', 'unknown'])).toEqual([
      'leaderless',
      'empty',
      'unknown',
    ]);
    expect(topicsNotLed(metadata, ['led'])).toEqual([]);
  });

  it('says which broker lacks which topics, and for how long it was waited for', () => {
    const behind = [
      { nodeId: 2, address: '127.0.0.1:9093', lacking: ['orders'] },
      { nodeId: 3, address: '127.0.0.1:9094', lacking: ['orders', 'orders-dlq'] },
    ];
    expect(notOnEveryBroker(behind, 30_000)).toBe(
      'not every broker knew the topics with a leader for each partition within 30 s: broker 2 (127.0.0.1:9093) lacks orders; broker 3 (127.0.0.1:9094) lacks orders, orders-dlq',
    );
  });
});
