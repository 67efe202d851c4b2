// Runs the test suite with node's own test runner: the unit and component files first, two at a time
// (one a core of our 2-core machines: they need no broker, and each gets a METER_HOME of its own), then
// the integration files one at a time (they share one broker and time real processes): every
// test/**/*.test.ts(x), or those whose path contains one of the arguments, or files
// named by path. `node test/run.mjs unit` runs the unit tests; `--file-timeout S` bounds each file
// (default 600 s, or METER_TEST_FILE_TIMEOUT).
//
// It respects the machine it runs on:
// - Hermetic: a METER_HOME of the suite's own, and a private broker (its own data directory, free
//   ports, secured listeners too) unless METER_TEST_BROKERS names one to use instead. Both are
//   removed at the end.
// - A preflight: for each tool the integration tests need and the machine lacks, one line naming the
//   Debian package, then a non-zero exit before anything runs.
// - Nothing outlives its test file: each file runs in a process group of its own, under a timeout,
//   and every process it started is found by the mark in its environment and ended when the file
//   ends, passed, failed or timed out; the broker and the rest at the end of the run. Its temporary
//   files too: each file gets a TMPDIR of its own, removed when it ends.
// - Under CI=true a skipped test fails the run: a missing tool must not pass unnoticed.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { integrationNeeds, missingLines } from './helpers/preflight.mjs';
import { endMarked, signalGroup, withMark } from './helpers/processes.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const say = (line) => console.error(`test/run.mjs: ${line}`);

let fileTimeoutS = Number(process.env.METER_TEST_FILE_TIMEOUT || 600);
const filters = [];
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--file-timeout') fileTimeoutS = Number(process.argv[++i]);
  else if (arg.startsWith('--file-timeout=')) fileTimeoutS = Number(arg.slice('--file-timeout='.length));
  else filters.push(arg);
}
if (!(fileTimeoutS > 0)) {
  say('--file-timeout: give a number of seconds');
  process.exit(2);
}

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'helpers' || name === 'fixtures' ? [] : find(path);
    return /\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

/** A TCP port nobody listens on right now (the kernel picks it). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const named = filters.filter((f) => /\.tsx?$/.test(f) && existsSync(resolve(f))).map((f) => relative(root, resolve(f)));
const patterns = filters.filter((f) => !named.includes(relative(root, resolve(f))));
const files = [
  ...named,
  ...(patterns.length > 0 || named.length === 0
    ? find(join(root, 'test'))
        .map((f) => relative(root, f))
        .filter((f) => patterns.length === 0 || patterns.some((x) => f.includes(x)))
    : []),
]
  .filter((f, i, all) => all.indexOf(f) === i)
  .sort();
if (files.length === 0) {
  say(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const integration = files.some((f) => f.startsWith(join('test', 'integration')));

// The preflight: what the integration tests need, before anything starts.
if (integration) {
  const missing = missingLines(integrationNeeds());
  if (missing.length > 0) {
    for (const line of missing) console.error(line);
    say('nothing was run; .ci/run installs all of these');
    process.exit(3);
  }
}

// Every process of this run, and of each file, carries a mark of its own in its environment.
const runMark = `run-${process.pid}-${Date.now()}`;
Object.assign(process.env, withMark(process.env, runMark));

// Everything meter writes during the tests (ledgers, spools, logs) goes under a home of the suite's own.
const home = mkdtempSync(join(tmpdir(), 'meter-test-home-'));
process.env.METER_HOME = home;

const meter = (args, stdio) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args], { cwd: root, encoding: 'utf8', stdio });
let brokerDir;
const cleanUp = async () => {
  if (brokerDir) meter(['kafka', 'stop', '--data-dir', brokerDir], ['ignore', 'ignore', 'inherit']);
  brokerDir = undefined;
  const left = await endMarked(runMark);
  for (const p of left) say(`ended pid ${p.pid} left running by the run: ${p.command}`);
  rmSync(home, { recursive: true, force: true });
};
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, async () => {
    for (const child of running) signalGroup(child.pid, 'SIGKILL');
    await cleanUp();
    process.exit(130);
  });
}

if (integration && !process.env.METER_TEST_BROKERS) {
  brokerDir = join(home, 'kafka');
  const [port, controllerPort, securePort] = await freePorts(3);
  // The secured listeners take securePort and the next two: taken from the kernel's free ports above
  // them is not guaranteed, so a clash is retried with other ports.
  let started;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const secure = attempt === 1 ? securePort : (await freePorts(1))[0];
    started = meter(
      ['kafka', 'start', '--json', '--secure', '--data-dir', brokerDir, '--port', String(port), '--controller-port', String(controllerPort), '--secure-port', String(secure)],
      ['ignore', 'pipe', 'pipe'],
    );
    if (started.status === 0 || !/already in use/.test(started.stderr)) break;
  }
  if (started.status !== 0) {
    process.stderr.write(started.stderr);
    say('could not start the private Kafka broker the integration tests need (see above);');
    say('to use a broker already running elsewhere, set METER_TEST_BROKERS=host:port');
    await cleanUp();
    process.exit(started.status || 1);
  }
  const info = JSON.parse(started.stdout);
  say(`started a private Kafka at ${info.brokers}, secured at ${info.secure.saslSslBrokers} (log ${info.logFile})`);
  process.env.METER_TEST_BROKERS = info.brokers;
  process.env.METER_TEST_SECURE = JSON.stringify(info.secure);
}

/**
 * Counts from the summary node's spec reporter prints at the end of a file; undefined when the file
 * never got there. (A second reporter writing to a file loses its end under --test-force-exit.)
 */
