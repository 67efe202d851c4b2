// Each start-up step's failure says what failed: an outage only when the broker did not answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { MeterError } from '../../../src/cli/errors.js';
import { startUpError, type StartContext } from '../../../src/worker/start-up-errors.js';

type Ctor = new (...args: never[]) => Error;
const K = kafkajs as unknown as Record<string, Ctor>;
const make = (name: string, ...args: unknown[]) => new (K[name] as unknown as new (...a: unknown[]) => Error)(...args);
const protocol = (type: string, message = `${type.toLowerCase()} said the broker`) => make('KafkaJSProtocolError', { type, message, code: 1 });

const ctx: StartContext = {
  connection: { brokers: ['kafka-1:9092'], clientId: 'test' },
  topic: 'usage',
  dlqTopic: 'usage.dlq',
  group: 'billing',
  partitions: 3,
  sessionTimeoutMs: 3000,
};

const oneLine = (e: MeterError) => assert.equal(e.message.split('\n').length, 1, e.message);

test('a broker that does not answer is "cannot reach", naming the step after the first', async () => {
  const refused = make('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 10.0.0.1:9092', { broker: 'kafka-1:9092', code: 'ECONNREFUSED' });
  const atConnect = await startUpError('connect', make('KafkaJSNumberOfRetriesExceeded', refused, { retryCount: 5, retryTime: 100 }), ctx);
  assert.match(atConnect.message, /^cannot reach Kafka at kafka-1:9092: .*ECONNREFUSED.*; start one with `meter kafka start` or pass --brokers$/);
  assert.equal(atConnect.exitCode, 1);
  const atJoin = await startUpError('join', make('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator'), ctx);
  assert.match(atJoin.message, /^cannot reach Kafka at kafka-1:9092 while joining group billing: Failed to find group coordinator/);
  oneLine(atJoin);
});

test('refusals, a bad session timeout and a topic the broker will not create are not outages', async () => {
  const cases: [Parameters<typeof startUpError>[0], Error, RegExp, number][] = [
    ['join', protocol('GROUP_AUTHORIZATION_FAILED'), /^Kafka at kafka-1:9092 does not let this client join group billing \(GROUP_AUTHORIZATION_FAILED\): grant .* Read on the group/, 2],
    ['join', protocol('TOPIC_AUTHORIZATION_FAILED'), /does not let this client read topic usage \(TOPIC_AUTHORIZATION_FAILED\)/, 2],
    ['join', protocol('INVALID_SESSION_TIMEOUT'), /^--session-timeout 3: Kafka at kafka-1:9092 allows only session timeouts between its group\.min\.session\.timeout\.ms/, 2],
    [
      'topic',
      make('KafkaJSAggregateError', 'Topic creation errors', [make('KafkaJSCreateTopicError', { type: 'TOPIC_AUTHORIZATION_FAILED', message: 'Not authorized', code: 29 }, 'usage')]),
      /does not let this client describe or create topic usage \(TOPIC_AUTHORIZATION_FAILED\): create it \(3 partitions\)/,
      2,
    ],
    ['dlq-topic', protocol('CLUSTER_AUTHORIZATION_FAILED'), /create topic usage\.dlq \(CLUSTER_AUTHORIZATION_FAILED\): create it \(1 partitions\)/, 2],
    ['topic', protocol('INVALID_REPLICATION_FACTOR', 'Replication factor: 3 larger than available brokers: 1.'), /^Kafka at kafka-1:9092 would not create topic usage \(INVALID_REPLICATION_FACTOR: Replication factor: 3 larger than available brokers: 1\.\): create it yourself with 3 partitions/, 1],
    ['topic', protocol('INVALID_TOPIC_EXCEPTION'), /^--topic: Kafka at kafka-1:9092 does not accept "usage" as a topic name/, 2],
    ['join', protocol('UNKNOWN_MEMBER_ID', 'The coordinator is not aware of this member'), /^joining group billing on Kafka at kafka-1:9092 failed \(UNKNOWN_MEMBER_ID\): The coordinator is not aware of this member$/, 1],
    ['producer', new Error('something else'), /^connecting the dead-letter producer on Kafka at kafka-1:9092 failed: something else$/, 1],
  ];
  for (const [step, error, pattern, exitCode] of cases) {
    const e = await startUpError(step, error, ctx);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /cannot reach/);
    assert.equal(e.exitCode, exitCode, e.message);
    oneLine(e);
  }
});

test('a refused login at a later step is the set-up error; a MeterError passes through', async () => {
  const sasl = await startUpError('join', make('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed'), {
    ...ctx,
    connection: { ...ctx.connection, sasl: { mechanism: 'scram-sha-512', username: 'meter', password: 'x' } },
  });
  assert.match(sasl.message, /refused the SASL login of user "meter"/);
  assert.equal(sasl.exitCode, 2);
  const own = new MeterError('already said');
  assert.equal(await startUpError('topic', own, ctx), own);
});
