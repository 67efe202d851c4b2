import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { isKafkaError, isUnknownTopic } from '../../../src/console/kafka-errors.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs as unknown as typeof import('kafkajs');

const unknownTopic = () =>
  new KafkaJSProtocolError({ message: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as never);

test('an unknown topic is recognised by its kafkajs type, also when wrapped by the retrier', () => {
  assert.equal(isUnknownTopic(unknownTopic()), true);
  assert.equal(isUnknownTopic(new KafkaJSNumberOfRetriesExceeded(unknownTopic(), { retryCount: 5, retryTime: 100 })), true);
  // A message that merely reads alike is not it.
  assert.equal(isUnknownTopic(new Error('topic not found UNKNOWN_TOPIC_OR_PARTITION')), false);
  assert.equal(isUnknownTopic(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092')), false);
  assert.equal(isKafkaError(new KafkaJSConnectionError('refused')), true);
  assert.equal(isKafkaError(new TypeError('x is undefined')), false);
});