function specCounts(text) {
  const count = (name) => Number(new RegExp(`^\u2139 ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  const counts = { pass: count('pass'), fail: count('fail'), cancelled: count('cancelled'), skipped: count('skipped'), todo: count('todo') };
  if (Number.isNaN(counts.pass)) return undefined;
  const skippedNames = [...text.matchAll(/^\s*\uFE63 (.*)$/gm)].map((m) => m[1].trim());
  return { ...counts, skippedNames };
}

/**
 * The spec reporter's "failing tests" section of a file, without stack frames, at most `max` lines: said
 * again at the end of the run, where the tail of a long CI log shows it.
 */
function failureReasons(text, max = 60) {
  const at = text.lastIndexOf('\u2716 failing tests:');
  if (at < 0) return [];
  const lines = text.slice(at).split('\n').slice(1).filter((l) => l.trim() !== '' && !/^\s+at /.test(l));
  return lines.length > max ? [...lines.slice(0, max), `  ... (${lines.length - max} more lines above, in the file's own output)`] : lines;
}

/**
 * Runs one file in a process group of its own. `alongside`: another file runs at the same time, so
 * this one's output is held and written whole when it ends (not interleaved), and it gets a METER_HOME
 * of its own.
 */
function runFile(file, index, alongside = false) {
  const mark = `${runMark}-file-${index}`;
  const env = withMark(process.env, mark);
  // Set by node's test runner in its files' processes: a runner run from a test (test-runner.test.ts)
  // must not think it is one of them.
  delete env.NODE_TEST_CONTEXT;
  // A temporary directory of the file's own (TMPDIR: os.tmpdir() and the tools the file runs read
  // it), removed when the file ends, so what a test leaves in it goes too. Others may pass through it:
  // PostgreSQL's data directories under it belong to the postgres user.
  const fileTmp = mkdtempSync(join(tmpdir(), 'meter-test-tmp-'));
  chmodSync(fileTmp, 0o755);
  env.TMPDIR = fileTmp;
  if (alongside) env.METER_HOME = join(fileTmp, 'meter-home');
  const started = Date.now();
  return new Promise((resolveRun) => {
    // Its own process group, so a timeout can end the file and all that it spawned at once.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-force-exit', '--test-reporter=spec', file],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true, env },
    );
    running.add(child);
    let output = '';
    child.stdout.on('data', (chunk) => {
      if (!alongside) process.stdout.write(chunk);
      output += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      say(`${file} did not finish within ${fileTimeoutS} s: ending it and everything it started`);
      signalGroup(child.pid, 'SIGTERM');
      setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000).unref();
    }, fileTimeoutS * 1000);
    // 'exit', not 'close': a process the file left running may hold the output pipe open.
    const closed = new Promise((r) => child.once('close', r));
    child.once('exit', async (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      signalGroup(child.pid, 'SIGKILL');
      const left = await endMarked(mark);
      for (const p of left) say(`ended pid ${p.pid} that ${file} left running: ${p.command}`);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      if (alongside) process.stdout.write(output);
      rmSync(fileTmp, { recursive: true, force: true });
      resolveRun({ file, code, signal, timedOut, left: left.length, seconds: (Date.now() - started) / 1000, counts: specCounts(output), reasons: failureReasons(output) });
    });
  });
}

/** Files that need no broker and start no long-lived processes of their own: they run two at a time. */
const alongsideOthers = (file) => file.startsWith(join('test', 'unit') + '/') || file.startsWith(join('test', 'components') + '/');
const LANES = 2;
const suiteStarted = Date.now();
const results = [];
const light = [...files.entries()].filter(([, file]) => alongsideOthers(file));
const lane = async () => {
  for (let next = light.shift(); next; next = light.shift()) results.push(await runFile(next[1], next[0], true));
};
await Promise.all(Array.from({ length: LANES }, lane));
for (const [index, file] of files.entries()) if (!alongsideOthers(file)) results.push(await runFile(file, index));
await cleanUp();

let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
for (const r of results) {
  const c = r.counts;
  passed += c?.pass ?? 0;
  skipped += (c?.skipped ?? 0) + (c?.todo ?? 0);
  const fileFailures = (c?.fail ?? 0) + (c?.cancelled ?? 0);
  failed += fileFailures;
  const ranNothing = c && c.pass + c.fail + c.cancelled + c.skipped + c.todo === 0;
  if (ranNothing) {
    problems.push(`${r.file}: ran no test`);
    failed += 1;
  }
  if (r.timedOut) problems.push(`${r.file}: timed out after ${fileTimeoutS} s`);
  else if (r.code !== 0 && fileFailures === 0) problems.push(`${r.file}: exited with ${r.signal ?? `code ${r.code}`} without a failing test`);
  else if (fileFailures > 0) problems.push(`${r.file}: ${fileFailures} failed`, ...r.reasons.map((l) => `    ${l}`));
  if ((r.timedOut || r.code !== 0) && fileFailures === 0) failed += 1;
  if (process.env.CI === 'true' && (c?.skipped ?? 0) > 0) {
    problems.push(`${r.file}: ${c.skipped} skipped under CI=true, which must run everything: ${c.skippedNames.join('; ')}`);
    failed += c.skipped;
    skipped -= c.skipped;
  }
}
// The suite must stay well inside 20 minutes on a 2-core machine: the slowest files, to watch that.
const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
const totalSeconds = (Date.now() - suiteStarted) / 1000;
console.log(`\n${results.length} files in ${Math.round(totalSeconds)} s; slowest: ${slowest.map((r) => `${r.file} ${Math.round(r.seconds)} s`).join(', ')}`);
if (problems.length > 0) {
  console.log('\nfailures:');
  for (const p of problems) console.log(`  ${p}`);
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
