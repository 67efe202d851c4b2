// Benchmark of `meter console`: the live screen with simulated fleets (a real agent --simulate and a
// real worker writing the ledger) at a 5 s interval, in real terminals (tmux) of 200x60 and 120x40,
// each measured for 60 s beside `top -b -d 1` over the same seconds. Per run: the console's CPU (% of
// one core), frames (p99 and longest), key presses from tmux send-keys to the changed screen in
// tmux capture-pane, RSS, and the header's tail rate against the agent's known rate; beside them, a
// bare kafkajs consumer of the same topic with the tail's fetch settings (test/bench/tail-reference.mjs):
// what receiving the messages costs before the console does anything with them. Then
// `meter console --once --json` on the biggest fleet, timed.
// Goals at 10,000 machines: < 3% of a core, p99 frame <= 16 ms and none over 50 ms, a key on screen
// within 50 ms, --once --json under 2 s.
//
//   npm run bench:console
//   npm run bench:console -- --fleets 10000,1000 --sizes 200x60,120x40 --seconds 60 --warmup 20
//   npm run bench:console -- --fleets 10000 --sizes 200x60 --profile DIR --heap-profile DIR
//     (--profile also writes a CPU profile of each --once --json run, under DIR/once, and each
//     console's stats beside its profiles; `node test/bench/slow-frames.mjs DIR` then prints what
//     the main thread was sampled in during each frame over 16 ms)
//   npm run bench:console -- --fleets 10000 --sizes 200x60 --no-once --heap-profile DIR --heap-profile-young
//   npm run bench:console -- --fleets 10000 --sizes 200x60 --no-once --warmup 130 --spread
//     (a console past its first two minutes, its traces full; the fleet's samples spread over the interval)
//   npm run bench:console -- --fleets 10000 --fleet-age 120
//     (a console opened on a fleet that has run for two minutes, as one in service has)
//   npm run bench:console -- --fleets 10000 --sizes 200x60 --live-from topic
//     (the console reading every message of the topic, as it did before the ledger was its live source)
//
// It needs a broker (127.0.0.1:9092 or METER_TEST_BROKERS; `meter kafka start`), tmux and top. The
// console sorts by CPU (rows reorder on every update); `?` is pressed and pressed again (help on,
// help off) every few seconds to time keys. Frame timings come from the console itself (its hidden
// --stats-file): a frame is one snapshot built plus React's render and ink's layout and write.
// On a machine shared with other work the figures move: compare the console with top in the same run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { brokerAnswers } from '../../src/kafka/broker-probe.js';

