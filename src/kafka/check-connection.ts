// One real connection before a mode settles in: a bad set-up (refused credentials, TLS trouble, the
// wrong kind of port) ends the command at once with one line and exit 2, instead of a console that
// says RECONNECTING forever or a worker that retries. A broker that is merely down is reported as
// such, for each mode to handle its own way.
import { silentLogger } from '../log/logger.js';
import { createKafka, type KafkaConnection } from './client.js';
import { diagnoseKafkaError, KafkaSetupError, type KafkaProblem } from './problems.js';

export type ConnectionCheck = { ok: true } | { ok: false; problem: KafkaProblem };

/**
 * Connects an admin client and asks for the cluster. Throws KafkaSetupError for a set-up problem;
 * otherwise says whether the broker answered.
 */
export async function checkKafkaConnection(connection: KafkaConnection, timeoutMs = 10_000): Promise<ConnectionCheck> {
  const kafka = createKafka({ ...connection, clientId: `${connection.clientId}-check` }, silentLogger);
  const admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([(async () => {
      await admin.connect();
      await admin.describeCluster();
    })(), timeout]);
    return { ok: true };
  } catch (error) {
    const problem = await diagnoseKafkaError(error, connection);
    if (problem.setup) throw new KafkaSetupError(problem.message, problem.kind);
    return { ok: false, problem };
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}
