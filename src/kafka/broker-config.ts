// The configuration of a local broker: its server.properties (rewritten on every start), its log4j2
// configuration and the JVM's flags. Text only; local-broker.ts writes and runs it.
import { secureListeners, secureServerProperties, type SecureMaterial, type SecurePorts } from './secure-broker.js';

export const LOCAL_HOST = '127.0.0.1';
/** Default heap: modest, the machine has other work. KAFKA_HEAP_OPTS overrides it, as in Kafka's scripts. */
const DEFAULT_HEAP_OPTS = '-Xms128m -Xmx512m';

/** `host`: the address the plaintext listener binds and advertises (a test host's veth end); the controller stays local. */
export function serverProperties(
  logDirs: string,
  port: number,
  controllerPort: number,
  secure?: { ports: SecurePorts; material: SecureMaterial },
  host = LOCAL_HOST,
): string {
  const extra = secure ? secureListeners(secure.ports) : { listeners: [], protocols: [] };
  const advertised = [`PLAINTEXT://${host}:${port}`, ...extra.listeners];
  return `# Written by meter on every start; edit meter's src/kafka/broker-config.ts, not this file.
# One node is both the broker and the KRaft controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${LOCAL_HOST}:${controllerPort}
controller.listener.names=CONTROLLER
listeners=${[...advertised, `CONTROLLER://${LOCAL_HOST}:${controllerPort}`].join(',')}
advertised.listeners=${advertised.join(',')}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=${['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...extra.protocols].join(',')}
log.dirs=${logDirs}
${secure ? secureServerProperties(secure.material) : ''}
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

export const LOG4J_PROPERTIES = `# Written by meter: the broker logs to stdout, which meter sends to broker.log.
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

export function jvmArgs(log4jFile: string): string[] {
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

