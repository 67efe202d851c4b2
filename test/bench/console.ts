// Benchmark of `meter console`: the live screen with a simulated fleet of 1,000 machines at a 5 s
// interval (a real agent --simulate and a real worker writing the ledger), for 60 s, in a real
// terminal (tmux at 120x40). It reports the console's CPU seconds and its longest frame, side by
// side with `top -b -d 1` running over the same 60 s on the same machine.
// Goal: under 5% of one core on average, no frame over 50 ms.
//
//   npm run bench:console
//   npm run bench:console -- --machines 1000 --seconds 60 --warmup 20
//
// It needs a broker (127.0.0.1:9092 or METER_TEST_BROKERS; `meter kafka start`), tmux and top. The
// console sorts by CPU (rows reorder on every update) and an operator's key is pressed every 10 s.
// Frame timings come from the console itself (its hidden --stats-file): a frame is one snapshot built
// plus the React render and ink's layout and write, which run synchronously inside it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    interval: { type: 'string', default: '5' },
    /** The console's --refresh (ms between frames); its own default when not given. */
    refresh: { type: 'string' },
    /** An operator's key press (j) every this many seconds; 0 for none. */
    'keys-every': { type: 'string', default: '10' },
    brokers: { type: 'string', default: process.env.METER_TEST_BROKERS ?? '127.0.0.1:9092' },
    /** NODE_OPTIONS for the console process only (e.g. V8 flags to try). */
    'node-options': { type: 'string' },
    /** Write a V8 CPU profile of the console into this directory. */
    profile: { type: 'string' },
    /** Write a V8 allocation (heap sampling) profile of the console into this directory. */
    'heap-profile': { type: 'string' },
  },
});
const MACHINES = Number(values.machines);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const brokers = values.brokers!;
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
// The built binary, as users run it (from source, tsx's loader thread would add its own CPU).
const cli = join(root, 'dist', 'src', 'cli.js');
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICKS = 100; // USER_HZ on Linux

/** CPU seconds so far of the main thread and of the others (V8's GC and compiler helpers, libuv's pool). */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : 'other threads';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {
      // the thread ended
    }
  }
  return out;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
}

