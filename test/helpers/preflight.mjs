// What the integration tests need on the machine, checked before any test runs: for each missing tool
// one line naming the Debian package that brings it (.ci/run installs them all).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

const KAFKA_VERSION = '4.1.1';

/** An executable of that name in a directory of PATH. */
function onPath(command) {
  return (process.env.PATH || '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Kafka's jars already fetched: then Maven is not needed (meter fetches them with it once). */
function kafkaJarsCached() {
  const cache = process.env.METER_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meter');
  return existsSync(join(cache, 'kafka', KAFKA_VERSION, 'libs', '.complete'));
}

/** PostgreSQL's server programs (initdb, pg_ctl), where Debian puts them. */
/** Whether python3 imports `name`. */
function pythonModule(name) {
  return spawnSync('python3', ['-c', `import ${name}`], { stdio: 'ignore' }).status === 0;
}

function postgresInstalled() {
  const bindir = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (bindir.status === 0 && existsSync(join(bindir.stdout.trim(), 'initdb'))) return true;
  try {
    return readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')));
  } catch {
    return false;
  }
}

/** [what, Debian package, why, present?] for everything the integration tests use. */
export function integrationNeeds() {
  const java = process.env.JAVA_HOME ? existsSync(join(process.env.JAVA_HOME, 'bin', 'java')) : onPath('java');
  return [
    ['java', 'openjdk-17-jre-headless', 'runs the private Kafka broker and its tools', java],
    ['mvn', 'maven', "fetches Kafka's jars once", kafkaJarsCached() || onPath('mvn')],
    ['kcat', 'kcat', 'the independent Kafka client that checks what went over the wire', onPath('kcat')],
    ['openssl', 'openssl', "makes the secured broker's CA and certificates", onPath('openssl')],
    ['tmux', 'tmux', 'the real terminal of the console and npm start tests', onPath('tmux')],
    ['initdb', 'postgresql', 'the PostgreSQL ledger tests', postgresInstalled()],
    ['ip', 'iproute2', 'network namespaces: the test hosts', onPath('ip')],
    ['git', 'git', 'clones the repository like a new user', onPath('git')],
    ['prometheus_client', 'python3-prometheus-client', "parses the agent's and the worker's metrics independently", pythonModule('prometheus_client')],
  ];
}

/** Lines for what is missing (empty when nothing is). */
export function missingLines(needs) {
  return needs
    .filter(([, , , present]) => !present)
    .map(([what, pkg, why]) => `test/run.mjs: ${what} is missing (${why}): install the Debian package ${pkg} (apt-get install ${pkg})`);
}
