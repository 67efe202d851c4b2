// test/run.mjs itself, run as a child the way a developer or CI runs it: the preflight names what to
// install, a test file that fails and hangs is ended at its timeout with everything it started, and
// under CI=true a skip fails the run.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { collect, repoRoot, type Collected } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-runner-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const runRunner = (args: string[], env: NodeJS.ProcessEnv): Promise<Collected> => collect(process.execPath, [join(repoRoot, 'test', 'run.mjs'), ...args], { env });

/** Live (not zombie) processes whose environment holds NAME=value. */
function processesWithEnv(name: string, value: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${name}=${value}`);
      } catch {
        return false;
      }
    });
}

function alive(pid: number): boolean {
  try {
    if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the preflight names the Debian package of each missing tool and runs nothing', { timeout: 60_000 }, async () => {
  // A PATH with nothing on it but a shell, and no cached Kafka jars: every tool is missing.
  const bin = join(dir, 'bin');
  const cache = join(dir, 'empty-cache');
  for (const d of [bin, cache]) mkdirSync(d);
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, METER_CACHE: cache };
  delete env.JAVA_HOME;
  delete env.METER_TEST_BROKERS;
  const run = await runRunner(['test/integration/kafka-command.test.ts'], env);
  assert.equal(run.code, 3, run.stderr);
  for (const [tool, pkg] of [['java', 'openjdk-17-jre-headless'], ['mvn', 'maven'], ['kcat', 'kcat'], ['openssl', 'openssl'], ['tmux', 'tmux'], ['ip', 'iproute2'], ['git', 'git'], ['prometheus_client', 'python3-prometheus-client']]) {
    assert.match(run.stderr, new RegExp(`^test/run\\.mjs: ${tool} is missing \\(.*\\): install the Debian package ${pkg} \\(apt-get install ${pkg}\\)$`, 'm'));
  }
  assert.match(run.stderr, /nothing was run; \.ci\/run installs all of these/);
  assert.doesNotMatch(run.stderr + run.stdout, /started a private Kafka/);
  assert.equal(run.stdout, '');
});

test('a test file that fails and hangs is ended at its timeout, with every process it started', { timeout: 120_000 }, async () => {
  const pidsFile = join(dir, 'pids');
  const id = randomUUID();
  const env = { ...process.env, FIXTURE_PIDS_FILE: pidsFile, FIXTURE_RUN_ID: id };
  const fileTimeout = 15;
  const run = await runRunner(['--file-timeout', String(fileTimeout), 'test/fixtures/runner/leaves-children-and-hangs.ts'], env);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  // The file's timeout, the sweep (a grace period, then SIGKILL) and the runner's own start and end.
  assert.ok(run.seconds < fileTimeout + 30, `the run took ${run.seconds} s`);
  assert.match(run.stderr, new RegExp(`leaves-children-and-hangs\\.ts did not finish within ${fileTimeout} s`));
  assert.match(run.stderr, /ended pid \d+ that test\/fixtures\/runner\/leaves-children-and-hangs\.ts left running: .*cli\.ts agent/);
  assert.match(run.stderr, /ended pid \d+ that .* left running: sh -c trap "" TERM/);
  assert.match(run.stdout, /failing on purpose/);
  assert.match(run.stdout, /leaves-children-and-hangs\.ts: timed out after 15 s/);
  assert.match(run.stdout, /^tests: 0 passed, 1 failed, 0 skipped$/m);

  const pids = readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number);
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is still running`);
  assert.deepEqual(processesWithEnv('FIXTURE_RUN_ID', id), [], 'nothing of the child run is left');
});

test('under CI=true a skipped test fails the run; elsewhere it is counted as skipped', { timeout: 60_000 }, async () => {
  const plain: NodeJS.ProcessEnv = { ...process.env };
  delete plain.CI;
  const local = await runRunner(['test/fixtures/runner/skips.ts'], plain);
  assert.equal(local.code, 0, local.stdout + local.stderr);
  assert.match(local.stdout, /^tests: 1 passed, 0 failed, 1 skipped$/m);

  const ci = await runRunner(['test/fixtures/runner/skips.ts'], { ...process.env, CI: 'true' });
  assert.equal(ci.code, 1, ci.stdout + ci.stderr);
  assert.match(ci.stdout, /skips\.ts: 1 skipped under CI=true, which must run everything: needs a tool this machine lacks.*frobnicate is not installed/);
  assert.match(ci.stdout, /^tests: 1 passed, 1 failed, 0 skipped$/m);
  assert.ok(existsSync(join(repoRoot, 'test', 'fixtures', 'runner', 'skips.ts')));
});

test("a failing test's reason is said again in the closing summary, without its stack", { timeout: 60_000 }, async () => {
  const run = await runRunner(['test/fixtures/runner/fails.ts'], { ...process.env });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const summary = run.stdout.slice(run.stdout.lastIndexOf('\nfailures:'));
  assert.match(summary, /^ {2}test\/fixtures\/runner\/fails\.ts: 1 failed$/m);
  assert.match(summary, /fails with its reason/);
  assert.match(summary, /applied 0 of 362; the worker said:\n.*first line of the reason\n.*second line of the reason/);
  assert.doesNotMatch(summary, /^\s+at /m, 'no stack frames');
  assert.match(summary, /^tests: 1 passed, 1 failed, 0 skipped$/m);
});

test('what a test file leaves in its temporary directory is removed when the file ends', { timeout: 60_000 }, async () => {
  const run = await runRunner(['test/fixtures/runner/leaves-temp-files.ts'], { ...process.env });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const left = /^LEFT (.+)$/m.exec(run.stdout)?.[1];
  assert.ok(left, run.stdout);
  // Under a directory of the file's own, not the machine's temporary directory itself.
  assert.ok(!left.startsWith(join(tmpdir(), 'meter-careless-')), left);
  assert.equal(existsSync(left), false, `${left} is still there`);
});
