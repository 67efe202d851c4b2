// A real single-node Apache Kafka (KRaft, broker and controller in one JVM) for development, demos and
// tests: `meter kafka start|stop|status`, `meter up` and the test harness all go through this module.
//
// Everything about one broker lives in its data dir: server.properties and log4j2.properties (rewritten
// on every start), broker.pid, broker.json (its ports and version), broker.log, and the log segments
// under kraft-combined-logs/. A second broker is just another data dir and another pair of ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeterError, UsageError } from '../cli/errors.js';
import { meterHome } from '../config/paths.js';
import { silentLogger } from '../log/logger.js';
import { createKafka } from './client.js';
import { portInUse, probeBroker } from './broker-probe.js';
import { withFileLock, processAlive } from './file-lock.js';
import { KAFKA_VERSION, ensureKafkaJars, javaCommand, type FetchProgress, type KafkaJarsOptions } from './kafka-jars.js';

export { brokerAnswers, probeBroker, portInUse } from './broker-probe.js';
export { KAFKA_VERSION, ensureKafkaJars, checkJava, kafkaCacheDir, type FetchProgress, type KafkaJars, type KafkaJarsOptions } from './kafka-jars.js';
export { kafkaToolCommand, runKafkaTool, runConsumerGroupsTool, CONSUMER_GROUPS_MAIN, type KafkaToolResult } from './kafka-tools.js';

export const LOCAL_HOST = '127.0.0.1';
export const DEFAULT_BROKER_PORT = 9092;
export const DEFAULT_CONTROLLER_PORT = 9093;
/** Default heap: modest, the machine has other work. KAFKA_HEAP_OPTS overrides it, as in Kafka's scripts. */
const DEFAULT_HEAP_OPTS = '-Xms128m -Xmx512m';
const DEFAULT_START_TIMEOUT_MS = 120_000;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** broker.log is rotated once on start beyond this size, so a long-lived dev broker doesn't fill the disk. */
const MAX_LOG_BYTES = 20 * 1024 * 1024;

export interface BrokerProgress {
  stage: FetchProgress['stage'] | 'format' | 'spawn' | 'wait' | 'ready' | 'stop';
  message: string;
  files?: number;
  bytes?: number;
}

export interface LocalBrokerOptions {
  /** Defaults to meterHome()/kafka. */
  dataDir?: string;
  port?: number;
  controllerPort?: number;
  /**
   * The address clients connect to, listened on and advertised (default 127.0.0.1): an address of a
   * test host's veth, so that clients in network namespaces reach the broker. The controller stays local.
   */
  host?: string;
  /** How long start waits for the broker to answer, and stop for it to exit before SIGKILL. */
  timeoutMs?: number;
  version?: string;
  /** Where the jars are cached; defaults to meterCache()/kafka/<version>. */
  cacheDir?: string;
  onProgress?: (progress: BrokerProgress) => void;
}

export interface LocalBrokerInfo {
  /** True when a broker from this data dir was already running and answering. */
  alreadyRunning: boolean;
  pid: number;
  /** The bootstrap address, host:port. */
  brokers: string;
  dataDir: string;
  logFile: string;
  version: string;
  port: number;
  controllerPort: number;
}

export interface LocalBrokerStatus {
  running: boolean;
  /** The process is up and answers Kafka requests. */
  answering: boolean;
  pid?: number;
  brokers: string;
  dataDir: string;
  logFile: string;
  version?: string;
  port: number;
  controllerPort: number;
}

export interface StopResult {
  wasRunning: boolean;
  pid?: number;
  /** It had to be killed with SIGKILL after the timeout. */
  killed: boolean;
  dataDir: string;
}

interface BrokerState {
  pid?: number;
  port: number;
  controllerPort: number;
  version: string;
  startedAt?: string;
  host?: string;
}

export const defaultKafkaDataDir = (): string => join(meterHome(), 'kafka');