const dir = mkdtempSync(join(tmpdir(), 'meter-bench-console-'));
const env = { ...process.env, METER_HOME: dir, METER_LOG_LEVEL: 'warn' };
const session = `meter-bench-console-${process.pid}`;
const children: ChildProcess[] = [];
const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function meter(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

function cleanup() {
  tmux('kill-session', '-t', session);
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

async function main() {
  for (const tool of ['tmux', 'top']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is needed for this benchmark`);
  }
  log('building dist/ (the benchmark measures the built binary, as users run it)');
  const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) log('(tsc reported errors; dist/ was still emitted)');
  const suffix = `${process.pid}_${Date.now()}`;
  const topic = `bench_console_${suffix}`;
  const group = `billing_bench_${suffix}`;
  const ledger = join(dir, 'ledger.db');
  const kafka = ['--brokers', brokers, '--topic', topic];
  log(`fleet: ${MACHINES} simulated machines every ${values.interval} s on ${topic}; worker into ${ledger}`);
  meter(['agent', '--simulate', String(MACHINES), '--interval', values.interval!, '--spool', join(dir, 'spool'), ...kafka]);
  meter(['worker', '--group', group, '--ledger', ledger, ...kafka]);
  await sleep(8000); // topic created, first samples billed

  const statsFile = join(dir, 'console-stats.json');
  const profile = [
    ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []),
    ...(values['heap-profile'] ? ['--heap-prof', `--heap-prof-dir=${values['heap-profile']}`] : []),
  ];
  const argv = [process.execPath, ...profile, cli, 'console', '--group', group, '--ledger', ledger, '--interval', values.interval!, '--stats-file', statsFile, ...(values.refresh ? ['--refresh', values.refresh] : []), ...kafka];
  const errFile = join(dir, 'console.err');
  const command = `cd ${quote(root)} && exec env METER_HOME=${quote(dir)}${values['node-options'] ? ` NODE_OPTIONS=${quote(values['node-options'])}` : ''} ${argv.map(quote).join(' ')} 2>${quote(errFile)}`;
  const started = tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', command);
  if (started.status !== 0) throw new Error(`tmux: ${started.stderr}`);
  const consolePid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').stdout.trim());
  log(`console: pid ${consolePid} in tmux ${session} (120x40); warming up ${WARMUP} s`);
  await sleep(WARMUP * 1000);
  if (!existsSync(`/proc/${consolePid}`)) throw new Error(`the console exited during warm-up: ${readFileSync(errFile, 'utf8').slice(-2000)}`);
  tmux('send-keys', '-t', session, 's'); // sort by CPU: rows reorder on every update

  // The measured window: the console and top -b -d 1, side by side, for SECONDS.
  const top = spawn('top', ['-b', '-d', '1', '-n', String(SECONDS)], { stdio: ['ignore', 'ignore', 'ignore'] });
  children.push(top);
  const cpu0 = { console: cpuSeconds(consolePid), top: cpuSeconds(top.pid!) };
  const threads0 = threadCpu(consolePid);
  const t0 = performance.now();
  const keysEvery = Number(values['keys-every']);
  const keys = keysEvery > 0 ? setInterval(() => tmux('send-keys', '-t', session, 'j'), keysEvery * 1000) : undefined;
  let topCpu = 0;
  top.on('exit', () => undefined);
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    try {
      topCpu = cpuSeconds(top.pid!) - cpu0.top;
    } catch {
      // top has finished: keep its last reading
    }
  }
  if (keys) clearInterval(keys);
  const wall = (performance.now() - t0) / 1000;
  const consoleCpu = cpuSeconds(consolePid) - cpu0.console;
  const threads1 = threadCpu(consolePid);
  const threads = Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, v - (threads0[k] ?? 0)]));
  const screen = tmux('capture-pane', '-t', session, '-p').stdout;

  tmux('send-keys', '-t', session, 'q');
  for (let i = 0; i < 50 && !existsSync(statsFile); i++) await sleep(200);
  const stats = existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, 'utf8')) : {};
  const quitAt = performance.now();
  for (let i = 0; i < 100 && existsSync(`/proc/${consolePid}`); i++) await sleep(100);
  const exitMs = performance.now() - quitAt;

  const pct = (cpu: number) => ((cpu / wall) * 100).toFixed(2);
  const rows = [
    ['', 'CPU s', '% of a core'],
    ['meter console', consoleCpu.toFixed(2), pct(consoleCpu)],
    ['top -b -d 1', topCpu.toFixed(2), pct(topCpu)],
  ];
  console.log(`\nmeter console, ${MACHINES} machines every ${values.interval} s, ${wall.toFixed(1)} s measured (after ${WARMUP} s warm-up), 120x40:`);
  for (const r of rows) console.log(`  ${r[0]!.padEnd(16)}${r[1]!.padStart(8)}${r[2]!.padStart(14)}`);
  console.log(`  of which, by thread: ${Object.entries(threads).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  console.log(`  ratio console / top: ${(consoleCpu / Math.max(topCpu, 0.01)).toFixed(2)}x`);
  const ms = (v: unknown) => `${Number(v).toFixed(1)} ms`;
  console.log(
    `  frames: ${stats.frames} (whole run; a frame = snapshot handed to React until ink has written it): longest ${ms(stats.frameMaxMs)}, p99 ${ms(stats.frameP99Ms)}, mean ${ms(stats.frameMeanMs)}`,
  );
  console.log(
    `    process CPU during a frame (all threads, so V8's parallel GC helpers add to it): longest ${ms(stats.frameCpuMaxMs)}, mean ${ms(stats.frameCpuMeanMs)}`,
  );
  console.log(
    `    of which: snapshot build longest ${ms(stats.snapshotBuildMaxMs)}, ink layout+output longest ${ms(stats.inkRenderMaxMs)}; start-up frames ${(stats.startupFramesMs ?? []).map((v: number) => v.toFixed(0)).join(', ')} ms`,
  );
  console.log(
    `  event loop delay: longest ${Number(stats.eventLoopDelayMaxMs).toFixed(1)} ms, p99 ${Number(stats.eventLoopDelayP99Ms).toFixed(1)} ms; ledger poll longest ${Number(stats.ledgerPollMaxMs).toFixed(1)} ms`,
  );
  console.log(`  machines on screen: ${stats.machines}, samples read by the live tail: ${stats.tailReceived}`);
  console.log(`  q to exit: ${existsSync(`/proc/${consolePid}`) ? 'still running after 10 s' : `${Math.round(exitMs)} ms after the stats were written`}`);
  const cpuOk = consoleCpu / wall < 0.05;
  const frameOk = Number(stats.frameMaxMs) <= 50;
  console.log(`  goal: < 5% of a core ${cpuOk ? 'MET' : 'MISSED'}; no frame over 50 ms ${frameOk ? 'MET' : 'MISSED'}`);
  if (!/sim-\w+-\d+/.test(screen)) log(`warning: no machines on the captured screen:\n${screen}`);
}

main()
  .catch((error) => {
    log(`bench:console failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    cleanup();
    await sleep(1500);
    rmSync(dir, { recursive: true, force: true });
  });
