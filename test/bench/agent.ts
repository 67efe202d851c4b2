// Benchmark of `meter agent`, with reference runs in the same run:
//  1. CPU seconds per hour and RSS of the agent at the default 5 s interval, next to an idle
//     `node -e 'setInterval(()=>{},1e9)'` process measured over the same period.
//  2. The `--simulate 10000` publish rate at 5 s (goal: 2,000 samples/s with no growing backlog).
// Usage: npm run bench:agent [-- --seconds 120 --fleet 10000]  (needs `meter kafka start` or a broker)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { repoRoot } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 120);
const fleet = arg('fleet', 10_000);
const fleetSeconds = arg('fleet-seconds', 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 1/100 s
}
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

const cli = join(repoRoot, 'dist', 'src', 'cli.js');
function meter(args: string[]): ChildProcess {
  return spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, METER_LOG_LEVEL: 'warn' } });
}

async function main() {
  console.log('building dist/ (the benchmark measures the built binary, as users run it)');
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) console.log('(tsc reported errors; dist/ was still emitted)');
  const brokers = await testBrokers();
  const topic = `bench_agent_${Date.now()}`;

  // 1. Agent at the default interval vs an idle node process, same period.
  const spool = mkdtempSync(join(tmpdir(), 'meter-bench-'));
  const agent = meter(['agent', '--brokers', brokers, '--topic', topic, '--spool', spool]);
  const idle = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  await sleep(12_000); // past start-up (module loading, first connect, topic creation)
  const cpu0 = { agent: cpuSeconds(agent.pid!), idle: cpuSeconds(idle.pid!) };
  const rss = { agent: 0, idle: 0 };
  console.log(`measuring the agent at the default 5 s interval for ${seconds} s ...`);
  for (let t = 0; t < seconds; t += 5) {
    await sleep(5000);
    rss.agent = Math.max(rss.agent, rssMiB(agent.pid!));
    rss.idle = Math.max(rss.idle, rssMiB(idle.pid!));
  }
  const used = { agent: cpuSeconds(agent.pid!) - cpu0.agent, idle: cpuSeconds(idle.pid!) - cpu0.idle };
  agent.kill('SIGTERM');
  idle.kill();
  const perHour = (s: number) => (s / seconds) * 3600;
  const coreShare = (used.agent / seconds) * 100;

  // 2. The simulated fleet: samples on the topic against samples generated.
  const simTopic = `bench_sim_${Date.now()}`;
  const simSpool = mkdtempSync(join(tmpdir(), 'meter-bench-sim-'));
  const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const onWire = async () => {
    try {
      return (await admin.fetchTopicOffsets(simTopic)).reduce((sum, p) => sum + Number(p.high), 0);
    } catch {
      return 0;
    }
  };
  console.log(`publishing --simulate ${fleet} at 5 s for ${fleetSeconds} s ...`);
  const sim = meter(['agent', '--brokers', brokers, '--topic', simTopic, '--simulate', String(fleet), '--spool', simSpool]);
  const simStart = Date.now();
  await sleep(3000);
  const simCpu0 = cpuSeconds(sim.pid!);
  const backlog: number[] = [];
  let first = 0;
  for (let t = 0; t < fleetSeconds; t += 5) {
    await sleep(5000);
    const wire = await onWire();
    if (!first && wire > 0) first = wire;
    const generated = Math.floor((Date.now() - simStart) / 5000) * fleet;
    backlog.push(Math.max(0, generated - wire));
  }
  const simCpu = cpuSeconds(sim.pid!) - simCpu0;
  const simRss = rssMiB(sim.pid!);
  const total = await onWire();
  const stoppedAt = Date.now();
  sim.kill('SIGTERM');
  await admin.deleteTopics({ topics: [topic, simTopic] }).catch(() => undefined);
  await admin.disconnect();
  await sleep(2000);
  rmSync(spool, { recursive: true, force: true });
  rmSync(simSpool, { recursive: true, force: true });

  // Generated at one batch per 5 s tick: the rate the fleet asked for is fleet/5 per second.
  const ticks = Math.floor((stoppedAt - simStart) / 5000);
  const rate = total / (ticks * 5);
  console.log('\nmeter agent, default 5 s interval');
  console.log(`  CPU: agent ${perHour(used.agent).toFixed(2)} s/h (${coreShare.toFixed(3)}% of one core; goal <= 0.2%), idle node ${perHour(used.idle).toFixed(2)} s/h`);
  console.log(`  RSS: agent ${rss.agent.toFixed(1)} MiB, idle node ${rss.idle.toFixed(1)} MiB, ratio ${(rss.agent / rss.idle).toFixed(2)}x (goal <= 1.5x)`);
  console.log(`meter agent --simulate ${fleet}, 5 s interval`);
  console.log(`  published ${total} of ${ticks * fleet} samples generated in ${ticks} ticks: ${rate.toFixed(0)} samples/s (needed ${(fleet / 5).toFixed(0)}/s), ratio ${(rate / (fleet / 5)).toFixed(2)}x`);
  console.log(`  backlog (generated - on the wire) every 5 s: ${backlog.join(' ')}`);
  console.log(`  agent CPU ${((simCpu / (fleetSeconds)) * 100).toFixed(1)}% of one core, RSS ${simRss.toFixed(0)} MiB`);
}

await main();
