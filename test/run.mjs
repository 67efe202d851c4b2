// Runs the test suite with node's own test runner: every test/**/*.test.ts(x), one file at a time
// (the integration tests share one broker). `node test/run.mjs unit` runs only paths containing "unit".
import { readdirSync, statSync } from 'node:fs';
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

const files = find(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// Integration tests need a real broker: reuse the one given in METER_TEST_BROKERS or already running,
// else start it through `meter kafka start` (the same code users run) and stop it again at the end.
const meter = (args, stdio) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args], { cwd: root, encoding: 'utf8', stdio });
let startedBroker = false;
if (files.some((f) => f.startsWith(join('test', 'integration'))) && !process.env.METER_TEST_BROKERS) {
  const started = meter(['kafka', 'start', '--json'], ['ignore', 'pipe', 'inherit']);
  if (started.status !== 0) {
    console.error('test/run.mjs: could not start the Kafka broker the integration tests need (see above);');
    console.error('test/run.mjs: to use a broker already running elsewhere, set METER_TEST_BROKERS=host:port');
    process.exit(started.status || 1);
  }
  const info = JSON.parse(started.stdout);
  startedBroker = !info.alreadyRunning;
  console.error(`test/run.mjs: ${startedBroker ? 'started' : 'reusing'} Kafka at ${info.brokers} (log ${info.logFile})`);
  process.env.METER_TEST_BROKERS = info.brokers;
}
const stopBroker = () => {
  if (startedBroker) meter(['kafka', 'stop'], ['ignore', 'ignore', 'inherit']);
  startedBroker = false;
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopBroker();
    process.exit(130);
  });
}

const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
});
stopBroker();
process.exit(result.status ?? 1);
