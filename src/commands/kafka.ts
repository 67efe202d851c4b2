// `meter kafka start|stop|status|fetch`: a local single-node Apache Kafka (KRaft) for development,
// demos and tests. The work is in src/kafka/local-broker.ts; this file parses flags and prints.
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { positive } from '../config/options.js';
import type { LocalBrokerOptions, SecureBrokerInfo } from '../kafka/local-broker.js';
import { progressPrinter } from '../kafka/progress-printer.js';
import { KAFKA_VERSION, kafkaCacheDir } from '../kafka/kafka-jars.js';
import type { ConfiguredArgv } from '../config/resolve.js';

interface KafkaArgv extends ConfiguredArgv {
  action: 'start' | 'stop' | 'status' | 'fetch';
  'data-dir'?: string;
  port?: number;
  'controller-port'?: number;
  timeout?: number;
  json: boolean;
  secure: boolean;
  'secure-port'?: number;
}

function brokerOptions(argv: KafkaArgv): LocalBrokerOptions {
  const port = (name: string, value: number | undefined) =>
    value === undefined ? undefined : positive(name, value, { integer: true, max: 65535 });
  if (argv['data-dir'] !== undefined && !String(argv['data-dir']).trim()) throw new UsageError('--data-dir: give a directory');
  return {
    // meter's home and cache as resolved for this run, not as the library would read them from the environment.
    dataDir: argv['data-dir'] ?? join(argv.meter.home, 'kafka'),
    cacheDir: kafkaCacheDir(KAFKA_VERSION, argv.meter.cache),
    port: port('port', argv.port),
    controllerPort: port('controller-port', argv['controller-port']),
    timeoutMs: argv.timeout === undefined ? undefined : positive('timeout', argv.timeout, { max: 3600 }) * 1000,
    secure: securePorts(argv),
  };
}

/** --secure-port N: SASL_SSL on N, mutual TLS on N + 1, SASL_PLAINTEXT on N + 2. */
function securePorts(argv: KafkaArgv): LocalBrokerOptions['secure'] {
  if (argv['secure-port'] !== undefined && !argv.secure) throw new UsageError('--secure-port: only with --secure');
  if (!argv.secure) return undefined;
  if (argv['secure-port'] === undefined) return true;
  const first = positive('secure-port', argv['secure-port'], { integer: true, max: 65533 });
  return { saslSslPort: first, mtlsPort: first + 1, saslPlaintextPort: first + 2 };
}

/** How to connect to the secured listeners, for people. */
function secureLines(secure: SecureBrokerInfo): string[] {
  const sasl = `--sasl-username ${secure.username} --sasl-password-file ${secure.passwordFile}`;
  return [
    `  secured: SASL_SSL ${secure.saslSslBrokers} (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN), mutual TLS ${secure.mtlsBrokers}, SASL_PLAINTEXT ${secure.saslPlaintextBrokers}`,
    `  CA:       ${secure.caFile}`,
    `  user:     ${secure.username}, password in ${secure.passwordFile} (readable by you only)`,
    `  client certificate: ${secure.clientCertFile}, key ${secure.clientKeyFile}`,
    `  try: meter agent --brokers ${secure.saslSslBrokers} --tls-ca ${secure.caFile} --sasl-mechanism scram-sha-512 ${sasl}`,
    `   or: meter agent --brokers ${secure.mtlsBrokers} --tls-ca ${secure.caFile} --tls-cert ${secure.clientCertFile} --tls-key ${secure.clientKeyFile}`,
  ];
}