function files(dataDir: string) {
  return {
    pid: join(dataDir, 'broker.pid'),
    state: join(dataDir, 'broker.json'),
    log: join(dataDir, 'broker.log'),
    serverProperties: join(dataDir, 'server.properties'),
    log4j: join(dataDir, 'log4j2.properties'),
    logDirs: join(dataDir, 'kraft-combined-logs'),
    lock: join(dataDir, '.start.lock'),
  };
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--${name}: ${JSON.stringify(port)} is not a TCP port; give an integer from 1 to 65535`);
  }
  return port;
}

function resolveOptions(options: LocalBrokerOptions) {
  const dataDir = resolve(options.dataDir ?? defaultKafkaDataDir());
  const port = checkPort('port', options.port ?? DEFAULT_BROKER_PORT);
  const controllerPort = checkPort('controller-port', options.controllerPort ?? DEFAULT_CONTROLLER_PORT);
  if (port === controllerPort) throw new UsageError(`--port and --controller-port are both ${port}; give two different ports`);
  return { dataDir, port, controllerPort, host: options.host ?? LOCAL_HOST, version: options.version ?? KAFKA_VERSION };
}

function readState(dataDir: string): BrokerState | undefined {
  try {
    return JSON.parse(readFileSync(files(dataDir).state, 'utf8')) as BrokerState;
  } catch {
    return undefined;
  }
}

function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(files(dataDir).pid, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Is pid this data dir's broker? A pid file outlives its process (a reboot, a kill -9), and the pid may
 * since belong to something else, so on Linux the command line must name kafka.Kafka and this data dir.
 */
function isOurBroker(pid: number, dataDir: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // exited, not yet reaped
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(files(dataDir).serverProperties);
  } catch {
    return existsSync('/proc/self') ? false : true; // no /proc (macOS): trust the pid
  }
}

/** The live pid of this data dir's broker; removes a stale pid file. */
function runningPid(dataDir: string): number | undefined {
  const pid = readPid(dataDir);
  if (pid === undefined) return undefined;
  if (isOurBroker(pid, dataDir)) return pid;
  rmSync(files(dataDir).pid, { force: true });
  return undefined;
}

export async function localBrokerStatus(options: LocalBrokerOptions = {}): Promise<LocalBrokerStatus> {
  const dataDir = resolve(options.dataDir ?? defaultKafkaDataDir());
  const state = readState(dataDir);
  const pid = runningPid(dataDir);
  // A running broker is where it was started (status needs only the data dir); else where it would start.
  const port = (pid !== undefined ? state?.port : undefined) ?? options.port ?? state?.port ?? DEFAULT_BROKER_PORT;
  const controllerPort = (pid !== undefined ? state?.controllerPort : undefined) ?? options.controllerPort ?? state?.controllerPort ?? DEFAULT_CONTROLLER_PORT;
  const brokers = `${LOCAL_HOST}:${port}`;
  const answering = pid !== undefined && (await probeBroker(brokers, 2000));
  return { running: pid !== undefined, answering, pid, brokers, dataDir, logFile: files(dataDir).log, version: state?.version, port, controllerPort };
}

function serverProperties(dataDir: string, port: number, controllerPort: number, host: string): string {
  return `# Written by meter on every start; edit meter's src/kafka/local-broker.ts, not this file.
# One node is both the broker and the KRaft controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${LOCAL_HOST}:${controllerPort}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${LOCAL_HOST}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${files(dataDir).logDirs}

# A single node: every internal topic has one replica, and one in-sync replica is enough.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer __consumer_offsets and __transaction_state partitions than the default 50: their first use on
# a fresh broker creates them all, and a dev broker has few groups and producers.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
num.partitions=1
# Consumers in tests and demos join one at a time; don't hold the first rebalance for them.
group.initial.rebalance.delay.ms=0
# meter creates its topics itself (ensureTopic), as it must on managed Kafka where auto-creation is
# usually off; a mistyped topic name then fails loudly instead of quietly making a new topic.
auto.create.topics.enable=false
`;
}

const LOG4J_PROPERTIES = `# Written by meter: the broker logs to stdout, which meter sends to broker.log.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.stateChange.name = state.change.logger
logger.stateChange.level = WARN
`;

/** Kafka's own cluster-id form: 16 random bytes, URL-safe base64 without padding. */
function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

function jvmArgs(log4jFile: string): string[] {
  const heap = (process.env.KAFKA_HEAP_OPTS ?? DEFAULT_HEAP_OPTS).split(/\s+/).filter(Boolean);
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
  ];
}

function logTail(logFile: string, lines = 5): string {
  try {
    const text = readFileSync(logFile, 'utf8');
    const important = text
      .split('\n')
      .filter((l) => /ERROR|FATAL|Exception|Error:/.test(l))
      .slice(-lines);
    return important.map((l) => l.trim().slice(0, 300)).join(' | ');
  } catch {
    return '';
  }
}

function runToCompletion(command: string, args: string[], logFd: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', logFd, logFd] });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}

/** Formats the log dirs once (KRaft needs a cluster id and the bootstrap metadata before first start). */
async function formatStorageIfNeeded(dataDir: string, classpath: string, onProgress?: (p: BrokerProgress) => void): Promise<void> {
  const f = files(dataDir);
  if (existsSync(join(f.logDirs, 'meta.properties'))) return;
  const clusterId = newClusterId();
  onProgress?.({ stage: 'format', message: `formatting storage in ${f.logDirs} (cluster id ${clusterId})` });
  const fd = openSync(f.log, 'a');
  try {
    const code = await runToCompletion(
      javaCommand(),
      [...jvmArgs(f.log4j).filter((a) => !a.startsWith('-Xms')), '-cp', classpath, 'kafka.tools.StorageTool', 'format', '--config', f.serverProperties, '--cluster-id', clusterId, '--ignore-formatted'],
      fd,
    );
    if (code !== 0) {
      throw new MeterError(`formatting Kafka storage in ${f.logDirs} failed (exit ${code}): ${logTail(f.log) || 'see the log'}; log: ${f.log}`);
    }
  } finally {
    closeSync(fd);
  }
}

function rotateLog(logFile: string): void {
  try {
    if (statSync(logFile).size > MAX_LOG_BYTES) renameSync(logFile, `${logFile}.1`);
  } catch {
    // no log yet
  }
}

/** The port is taken by something that is not this data dir's broker: say what and what to do. */
async function checkPortFree(name: string, port: number, dataDir: string, host = LOCAL_HOST): Promise<void> {
  if (!(await portInUse(host, port))) return;
  const address = `${host}:${port}`;
  if (name === 'port' && (await probeBroker(address, 2000))) {
    throw new MeterError(
      `a Kafka broker not started from ${dataDir} already answers on ${address}: use it (--brokers ${address}), stop it, or start this one with another --port`,
    );
  }
  throw new MeterError(`${address} (--${name}) is already in use by another process; stop it or give another --${name}`);
}

async function waitUntilReady(brokers: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
  });
  const kafka = createKafka({ brokers: [brokers], clientId: 'meter-kafka-start' }, silentLogger);
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const tail = logTail(logFile);
      throw new MeterError(`the Kafka broker exited during start (code ${exited})${tail ? `: ${tail}` : ''}; see ${logFile}`);
    }
    if (await probeBroker(brokers, 1000)) {
      // ApiVersions answers; a metadata call through kafkajs proves clients can really use it
      // (the advertised listener resolves, the broker is registered with the controller).
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0) return;
      } catch {
        // not yet
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    await sleep(250);
  }
  throw new MeterError(`the Kafka broker did not answer on ${brokers} within ${timeoutMs / 1000} s; see ${logFile} (or give a longer --timeout)`);
}

/**
 * Starts the broker of a data dir (fetching the jars and formatting storage the first time), and
 * resolves once it answers. When it is already running, says so (alreadyRunning) and leaves it be.
 */
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBrokerInfo> {
  const { dataDir, port, controllerPort, host, version } = resolveOptions(options);
  const onProgress = options.onProgress;
  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const f = files(dataDir);
  mkdirSync(dataDir, { recursive: true });

  // Another meter may be starting this very broker (a test runner and a test file, two terminals).
  return withFileLock(f.lock, 'starting Kafka', 15 * 60_000 + timeoutMs, async () => {
    const existing = runningPid(dataDir);
    if (existing !== undefined) {
      const state = readState(dataDir);
      const runningPort = state?.port ?? port;
      const brokers = `${state?.host ?? LOCAL_HOST}:${runningPort}`;
      if (options.port !== undefined && runningPort !== port) {
        throw new MeterError(`the broker of ${dataDir} already runs on ${brokers}, not port ${port}; stop it first (meter kafka stop) to change ports`);
      }
      const deadline = Date.now() + timeoutMs;
      while (!(await probeBroker(brokers, 1000))) {
        if (Date.now() > deadline) {
          throw new MeterError(`the broker of ${dataDir} (pid ${existing}) runs but does not answer on ${brokers}; see ${f.log}, or stop it with meter kafka stop`);
        }
        await sleep(250);
      }
      return {
        alreadyRunning: true,
        pid: existing,
        brokers,
        dataDir,
        logFile: f.log,
        version: state?.version ?? version,
        port: runningPort,
        controllerPort: state?.controllerPort ?? controllerPort,
      };
    }

    await checkPortFree('port', port, dataDir, host);
    await checkPortFree('controller-port', controllerPort, dataDir);
    const jarOptions: KafkaJarsOptions = { version, cacheDir: options.cacheDir, onProgress };
    const jars = await ensureKafkaJars(jarOptions);

    writeFileSync(f.serverProperties, serverProperties(dataDir, port, controllerPort, host));
    writeFileSync(f.log4j, LOG4J_PROPERTIES);
    rotateLog(f.log);
    await formatStorageIfNeeded(dataDir, jars.classpath, onProgress);

    const brokers = `${host}:${port}`;
    onProgress?.({ stage: 'spawn', message: `starting Apache Kafka ${version} on ${brokers} (controller ${LOCAL_HOST}:${controllerPort})` });
    const logFd = openSync(f.log, 'a');
    let child: ChildProcess;
    try {
      // Detached, in its own process group, output to the log: it outlives the command that started it.
      child = spawn(javaCommand(), [...jvmArgs(f.log4j), `-Dkafka.logs.dir=${dataDir}`, '-cp', jars.classpath, 'kafka.Kafka', f.serverProperties], {
        cwd: dataDir,
        detached: true,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new MeterError(`could not start java (${javaCommand()}); see ${f.log}`);
    child.on('error', () => undefined);
    child.unref();
    writeFileSync(f.pid, `${pid}\n`);
    const state: BrokerState = { pid, port, controllerPort, version, startedAt: new Date().toISOString(), ...(host === LOCAL_HOST ? {} : { host }) };
    writeFileSync(f.state, `${JSON.stringify(state, null, 2)}\n`);

    onProgress?.({ stage: 'wait', message: `waiting for the broker to answer on ${brokers}` });
    try {
      await waitUntilReady(brokers, child, timeoutMs, f.log);
    } catch (error) {
      // Don't leave a half-started JVM behind.
      await stopPid(pid, dataDir, 10_000);
      rmSync(f.pid, { force: true });
      throw error;
    }
    onProgress?.({ stage: 'ready', message: `Kafka ${version} answers on ${brokers}` });
    return { alreadyRunning: false, pid, brokers, dataDir, logFile: f.log, version, port, controllerPort };
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // its own process group (spawned detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function waitForExit(pid: number, dataDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurBroker(pid, dataDir)) return true;
    await sleep(100);
  }
  return !isOurBroker(pid, dataDir);
}

/** SIGTERM (Kafka shuts down cleanly on it), then SIGKILL after timeoutMs. True when it had to be killed. */
async function stopPid(pid: number, dataDir: string, timeoutMs: number): Promise<boolean> {
  signalGroup(pid, 'SIGTERM');
  if (await waitForExit(pid, dataDir, timeoutMs)) return false;
  signalGroup(pid, 'SIGKILL');
  await waitForExit(pid, dataDir, 5000);
  return true;
}

/** Stops the broker of a data dir, if it runs. */
export async function stopLocalBroker(options: LocalBrokerOptions = {}): Promise<StopResult> {
  const dataDir = resolve(options.dataDir ?? defaultKafkaDataDir());
  const pid = runningPid(dataDir);
  if (pid === undefined) return { wasRunning: false, killed: false, dataDir };
  options.onProgress?.({ stage: 'stop', message: `stopping the Kafka broker (pid ${pid})` });
  const killed = await stopPid(pid, dataDir, options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
  rmSync(files(dataDir).pid, { force: true });
  return { wasRunning: true, pid, killed, dataDir };
}

/** The bootstrap address of a data dir's broker when it runs and answers, else undefined. */
export async function runningLocalBroker(options: LocalBrokerOptions = {}): Promise<string | undefined> {
  const status = await localBrokerStatus(options);
  return status.answering ? status.brokers : undefined;
}
