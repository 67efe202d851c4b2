// Kafka's own command-line tools (kafka-consumer-groups and friends), run from the cached jars: the
// console tests compare meter's lag with what Kafka itself reports.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeterError } from '../cli/errors.js';
import { KAFKA_VERSION, ensureKafkaJars, javaCommand, kafkaCacheDir } from './kafka-jars.js';

export const CONSUMER_GROUPS_MAIN = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';

// Tools print their results on stdout; their own logging stays out of it, warnings only, on stderr.
const TOOLS_LOG4J = `status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
`;

export interface KafkaToolOptions {
  version?: string;
  cacheDir?: string;
}

/**
 * The command line that runs a Kafka tool's main class from the cached jars. The jars must already
 * be fetched (meter kafka fetch, or any start); runKafkaTool fetches them when needed.
 */
export function kafkaToolCommand(mainClass: string, args: string[], options: KafkaToolOptions = {}): { command: string; args: string[] } {
  const dir = options.cacheDir ?? kafkaCacheDir(options.version ?? KAFKA_VERSION);
  const libDir = join(dir, 'libs');
  if (!existsSync(join(libDir, '.complete'))) {
    throw new MeterError(`Kafka's jars are not in ${libDir} yet; run meter kafka fetch (or meter kafka start) first`);
  }
  const log4j = join(dir, 'tools-log4j2.properties');
  if (!existsSync(log4j)) writeFileSync(log4j, TOOLS_LOG4J);
  return {
    command: javaCommand(),
    args: ['-Xmx256m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', join(libDir, '*'), mainClass, ...args],
  };
}

export interface KafkaToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Kafka tool to completion and collects its output (a non-zero exit is returned, not thrown). */
export async function runKafkaTool(mainClass: string, args: string[], options: KafkaToolOptions & { timeoutMs?: number } = {}): Promise<KafkaToolResult> {
  await ensureKafkaJars({ version: options.version, cacheDir: options.cacheDir });
  const { command, args: argv } = kafkaToolCommand(mainClass, args, options);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new MeterError(`could not run ${mainClass}: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/**
 * Kafka's kafka-consumer-groups, e.g. runConsumerGroupsTool(['--bootstrap-server', brokers,
 * '--describe', '--group', 'billing']).
 */
export function runConsumerGroupsTool(args: string[], options: KafkaToolOptions & { timeoutMs?: number } = {}): Promise<KafkaToolResult> {
  return runKafkaTool(CONSUMER_GROUPS_MAIN, args, options);
}