const { values } = parseArgs({
  options: {
    fleets: { type: 'string', default: '10000,1000' },
    sizes: { type: 'string', default: '200x60,120x40' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    interval: { type: 'string', default: '5' },
    /** The console's --refresh (ms between frames); its own default when not given. */
    refresh: { type: 'string' },
    /** Seconds between key timings (each is two presses: help on, help off); 0 for none. */
    'keys-every': { type: 'string', default: '6' },
    brokers: { type: 'string', default: process.env.METER_TEST_BROKERS ?? '127.0.0.1:9092' },
    /** node flags for the console process only, on its command line (e.g. V8 flags to try, which NODE_OPTIONS refuses). */
    'node-options': { type: 'string' },
    /** Write a V8 CPU profile of each console into this directory, with its frame stats. */
    profile: { type: 'string' },
    /**
     * Write a sampling heap profile of each console's measured window into this directory: what
     * outlives young collections, i.e. what full collections mark and free (test/bench/heap-sample.mjs).
     */
    'heap-profile': { type: 'string' },
    /** With --heap-profile: keep what young collections free too, so the profile shows all the garbage made. */
    'heap-profile-young': { type: 'boolean', default: false },
    /**
     * Spread the simulated machines' samples over the interval (`agent --simulate-spread`), as real
     * agents' arrive, instead of the whole fleet at one instant every interval (the simulator's
     * default, as after an outage).
     */
    spread: { type: 'boolean', default: false },
    /**
     * The console's --live-from: its default (the ledger's accepted samples, the bench's ledger being
     * SQLite) or `topic` (every message of the topic, the source before; the reference is its cost).
     */
    'live-from': { type: 'string' },
    /**
     * Seconds the fleet and its worker run before the first console opens (the console's own age is
     * --warmup). With 120 or more the ledger holds two minutes of samples, so the console starts with
     * full traces, as one opened on a fleet in service does.
     */
    'fleet-age': { type: 'string', default: '10' },
    /** Skip the --once --json timing. */
    'no-once': { type: 'boolean', default: false },
  },
});
const FLEETS = values.fleets!.split(',').map(Number);
const SIZES = values.sizes!.split(',').map((s) => s.split('x').map(Number) as [number, number]);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const INTERVAL = Number(values.interval);
const brokers = values.brokers!;
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
// The built binary, as users run it (from source, tsx's loader thread would add its own CPU).
const cli = join(root, 'dist', 'src', 'cli.js');
const liveFrom = values['live-from'] ? ['--live-from', values['live-from']] : [];
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICKS = 100; // USER_HZ on Linux

/** CPU seconds so far of the main thread, the ledger thread and the others (V8's GC and compiler helpers, libuv's pool). */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // By the thread's name: the ledger thread names itself; V8's helpers (GC, compiler) and libuv's
      // pool are all "node", like main.
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = tid === String(pid) ? 'main' : comm === 'meter-ledger' ? 'ledger thread' : 'V8 and libuv helpers';
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

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const dir = mkdtempSync(join(tmpdir(), 'meter-bench-console-'));
const env = { ...process.env, METER_HOME: dir, METER_LOG_LEVEL: 'warn' };
const children: ChildProcess[] = [];
const sessions: string[] = [];
// A tmux server of its own: sessions of other work on the machine (and their clean-ups) cannot touch it.
const socket = `meter-bench-console-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function meter(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

function cleanup() {
  for (const s of sessions) tmux('kill-session', '-t', s);
  tmux('kill-server');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

/**
 * Presses `key` and waits until the captured screen satisfies `done`: the milliseconds from
 * send-keys to the first capture that shows it (polled as fast as tmux answers), or null after 2 s.
 */
async function timeKey(session: string, key: string, done: (screen: string) => boolean): Promise<number | null> {
  const started = performance.now();
  tmux('send-keys', '-t', session, key);
  while (performance.now() - started < 2000) {
    if (done(tmux('capture-pane', '-t', session, '-p').stdout)) return performance.now() - started;
    await sleep(1);
  }
  return null;
}

interface RunResult {
  machines: number;
  size: string;
  wall: number;
  consoleCpu: number;
  topCpu: number;
  /** The bare kafkajs consumer's CPU over the same window, and the messages it received. */
  referenceCpu: number;
  referenceMessages: number | null;
  threads: Record<string, number>;
  stats: Record<string, number> & { slowFramesSinceDrawMs?: number[] };
  keysMs: number[];
  keysMissed: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  tailRate: number | null;
}

async function measureConsole(machines: number, [columns, rows]: [number, number], topic: string, group: string, ledger: string): Promise<RunResult> {
  const session = `meter-bench-console-${process.pid}-${sessions.length}`;
  sessions.push(session);
  const statsFile = join(dir, `console-stats-${sessions.length}.json`);
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
  const nodeFlags = values['node-options'] ? values['node-options'].split(/\s+/).filter(Boolean) : [];
  if (values['heap-profile']) nodeFlags.push('--import', join(root, 'test', 'bench', 'heap-sample.mjs'));
  const argv = [process.execPath, ...nodeFlags, ...profile, cli, 'console', '--brokers', brokers, '--topic', topic, '--group', group, '--ledger', ledger, '--interval', String(INTERVAL), '--stats-file', statsFile, ...(values.refresh ? ['--refresh', values.refresh] : []), ...liveFrom];
  const errFile = join(dir, `console-${sessions.length}.err`);
  const heapProfile = values['heap-profile']
    ? ` METER_BENCH_HEAP_PROFILE=${quote(values['heap-profile'])}${values['heap-profile-young'] ? ' METER_BENCH_HEAP_PROFILE_YOUNG=1' : ''}`
    : '';
  const command = `cd ${quote(root)} && exec env METER_HOME=${quote(dir)}${heapProfile} ${argv.map(quote).join(' ')} 2>${quote(errFile)}`;
  const started = tmux('new-session', '-d', '-s', session, '-x', String(columns), '-y', String(rows), command);
  if (started.status !== 0) throw new Error(`tmux: ${started.stderr}`);
  const consolePid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').stdout.trim());
  // The reference joins its own group during the warm-up, as the console's tail does.
  const reference = spawn(process.execPath, [join(root, 'test', 'bench', 'tail-reference.mjs'), brokers, topic], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(reference);
  let referenceOut = '';
  reference.stdout!.on('data', (chunk: Buffer) => (referenceOut += chunk.toString()));
  log(`console: ${machines} machines, pid ${consolePid} in tmux ${session} (${columns}x${rows}); warming up ${WARMUP} s`);
  await sleep(WARMUP * 1000);
  if (!existsSync(`/proc/${consolePid}`)) throw new Error(`the console exited during warm-up: ${readFileSync(errFile, 'utf8').slice(-2000)}`);
  tmux('send-keys', '-t', session, 's'); // sort by CPU: rows reorder on every update
  await sleep(1000);

  // The measured window: the console and top -b -d 1, side by side, for SECONDS.
  const top = spawn('top', ['-b', '-d', '1', '-n', String(SECONDS)], { stdio: ['ignore', 'ignore', 'ignore'] });
  children.push(top);
  // The console's frame statistics start afresh here: they cover the measured window only.
  process.kill(consolePid, 'SIGUSR2');
  if (reference.exitCode !== null) throw new Error(`the reference consumer exited during warm-up (code ${reference.exitCode})`);
  const cpu0 = { console: cpuSeconds(consolePid), top: cpuSeconds(top.pid!), reference: cpuSeconds(reference.pid!) };
  const threads0 = threadCpu(consolePid);
  const t0 = performance.now();
  const keysEvery = Number(values['keys-every']) * 1000;
  const keysMs: number[] = [];
  let keysMissed = 0;
  let nextKeys = t0 + keysEvery / 2;
  let topCpu = 0;
  let rssMax = 0;
  let nextSecond = t0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const now = performance.now();
    if (now >= nextSecond) {
      rssMax = Math.max(rssMax, rssMiB(consolePid));
      try {
        topCpu = cpuSeconds(top.pid!) - cpu0.top;
      } catch {
        // top has finished: keep its last reading
      }
      nextSecond += 1000;
    }
    if (keysEvery > 0 && now >= nextKeys) {
      // Help on (its title appears), then off (gone): both are key presses drawn.
      for (const [key, done] of [
        ['?', (s: string) => /│ Keys/.test(s)],
        ['?', (s: string) => !/│ Keys/.test(s)],
      ] as const) {
        const ms = await timeKey(session, key, done);
        if (ms === null) keysMissed++;
        else keysMs.push(ms);
      }
      nextKeys += keysEvery;
    }
    await sleep(50);
  }
  const wall = (performance.now() - t0) / 1000;
  const consoleCpu = cpuSeconds(consolePid) - cpu0.console;
  const referenceCpu = cpuSeconds(reference.pid!) - cpu0.reference;
  reference.kill('SIGTERM');
  for (let i = 0; i < 50 && reference.exitCode === null; i++) await sleep(100);
  const referenceMessages = /"messages":(\d+)/.exec(referenceOut);
  const threads1 = threadCpu(consolePid);
  const threads = Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, v - (threads0[k] ?? 0)]));
  const rssEnd = rssMiB(consolePid);
  const screen = tmux('capture-pane', '-t', session, '-p').stdout;
  const tail = /(?:tail|ledger) ([\d,.]+)\/s/.exec(screen);
  if (!/sim-\w+-\d+/.test(screen)) log(`warning: no machines on the captured screen:\n${screen}`);

  tmux('send-keys', '-t', session, 'q');
  for (let i = 0; i < 50 && !existsSync(statsFile); i++) await sleep(200);
  const stats = existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, 'utf8')) : {};
  // Beside the CPU profiles: the slow frames' spans, on the profiles' clock (monotonicOriginUs).
  if (values.profile && existsSync(statsFile)) copyFileSync(statsFile, join(values.profile, basename(statsFile)));
  for (let i = 0; i < 100 && existsSync(`/proc/${consolePid}`); i++) await sleep(100);
  tmux('kill-session', '-t', session);
  return {
    machines,
    size: `${columns}x${rows}`,
    wall,
    consoleCpu,
    topCpu,
    referenceCpu,
    referenceMessages: referenceMessages ? Number(referenceMessages[1]) : null,
    threads,
    stats,
    keysMs,
    keysMissed,
    rssMaxMiB: rssMax,
    rssEndMiB: rssEnd,
    tailRate: tail ? Number(tail[1]!.replace(/,/g, '')) : null,
  };
}

function report(r: RunResult): void {
  const pct = (cpu: number) => ((cpu / r.wall) * 100).toFixed(2);
  const ms = (v: unknown) => `${Number(v).toFixed(1)} ms`;
  const known = r.machines / INTERVAL;
  console.log(`\nmeter console, ${r.machines} machines every ${INTERVAL} s, ${r.size}, ${r.wall.toFixed(1)} s measured (after ${WARMUP} s warm-up):`);
  console.log(`  ${''.padEnd(16)}${'CPU s'.padStart(8)}${'% of a core'.padStart(14)}`);
  console.log(`  ${'meter console'.padEnd(16)}${r.consoleCpu.toFixed(2).padStart(8)}${pct(r.consoleCpu).padStart(14)}`);
  console.log(`  ${'top -b -d 1'.padEnd(16)}${r.topCpu.toFixed(2).padStart(8)}${pct(r.topCpu).padStart(14)}`);
  console.log(`  ${'kafkajs alone'.padEnd(16)}${r.referenceCpu.toFixed(2).padStart(8)}${pct(r.referenceCpu).padStart(14)}   (same topic and fetch settings, messages untouched; ${r.referenceMessages ?? '?'} received in all)`);
  console.log(`  of which, by thread: ${Object.entries(r.threads).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; ratio console / top: ${(r.consoleCpu / Math.max(r.topCpu, 0.01)).toFixed(2)}x`);
  console.log(`  frames: ${r.stats.frames} in the window: median ${ms(r.stats.frameP50Ms)}, p99 ${ms(r.stats.frameP99Ms)}, longest ${ms(r.stats.frameMaxMs)}, mean ${ms(r.stats.frameMeanMs)}; ${r.stats.framesOver16Ms} over 16 ms, ${r.stats.framesOver50Ms} over 50 ms`);
  console.log(`    snapshot build longest ${ms(r.stats.snapshotBuildMaxMs)}, ink layout+output longest ${ms(r.stats.inkRenderMaxMs)}, ledger poll (its thread) longest ${ms(r.stats.ledgerPollMaxMs)}`);
  console.log(`    process CPU during a frame (all threads): mean ${ms(r.stats.frameCpuMeanMs)}, p99 ${ms(r.stats.frameCpuP99Ms)}, longest ${ms(r.stats.frameCpuMaxMs)}; event loop delay p99 ${ms(r.stats.eventLoopDelayP99Ms)}, longest ${ms(r.stats.eventLoopDelayMaxMs)}`);
  console.log(`    main thread's garbage collections: ${r.stats.gcMinor} young, ${r.stats.gcMajor} full (longest full pause ${ms(r.stats.gcMajorPauseMaxMs)}), ${ms(r.stats.gcPauseMs)} of pauses in all; of the frames over 16 ms (${ms(r.stats.slowFramesMs)} in all), ${ms(r.stats.slowFramesGcPauseMs)} was collector pauses, ${ms(r.stats.slowFramesBuildMs)} snapshot builds, ${ms(r.stats.slowFramesRenderMs)} React's renders (with ink's layout+output when drawn at once; ink's alone ${ms(r.stats.slowFramesInkMs)}); ${r.stats.slowFramesDrawnLater ?? '—'} of them drawn after their render, put off by ink's throttle (${r.stats.framesDrawnLater ?? '—'} of all ${r.stats.frames} frames; ink drew ${(r.stats.slowFramesSinceDrawMs ?? []).join(', ') || '—'} ms before each slow one, ${r.stats.slowFramesAfterFrame ?? '—'} of those draws a frame's)`);
  console.log(`  keys (send-keys to the changed capture-pane, ${r.keysMs.length} presses${r.keysMissed ? `, ${r.keysMissed} not seen within 2 s` : ''}): median ${ms(percentile(r.keysMs, 0.5))}, p90 ${ms(percentile(r.keysMs, 0.9))}, longest ${ms(Math.max(...r.keysMs))}`);
  console.log(`  RSS: ${r.rssMaxMiB.toFixed(0)} MiB at most, ${r.rssEndMiB.toFixed(0)} MiB at the end`);
  console.log(`  tail rate shown: ${r.tailRate ?? '—'}/s, the agent's ${known}/s: ${r.tailRate === null ? '—' : `${((Math.abs(r.tailRate - known) / known) * 100).toFixed(1)}% off`}`);
  console.log(`  machines on screen: ${r.stats.machines}, samples read by the live tail: ${r.stats.tailReceived}`);
  if (r.machines >= 10_000 && r.stats.tailReceived === 0) {
    console.log('  goals: not judged: the console read no samples (is the agent reaching the broker?)');
  } else if (r.machines >= 10_000) {
    const cpuOk = r.consoleCpu / r.wall < 0.03;
    const p99Ok = Number(r.stats.frameP99Ms) <= 16;
    const maxOk = Number(r.stats.frameMaxMs) <= 50;
    const keysOk = r.keysMs.length > 0 && r.keysMissed === 0 && Math.max(...r.keysMs) <= 50;
    const m = (ok: boolean) => (ok ? 'MET' : 'MISSED');
    console.log(`  goals: < 3% of a core ${m(cpuOk)}; p99 frame <= 16 ms ${m(p99Ok)}; no frame over 50 ms ${m(maxOk)}; keys within 50 ms ${m(keysOk)}`);
  }
}

