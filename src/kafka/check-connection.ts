// One real connection before a mode settles in: a bad set-up (refused credentials, TLS trouble, the
// wrong kind of port) ends the command at once with one line and exit 2, instead of a console that
// says RECONNECTING forever or a worker that retries. A broker that is merely down is reported as
// such, for each mode to handle its own way.
import { silentLogger } from '../log/logger.js';
import { createKafka, type KafkaConnection } from './client.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionRefused, diagnoseKafkaError, KafkaSetupError, type KafkaProblem } from './problems.js';

export type ConnectionCheck = { ok: true } | { ok: false; problem: KafkaProblem };

/** One try: an admin client, without kafkajs's own retries. */
async function tryOnce(connection: KafkaConnection, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: unknown }> {
  const kafka = createKafka({ ...connection, clientId: `${connection.clientId}-check` }, silentLogger, { connectionTimeoutMs: Math.min(timeoutMs, 5000), retries: 0 });
  const admin = kafka.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    await Promise.race([(async () => {
      await admin.connect();
      await admin.describeCluster();
    })(), timeout]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
    // A connect still in flight (the timeout won) must not hold the command up.
    await Promise.race([admin.disconnect().catch(() => undefined), sleep(1000)]);
  }
}

/**
 * Connects an admin client and asks for the cluster, trying again until timeoutMs while the broker
 * is slow to answer (a loaded machine): a set-up problem must not pass for an outage because a
 * handshake took long. Throws KafkaSetupError for a set-up problem; otherwise says whether the broker
 * answered. A refused connection (nobody listens) is an answer at once.
 */
export async function checkKafkaConnection(connection: KafkaConnection, timeoutMs = 10_000): Promise<ConnectionCheck> {
  const deadline = Date.now() + timeoutMs;
  let problem: KafkaProblem | undefined;
  do {
    const attempt = await tryOnce(connection, Math.max(1000, deadline - Date.now()));
    if (attempt.ok) return attempt;
    problem = await diagnoseKafkaError(attempt.error, connection);
    if (problem.setup) throw new KafkaSetupError(problem.message, problem.kind);
    if (connectionRefused(attempt.error)) break;
    await sleep(300);
  } while (Date.now() < deadline);
  return { ok: false, problem };
}