export const kafkaCommand: CommandModule<object, KafkaArgv> = {
  command: 'kafka <action>',
  describe: 'Run a local single-node Apache Kafka (KRaft) for development, demos and tests',
  builder: (yargs: Argv) =>
    yargs
      .positional('action', {
        choices: ['start', 'stop', 'status', 'fetch'] as const,
        describe: 'start it (fetching it the first time), stop it, show whether it runs, or only fetch its jars',
      })
      .options({
        'data-dir': { type: 'string', describe: 'Directory of the broker data, pid file and log', defaultDescription: 'METER_HOME/kafka' },
        port: { type: 'number', describe: 'Client port on 127.0.0.1', defaultDescription: '9092 (status: the port it was started on)' },
        'controller-port': { type: 'number', describe: 'KRaft controller port on 127.0.0.1', defaultDescription: '9093' },
        timeout: { type: 'number', describe: 'Seconds start waits for the broker to answer (stop: before SIGKILL)', defaultDescription: 'start 120, stop 30' },
        json: { type: 'boolean', default: false, describe: 'Print the result as JSON' },
        secure: {
          type: 'boolean',
          default: false,
          describe: 'start: add secured listeners (SASL_SSL with SCRAM users, mutual TLS, SASL_PLAINTEXT) with a CA and a password file of their own',
        },
        'secure-port': { type: 'number', describe: 'With --secure: SASL_SSL port; mutual TLS on the next, SASL_PLAINTEXT on the one after', defaultDescription: '--port + 2' },
      })
      .example('$0 kafka start', 'Kafka on 127.0.0.1:9092, data in METER_HOME/kafka')
      .example('$0 kafka start --port 19092 --controller-port 19093 --data-dir /tmp/k2', 'a second, separate broker')
      .example('$0 kafka status --json', 'running or not, pid, address, data dir and log file')
      .example('$0 kafka start --secure', 'also SASL_SSL (SCRAM), mutual TLS and SASL_PLAINTEXT listeners; prints the CA and the password file')
      .epilog('Needs Java 17+ and Maven (to fetch Kafka once from Maven Central); without them use `docker compose up -d` with compose.yaml.') as unknown as Argv<KafkaArgv>,
  handler: async (argv) => {
    const options = brokerOptions(argv);
    const broker = await import('../kafka/local-broker.js');
    const out = (text: string): void => {
      process.stdout.write(`${text}\n`);
    };

    if (argv.action === 'status') {
      const status = await broker.localBrokerStatus(options);
      if (argv.json) return out(JSON.stringify(status));
      if (!status.running) {
        out(`Kafka is not running (data dir ${status.dataDir})`);
      } else {
        out(`Kafka ${status.version ?? ''} is running${status.answering ? '' : ' but not answering yet'}: pid ${status.pid}, brokers ${status.brokers}`.replace('  ', ' '));
      }
      out(`  data: ${status.dataDir}`);
      out(`  log:  ${status.logFile}`);
      if (status.running && status.secure) for (const line of secureLines(status.secure)) out(line);
      return;
    }

    if (argv.action === 'stop') {
      const progress = progressPrinter();
      const result = await broker.stopLocalBroker({ ...options, onProgress: argv.json ? undefined : progress.onProgress });
      if (argv.json) return out(JSON.stringify(result));
      if (!result.wasRunning) return out(`Kafka is not running (data dir ${result.dataDir}); nothing to stop`);
      return out(`Kafka stopped (pid ${result.pid}${result.killed ? ', killed after it did not exit in time' : ''})`);
    }

    const progress = progressPrinter();
    if (argv.action === 'fetch') {
      try {
        const jars = await broker.ensureKafkaJars({ cacheDir: options.cacheDir, onProgress: progress.onProgress });
        if (argv.json) return out(JSON.stringify(jars));
        return out(`Apache Kafka ${jars.version} is ${jars.fetched ? 'fetched' : 'already cached'} in ${jars.libDir}`);
      } finally {
        progress.end();
      }
    }

    const started = Date.now();
    let info;
    try {
      info = await broker.startLocalBroker({ ...options, onProgress: progress.onProgress });
    } finally {
      progress.end();
    }
    if (argv.json) return out(JSON.stringify(info));
    if (info.alreadyRunning) {
      out(`Kafka is already running: pid ${info.pid}, brokers ${info.brokers}`);
    } else {
      out(`Kafka ${info.version} started in ${((Date.now() - started) / 1000).toFixed(1)} s: pid ${info.pid}, brokers ${info.brokers}`);
    }
    out(`  data: ${info.dataDir}`);
    out(`  log:  ${info.logFile}`);
    if (info.secure) for (const line of secureLines(info.secure)) out(line);
    if (!info.alreadyRunning) out('  stop it with: meter kafka stop' + (argv['data-dir'] ? ` --data-dir ${info.dataDir}` : ''));
  },
};
