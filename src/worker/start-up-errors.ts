// What failed when the worker started, in one line that says what to do. Each step of the start-up
// (connecting, making sure the topics exist, connecting the DLQ producer, joining the group) fails in
// its own ways, and only some of them mean the broker is out of reach: a refused authorization, a
// session timeout outside the broker's range or a topic the broker will not create are not outages,
// and a message that says "cannot reach Kafka" sends the operator looking in the wrong place.
import { MeterError } from '../cli/errors.js';
import type { KafkaConnection } from '../kafka/client.js';
import { setupError } from '../kafka/problems.js';

export type StartStep = 'connect' | 'topic' | 'dlq-topic' | 'producer' | 'join';

export interface StartContext {
  connection: KafkaConnection;
  topic: string;
  dlqTopic: string;
  group: string;
  partitions: number;
  sessionTimeoutMs: number;
}

/** kafkajs error names that mean the broker (or the group's coordinator) did not answer. */
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
]);

/** The error, what it wraps (kafkajs keeps the first failure as `cause`) and an aggregate's parts. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  const visit = (e: unknown) => {
    if (!e || out.length >= 16 || out.includes(e)) return;
    out.push(e);
    visit((e as { cause?: unknown }).cause);
    const parts = (e as { errors?: unknown }).errors;
    if (Array.isArray(parts)) for (const part of parts) visit(part);
  };
  visit(error);
  return out;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

function doing(step: StartStep, ctx: StartContext): string {
  switch (step) {
    case 'connect':
      return 'connecting';
    case 'topic':
      return `making sure topic ${ctx.topic} exists`;
    case 'dlq-topic':
      return `making sure the dead-letter topic ${ctx.dlqTopic} exists`;
    case 'producer':
      return 'connecting the dead-letter producer';
    case 'join':
      return `joining group ${ctx.group}`;
  }
}

/** The one-line error for a failed start-up step. */
export async function startUpError(step: StartStep, error: unknown, ctx: StartContext): Promise<MeterError> {
  if (error instanceof MeterError) return error;
  // Credentials and TLS: the set-up check runs first, but a broker can refuse later steps the same way.
  const setup = await setupError(error, ctx.connection);
  if (setup) return setup;
  const brokers = ctx.connection.brokers.join(',');
  const errors = chain(error);
  const typed = errors.find((e) => typeof (e as { type?: unknown }).type === 'string') as { type: string; message: string } | undefined;
  const type = typed?.type;
  const topicOfStep = step === 'dlq-topic' ? ctx.dlqTopic : ctx.topic;
  switch (type) {
    case 'TOPIC_AUTHORIZATION_FAILED':
    case 'CLUSTER_AUTHORIZATION_FAILED':
      return new MeterError(
        step === 'join'
          ? `Kafka at ${brokers} does not let this client read topic ${ctx.topic} (${type}): grant the worker's user Describe and Read on it`
          : `Kafka at ${brokers} does not let this client describe or create topic ${topicOfStep} (${type}): create it (${step === 'dlq-topic' ? 1 : ctx.partitions} partitions) and grant the worker's user Describe, Read and Write on it`,
        2,
      );
    case 'GROUP_AUTHORIZATION_FAILED':
      return new MeterError(`Kafka at ${brokers} does not let this client join group ${ctx.group} (${type}): grant the worker's user Read on the group, or pass a --group it may use`, 2);
    case 'INVALID_SESSION_TIMEOUT':
      return new MeterError(
        `--session-timeout ${ctx.sessionTimeoutMs / 1000}: Kafka at ${brokers} allows only session timeouts between its group.min.session.timeout.ms and group.max.session.timeout.ms (6 to 1800 s by default); pick one within`,
        2,
      );
    case 'INVALID_TOPIC_EXCEPTION':
      return new MeterError(`--topic: Kafka at ${brokers} does not accept "${topicOfStep}" as a topic name (${type}); use letters, digits, '.', '_' and '-'`, 2);
  }
  if (type && (step === 'topic' || step === 'dlq-topic')) {
    return new MeterError(
      `Kafka at ${brokers} would not create topic ${topicOfStep} (${type}: ${firstLine(typed)}): create it yourself with ${step === 'dlq-topic' ? 1 : ctx.partitions} partitions, or fix the broker's topic defaults`,
    );
  }
  if (errors.some((e) => UNREACHABLE.has((e as { name?: string }).name ?? ''))) {
    const where = step === 'connect' ? '' : ` while ${doing(step, ctx)}`;
    return new MeterError(`cannot reach Kafka at ${brokers}${where}: ${firstLine(error)}; start one with \`meter kafka start\` or pass --brokers`);
  }
  const what = step === 'connect' ? `connecting to Kafka at ${brokers}` : `${doing(step, ctx)} on Kafka at ${brokers}`;
  return new MeterError(`${what} failed${type ? ` (${type})` : ''}: ${firstLine(typed ?? error)}`);
}
