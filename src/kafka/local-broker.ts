// A real single-node Apache Kafka (KRaft, broker and controller in one JVM) for development, demos and
// tests: `meter kafka start|stop|status`, `meter up` and the test harness all go through this module.
//
// Everything about one broker lives in its data dir: server.properties and log4j2.properties (rewritten
// on every start), broker.pid, broker.json (its ports and version), broker.log, and the log segments
// under kraft-combined-logs/. A second broker is just another data dir and another pair of ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeterError, UsageError } from '../cli/errors.js';
import { ensurePrivateDir, meterHome, writePrivateFile } from '../config/paths.js';
import { silentLogger } from '../log/logger.js';
import { createKafka } from './client.js';
import { portInUse, probeBroker } from './broker-probe.js';
import { withFileLock, processAlive } from './file-lock.js';
import { KAFKA_VERSION, ensureKafkaJars, javaCommand, type FetchProgress, type KafkaJarsOptions } from './kafka-jars.js';
import { ensureSecureMaterial, scramFormatArgs, scramFormattedMarker, secureBrokerInfo, type SecureBrokerInfo, type SecureMaterial, type SecurePorts } from './secure-broker.js';
import { LOCAL_HOST, LOG4J_PROPERTIES, jvmArgs, serverProperties } from './broker-config.js';

export { brokerAnswers, probeBroker, portInUse } from './broker-probe.js';
export { KAFKA_VERSION, ensureKafkaJars, checkJava, kafkaCacheDir, type FetchProgress, type KafkaJars, type KafkaJarsOptions } from './kafka-jars.js';
export { kafkaToolCommand, runKafkaTool, runConsumerGroupsTool, CONSUMER_GROUPS_MAIN, type KafkaToolResult } from './kafka-tools.js';
export type { SecureBrokerInfo, SecurePorts } from './secure-broker.js';

export { LOCAL_HOST } from './broker-config.js';
export const DEFAULT_BROKER_PORT = 9092;
export const DEFAULT_CONTROLLER_PORT = 9093;
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
  /**
   * Secured listeners besides the plaintext one (see secure-broker.ts): true for the ports after the
   * controller's (port + 2, + 3, + 4), or given ports. A data dir started secured stays secured.
   */
  secure?: boolean | SecurePorts;
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
  /** The secured listeners, the CA, the client certificate and the user's password file. */
  secure?: SecureBrokerInfo;
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
  secure?: SecureBrokerInfo;
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
  secure?: SecurePorts;
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
  const secure = resolveSecurePorts(options.secure, readState(dataDir)?.secure, port);
  if (secure) {
    const all = [port, controllerPort, secure.saslSslPort, secure.mtlsPort, secure.saslPlaintextPort];
    for (const p of all.slice(2)) checkPort('secure-port', p);
    if (new Set(all).size !== all.length) throw new UsageError(`--secure-port: the secured listeners' ports ${all.slice(2).join(', ')} overlap --port or --controller-port; give another --secure-port`);
  }
  return { dataDir, port, controllerPort, secure, host: options.host ?? LOCAL_HOST, version: options.version ?? KAFKA_VERSION };
}

/** The secured listeners' ports: given, or the ones this data dir was started with, or after the controller's. */
function resolveSecurePorts(secure: LocalBrokerOptions['secure'], previous: SecurePorts | undefined, port: number): SecurePorts | undefined {
  if (secure === false) return undefined;
  if (typeof secure === 'object') return secure;
  if (previous) return previous;
  if (secure === true) return { saslSslPort: port + 2, mtlsPort: port + 3, saslPlaintextPort: port + 4 };
  return undefined;
}

function secureInfoOf(dataDir: string, ports: SecurePorts | undefined, plaintextPort: number): SecureBrokerInfo | undefined {
  return ports ? secureBrokerInfo(ensureSecureMaterial(dataDir), ports, plaintextPort) : undefined;
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
  const brokers = `${(pid !== undefined ? state?.host : undefined) ?? LOCAL_HOST}:${port}`;
  const answering = pid !== undefined && (await probeBroker(brokers, 2000));
  const secure = state?.secure && existsSync(scramFormattedMarker(dataDir)) ? secureInfoOf(dataDir, state.secure, port) : undefined;
  return { running: pid !== undefined, answering, pid, brokers, dataDir, logFile: files(dataDir).log, version: state?.version, port, controllerPort, secure };
}

