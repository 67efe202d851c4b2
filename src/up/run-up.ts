// `meter up`: the whole pipeline on one machine. It finds or starts a broker, starts an agent for this
// host, a simulated fleet and a billing worker as child processes (each logging to its own file),
// then runs the console in the foreground, or, headless, waits for a signal. Whatever it started it
// stops on the way out, and nothing else.
import { ensurePrivateDir } from '../config/paths.js';
import { join } from 'node:path';
import { MeterError } from '../cli/errors.js';
import type { KafkaConnection } from '../kafka/client.js';
import type { Logger } from '../log/logger.js';
import { AGENT_V8_FLAGS } from '../agent/v8-flags.js';
import { Supervisor, type ChildSpec, type ChildStatus, type TroubledChild } from './supervisor.js';

export interface UpOptions {
  /** The brokers and how to log in to them (TLS, SASL). */
  connection: KafkaConnection;
  /** The same connection as flags for the children: file paths, never the password. */
  securityArgs: string[];
  topic: string;
  group: string;
  fleet: number;
  intervalSeconds: number;
  home: string;
  /** The children's environment: this run's, with its resolved home and log level. */
  childEnv: NodeJS.ProcessEnv;
  ledgerPath: string;
  rates?: string;
  headless: boolean;
  machine: string;
  logger: Logger;
  /** Runs the console until the user quits; resolves then. Absent when headless. */
  runConsole?: (pipeline: PipelineHandle) => Promise<void>;
  /** Resolves on SIGINT/SIGTERM. */
  stopSignal: Promise<unknown>;
}

/** What the console is told about the processes `up` runs. */
export interface PipelineHandle {
  /** Children that died (restarted once, or for good), for the console's header. */
  troubled(): TroubledChild[];
  /** Resolves when a child has died twice: the console should close. */
  fatal: Promise<ChildStatus>;
  /** Resolves on SIGINT/SIGTERM. */
  stopSignal: Promise<unknown>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The port of a single broker on this machine, which `up` may start itself. */
function localPort(brokers: string[]): number | undefined {
  if (brokers.length !== 1) return undefined;
  const at = brokers[0]!.lastIndexOf(':');
  return LOCAL_HOSTS.has(brokers[0]!.slice(0, at)) ? Number(brokers[0]!.slice(at + 1)) : undefined;
}

/** The command line that runs this same meter binary (also under tsx in tests). */
function meterCommand(args: string[], nodeFlags: readonly string[] = []): { command: string; args: string[] } {
  return { command: process.execPath, args: [...nodeFlags, ...process.execArgv, process.argv[1]!, ...args] };
}

export async function runUp(o: UpOptions): Promise<number> {
  const broker = await import('../kafka/local-broker.js');
  const { checkKafkaConnection } = await import('../kafka/check-connection.js');
  const { progressPrinter } = await import('../kafka/progress-printer.js');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const logsDir = join(o.home, 'logs');
  ensurePrivateDir(logsDir);

  // 1. A broker: the one already answering, or a local one we start (and so stop).
  // A bad set-up (credentials, TLS, the wrong kind of port) ends here with one line, before any child starts.
  let startedBroker: { port: number; controllerPort: number } | undefined;
  const brokerList = o.connection.brokers.join(',');
  const secured = Boolean(o.connection.ssl || o.connection.sasl);
  if ((await checkKafkaConnection(o.connection, 5000)).ok) {
    say(`meter up: using the broker already running at ${brokerList} (it is left running on exit)`);
  } else {
    // Only a plaintext local broker can be started here; a secured one is the user's to run.
    const port = secured ? undefined : localPort(o.connection.brokers);
    if (port === undefined) {
      throw new MeterError(`no broker answers at ${brokerList}; start it${secured ? ' (meter kafka start --secure for a local secured one)' : ', or drop --brokers to let meter up run a local one'}`);
    }
    say(`meter up: no broker at ${brokerList}; starting a local Apache Kafka (the first run downloads it)`);
    const progress = progressPrinter();
    try {
      const info = await broker.startLocalBroker({ port, controllerPort: port + 1, onProgress: progress.onProgress });
      progress.end();
      if (!info.alreadyRunning) startedBroker = { port: info.port, controllerPort: info.controllerPort };
      say(`meter up: broker ${info.brokers} (pid ${info.pid}), data ${info.dataDir}, log ${info.logFile}`);
    } finally {
      progress.end();
    }
  }

  // 2. The pipeline's processes.
  const kafkaArgs = ['--brokers', brokerList, '--topic', o.topic, ...o.securityArgs];
  const rates = o.rates ? ['--rates', o.rates] : [];
  const specs: ChildSpec[] = [
    { name: 'worker', ...meterCommand(['worker', ...kafkaArgs, '--group', o.group, '--ledger', o.ledgerPath, ...rates]), logFile: join(logsDir, 'worker.log') },
    { name: 'agent', ...meterCommand(['agent', ...kafkaArgs, '--interval', String(o.intervalSeconds), '--machine', o.machine, '--label', 'source=meter-up'], AGENT_V8_FLAGS), logFile: join(logsDir, 'agent.log') },
  ];
  if (o.fleet > 0) {
    specs.push({
      name: 'fleet',
      ...meterCommand(['agent', ...kafkaArgs, '--interval', String(o.intervalSeconds), '--simulate', String(o.fleet)]),
      logFile: join(logsDir, 'fleet.log'),
    });
  }
  const supervisor = new Supervisor({ echo: o.headless });
  if (o.headless) supervisor.on('line', (name, line) => process.stdout.write(`[${name}] ${line}\n`));
  supervisor.on('restarted', (s) => o.logger.warn(`${s.name} died (${s.lastExit}); restarted it once`, { log: s.logFile }));
  const fatal = new Promise<ChildStatus>((resolve) => supervisor.once('fatal', resolve));

  say(`meter up: ledger ${o.ledgerPath}`);
  for (const spec of specs) {
    supervisor.start({ ...spec, env: o.childEnv });
    say(`meter up: ${spec.name} logs to ${spec.logFile}`);
  }

  // 3. The foreground: the console, or (headless) a wait for a signal or a fatal death.
  let exitCode = 0;
  let fatalChild: ChildStatus | undefined;
  void fatal.then((child) => (fatalChild = child));
  try {
    if (o.runConsole && !o.headless) {
      await o.runConsole({
        troubled: () => supervisor.troubled,
        fatal,
        stopSignal: o.stopSignal,
      });
    } else {
      say('meter up: running headless; stop with Ctrl-C or SIGTERM');
      await Promise.race([o.stopSignal, fatal]);
    }
  } finally {
    say('meter up: stopping');
    await supervisor.stop(5000);
    if (startedBroker) {
      say('meter up: stopping the broker it started');
      await broker.stopLocalBroker(startedBroker);
    }
  }
  if (fatalChild) {
    say(`meter up: ${fatalChild.name} died twice (${fatalChild.lastExit}); see ${fatalChild.logFile}`);
    exitCode = 1;
  }
  return exitCode;
}