async function timeOnceJson(topic: string, group: string, ledger: string, machines: number): Promise<void> {
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(values.profile, 'once')}`] : [];
  const runs: number[] = [];
  let listed = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const out = spawnSync(process.execPath, [...profile, cli, 'console', '--once', '--json', '--brokers', brokers, '--topic', topic, '--group', group, '--ledger', ledger, '--interval', String(INTERVAL), ...liveFrom], { cwd: root, env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
    runs.push((performance.now() - t) / 1000);
    if (out.status !== 0) throw new Error(`console --once --json failed: ${out.stderr}`);
    listed = (JSON.parse(out.stdout) as { machines: unknown[] }).machines.length;
  }
  console.log(`\nmeter console --once --json, ${machines} machines: ${runs.map((s) => `${s.toFixed(2)} s`).join(', ')} (wall, process start to exit; ${listed} machines listed); goal < 2 s ${Math.min(...runs) < 2 ? 'MET' : 'MISSED'} (best of 3)`);
}

async function main() {
  for (const tool of ['tmux', 'top']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is needed for this benchmark`);
  }
  // At once and in one line, rather than a measured empty console.
  if (!(await brokerAnswers(brokers, 3000))) {
    throw new Error(`no Kafka broker answers at ${brokers}: start one with \`meter kafka start\`, then pass --brokers or set METER_TEST_BROKERS`);
  }
  log('building dist/ (the benchmark measures the built binary, as users run it)');
  const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) log('(tsc reported errors; dist/ was still emitted)');
  const results: RunResult[] = [];
  for (const machines of FLEETS) {
    const suffix = `${machines}_${process.pid}_${Date.now()}`;
    const topic = `bench_console_${suffix}`;
    const group = `billing_bench_${suffix}`;
    const ledger = join(dir, `ledger-${machines}.db`);
    const kafka = ['--brokers', brokers, '--topic', topic];
    log(`fleet: ${machines} simulated machines every ${INTERVAL} s (${values.spread ? 'spread over the interval' : 'in step: all at one instant'}) on ${topic}; worker into ${ledger}`);
    const agent = meter(['agent', '--simulate', String(machines), ...(values.spread ? ['--simulate-spread'] : []), '--interval', String(INTERVAL), '--spool', join(dir, `spool-${machines}`), ...kafka]);
    const worker = meter(['worker', '--group', group, '--ledger', ledger, ...kafka]);
    log(`fleet running for ${values['fleet-age']} s before the console opens`);
    await sleep(Number(values['fleet-age']) * 1000); // topic created, first samples billed (the default, 10 s)
    for (const size of SIZES) {
      const r = await measureConsole(machines, size, topic, group, ledger);
      report(r);
      results.push(r);
    }
    if (!values['no-once'] && machines === Math.max(...FLEETS)) await timeOnceJson(topic, group, ledger, machines);
    agent.kill('SIGTERM');
    worker.kill('SIGTERM');
    await sleep(3000);
  }
  console.log('\nsummary (machines, size: CPU % of a core [top, kafkajs alone beside it], frame p99 / longest, key longest, RSS max):');
  for (const r of results) {
    console.log(
      `  ${String(r.machines).padStart(6)} ${r.size.padEnd(7)} ${((r.consoleCpu / r.wall) * 100).toFixed(2)}% [top ${((r.topCpu / r.wall) * 100).toFixed(2)}%, kafkajs ${((r.referenceCpu / r.wall) * 100).toFixed(2)}%]  ${Number(r.stats.frameP99Ms).toFixed(1)} / ${Number(r.stats.frameMaxMs).toFixed(1)} ms  keys ${Math.max(...r.keysMs).toFixed(0)} ms  ${r.rssMaxMiB.toFixed(0)} MiB`,
    );
  }
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