/** Kafka's own cluster-id form: 16 random bytes, URL-safe base64 without padding. */
function newClusterId(): string {
  // Like Kafka's own Uuid.randomUuid(): an id starting with '-' would be read as a flag by the
  // storage tool's argument parser (about 1 format in 64), so draw again.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
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

/**
 * Formats the log dirs once (KRaft needs a cluster id and the bootstrap metadata before first start).
 * A secured broker's SCRAM users are created here too; their password goes to the tool in an
 * owner-only argument file (java's @file), so it never shows in the process list.
 */
async function formatStorageIfNeeded(dataDir: string, classpath: string, secure: SecureMaterial | undefined, onProgress?: (p: BrokerProgress) => void): Promise<void> {
  const f = files(dataDir);
  if (existsSync(join(f.logDirs, 'meta.properties'))) {
    if (secure && !existsSync(scramFormattedMarker(dataDir))) {
      throw new MeterError(`the broker storage in ${dataDir} was made without --secure, so it has no SCRAM users; start the secured broker with a new --data-dir`, 2);
    }
    return;
  }
  const clusterId = newClusterId();
  onProgress?.({ stage: 'format', message: `formatting storage in ${f.logDirs} (cluster id ${clusterId})${secure ? `, SCRAM user ${secure.username}` : ''}` });
  const toolArgs = ['kafka.tools.StorageTool', 'format', '--config', f.serverProperties, '--cluster-id', clusterId, '--ignore-formatted', ...(secure ? scramFormatArgs(secure) : [])];
  const argFile = join(dataDir, '.format.args');
  writeFileSync(argFile, toolArgs.map((a) => `'${a}'`).join('\n'), { mode: 0o600 });
  const fd = openSync(f.log, 'a');
  try {
    const code = await runToCompletion(javaCommand(), [...jvmArgs(f.log4j).filter((a) => !a.startsWith('-Xms')), '-cp', classpath, `@${argFile}`], fd);
    if (code !== 0) {
      throw new MeterError(`formatting Kafka storage in ${f.logDirs} failed (exit ${code}): ${logTail(f.log) || 'see the log'}; log: ${f.log}`);
    }
    if (secure) writeFileSync(scramFormattedMarker(dataDir), '', { mode: 0o600 });
  } finally {
    closeSync(fd);
    rmSync(argFile, { force: true });
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
  const { dataDir, port, controllerPort, secure, host, version } = resolveOptions(options);
  const onProgress = options.onProgress;
  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const f = files(dataDir);
  ensurePrivateDir(dataDir);

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
        secure: secureInfoOf(dataDir, state?.secure, runningPort),
      };
    }

    await checkPortFree('port', port, dataDir, host);
    await checkPortFree('controller-port', controllerPort, dataDir);
    if (secure) for (const p of [secure.saslSslPort, secure.mtlsPort, secure.saslPlaintextPort]) await checkPortFree('secure-port', p, dataDir);
    const jarOptions: KafkaJarsOptions = { version, cacheDir: options.cacheDir, onProgress };
    const jars = await ensureKafkaJars(jarOptions);

    const material = secure ? ensureSecureMaterial(dataDir) : undefined;
    // Owner-only: a secured broker's properties hold the keystore and PLAIN passwords.
    writePrivateFile(f.serverProperties, serverProperties(f.logDirs, port, controllerPort, secure && material ? { ports: secure, material } : undefined, host));
    writeFileSync(f.log4j, LOG4J_PROPERTIES);
    rotateLog(f.log);
    await formatStorageIfNeeded(dataDir, jars.classpath, material, onProgress);

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
    const state: BrokerState = { pid, port, controllerPort, version, startedAt: new Date().toISOString(), secure, ...(host === LOCAL_HOST ? {} : { host }) };
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
    const secureInfo = secure && material ? secureBrokerInfo(material, secure, port) : undefined;
    return { alreadyRunning: false, pid, brokers, dataDir, logFile: f.log, version, port, controllerPort, secure: secureInfo };
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
