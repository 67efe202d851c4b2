// Runs the test suite with node's own test runner: every test/**/*.test.ts(x), one file at a time
// (the integration tests share one broker). `node test/run.mjs unit` runs only paths containing "unit".
//
// The suite never touches the user's own broker, topics or data: it runs with a METER_HOME of its
// own, and starts a private broker (its own data directory, free ports) unless METER_TEST_BROKERS
// names one to use instead; the private broker and the temporary home are removed at the end.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'helpers' ? [] : find(path);
    return /\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

/** A TCP port nobody listens on right now (the kernel picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const files = find(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// Everything meter writes during the tests (ledgers, spools, logs) goes under a home of the suite's own.
const home = mkdtempSync(join(tmpdir(), 'meter-test-home-'));
process.env.METER_HOME = home;

const meter = (args, stdio) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args], { cwd: root, encoding: 'utf8', stdio });
let brokerDir;
if (files.some((f) => f.startsWith(join('test', 'integration'))) && !process.env.METER_TEST_BROKERS) {
  brokerDir = join(home, 'kafka');
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const started = meter(['kafka', 'start', '--json', '--data-dir', brokerDir, '--port', String(port), '--controller-port', String(controllerPort)], ['ignore', 'pipe', 'inherit']);
  if (started.status !== 0) {
    console.error('test/run.mjs: could not start the private Kafka broker the integration tests need (see above);');
    console.error('test/run.mjs: to use a broker already running elsewhere, set METER_TEST_BROKERS=host:port');
    rmSync(home, { recursive: true, force: true });
    process.exit(started.status || 1);
  }
  const info = JSON.parse(started.stdout);
  console.error(`test/run.mjs: started a private Kafka at ${info.brokers} (log ${info.logFile})`);
  process.env.METER_TEST_BROKERS = info.brokers;
}
const cleanUp = () => {
  if (brokerDir) meter(['kafka', 'stop', '--data-dir', brokerDir], ['ignore', 'ignore', 'inherit']);
  brokerDir = undefined;
  rmSync(home, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
});
cleanUp();
process.exit(result.status ?? 1);
