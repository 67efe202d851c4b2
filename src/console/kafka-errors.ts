// Recognising kafkajs errors by their types, not their messages. kafkajs wraps the error that made
// it give up (KafkaJSNumberOfRetriesExceeded and others carry it as `cause`), so each test looks
// along that chain.
import kafkajs from 'kafkajs';

// kafkajs is CommonJS and spreads its error classes into its exports, which Node cannot name for ESM.
const { KafkaJSError, KafkaJSProtocolError, KafkaJSTopicMetadataNotLoaded } = kafkajs as unknown as typeof import('kafkajs');

/** The error and what it wraps, outermost first. */
export function* errorChain(error: unknown): Generator<unknown> {
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/** The broker answered that the topic (or partition) does not exist: nothing to show yet, not an outage. */
export function isUnknownTopic(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e instanceof KafkaJSProtocolError && e.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    if (e instanceof KafkaJSTopicMetadataNotLoaded) return true;
  }
  return false;
}

/** Any error from kafkajs (a broker, connection or protocol problem), as opposed to a bug of ours. */
export const isKafkaError = (error: unknown): boolean => [...errorChain(error)].some((e) => e instanceof KafkaJSError);
