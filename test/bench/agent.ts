// Benchmark of `meter agent`, with reference runs in the same run:
//  1. CPU seconds per hour and RSS of the host agent at the default 5 s interval, launched as hosts
//     launch it (the meter-agent bin, with its V8 flags) and serving --metrics, next to Debian's
//     prometheus-node-exporter (the usual alternative on a host) and an idle `node` process, over the
//     same period; both exporters are scraped every 5 s, so the agent's figure includes its scrapes.
//     Goals: agent CPU <= node_exporter's; agent RSS <= 1.5x the idle node's.
//  2. What the spool's fdatasync per append costs (the durability policy), in this process.
//  3. The `--simulate 10000` publish rate at 5 s (goal: 2,000 samples/s with no growing backlog).
// Usage: npm run bench:agent [-- --seconds 120 --fleet 10000]  (needs `meter kafka start` or a broker)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { repoRoot } from '../helpers/cli.js';
import { testBrokers, freePort } from '../helpers/broker.js';
import { Spool } from '../../src/agent/spool.js';
import { silentLogger } from '../../src/log/logger.js';
import { AGENT_V8_FLAGS } from '../../src/agent/v8-flags.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('seconds', 120);
const fleet = arg('fleet', 10_000);
const fleetSeconds = arg('fleet-seconds', 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 1/100 s
}
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

const cli = join(repoRoot, 'dist', 'src', 'cli.js');
const agentBin = join(repoRoot, 'dist', 'src', 'agent-cli.js');
function meter(args: string[]): ChildProcess {
  return spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, METER_LOG_LEVEL: 'warn' } });
}

async function scrape(url: string): Promise<number> {
  try {
    return (await (await fetch(url)).text()).length;
  } catch {
    return 0;
  }
}

/** Mean wall and CPU time of a host-sized spool append (one sample with its state), synced or not. */
function spoolAppendCost(sync: boolean, n = 300): { wallMs: number; cpuMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'meter-bench-spool-'));
  const spool = Spool.open(dir, { maxBytes: 256 << 20, logger: silentLogger, sync });
  const value = JSON.stringify({ v: 1, id: 'bench-1:1764252000000:1', machine: 'bench-1', labels: { team: 'search' }, start: 1, end: 2, cpu: { cores: 8, busySeconds: 1.5 }, mem: { totalBytes: 1, usedBytes: 1 } });
  const state = JSON.stringify({ boot: 'b', machine: 'bench-1', end: 2, wall: 2, mono: 3, busy: 4 });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) spool.append([{ key: 'bench-1', value }], state);
  const wallMs = (performance.now() - t0) / n;
  const cpu = process.cpuUsage(cpu0);
  spool.close();
  rmSync(dir, { recursive: true, force: true });
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

async function main() {
  console.log('building dist/ (the benchmark measures the built binary, as users run it)');
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) console.log('(tsc reported errors; dist/ was still emitted)');
  const brokers = await testBrokers();
  const topic = `bench_agent_${Date.now()}`;

  // 1. The host agent, node_exporter and an idle node, same period, both exporters scraped every 5 s.
  const spool = mkdtempSync(join(tmpdir(), 'meter-bench-'));
  const agentPort = await freePort();
  // As its shebang line runs it (tsc does not make dist/ files executable, so node is named here).
  const agent = spawn(process.execPath, [...AGENT_V8_FLAGS, agentBin, '--brokers', brokers, '--topic', topic, '--spool', spool, '--metrics', `127.0.0.1:${agentPort}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, METER_LOG_LEVEL: 'warn' },
  });
  const hasExporter = spawnSync(NODE_EXPORTER, ['--version']).status === 0;
  const exporterPort = await freePort();
  const exporter = hasExporter ? spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${exporterPort}`], { stdio: 'ignore' }) : undefined;
  if (!hasExporter) console.log(`(${NODE_EXPORTER} not found: apt-get install prometheus-node-exporter to compare with it)`);
  const idle = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  const scrapeAll = async () => {
    const sizes = await Promise.all([scrape(`http://127.0.0.1:${agentPort}/metrics`), exporter ? scrape(`http://127.0.0.1:${exporterPort}/metrics`) : 0]);
    return sizes;
  };
  const scraper = setInterval(() => void scrapeAll(), 5000);
  await sleep(12_000); // past start-up (module loading, first connect, topic creation)
  const cpu0 = { agent: cpuSeconds(agent.pid!), idle: cpuSeconds(idle.pid!), exporter: exporter ? cpuSeconds(exporter.pid!) : 0 };
  const rss = { agent: 0, idle: 0, exporter: 0 };
  console.log(`measuring the agent, node_exporter and an idle node at a 5 s interval/scrape for ${seconds} s ...`);
  for (let t = 0; t < seconds; t += 5) {
    await sleep(5000);
    rss.agent = Math.max(rss.agent, rssMiB(agent.pid!));
    rss.idle = Math.max(rss.idle, rssMiB(idle.pid!));
    if (exporter) rss.exporter = Math.max(rss.exporter, rssMiB(exporter.pid!));
  }
  const [agentBytes, exporterBytes] = await scrapeAll();
  const used = {
    agent: cpuSeconds(agent.pid!) - cpu0.agent,
    idle: cpuSeconds(idle.pid!) - cpu0.idle,
    exporter: exporter ? cpuSeconds(exporter.pid!) - cpu0.exporter : 0,
  };
  clearInterval(scraper);
  agent.kill('SIGTERM');
  exporter?.kill('SIGTERM');
  idle.kill();
  const perHour = (s: number) => (s / seconds) * 3600;
  const coreShare = (used.agent / seconds) * 100;

  // 2. The durability policy's cost: fdatasync after each append.
  const synced = spoolAppendCost(true);
  const unsynced = spoolAppendCost(false);

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
  console.log('\nmeter-agent (host agent, V8 flags from its shebang), default 5 s interval, --metrics scraped every 5 s');
  console.log(`  CPU: agent ${perHour(used.agent).toFixed(2)} s/h (${coreShare.toFixed(3)}% of one core), idle node ${perHour(used.idle).toFixed(2)} s/h`);
  if (exporter) {
    console.log(`  CPU: node_exporter ${perHour(used.exporter).toFixed(2)} s/h (scraped every 5 s, ${exporterBytes} bytes a scrape; the agent's: ${agentBytes}), agent/node_exporter ${(used.agent / Math.max(used.exporter, 0.01)).toFixed(2)}x (goal <= 1x)`);
  }
  console.log(`  RSS: agent ${rss.agent.toFixed(1)} MiB, idle node ${rss.idle.toFixed(1)} MiB, ratio ${(rss.agent / rss.idle).toFixed(2)}x (goal <= 1.5x)${exporter ? `; node_exporter ${rss.exporter.toFixed(1)} MiB` : ''}`);
  console.log('spool append of one host sample with its state (durability policy: fdatasync each append)');
  console.log(`  with fdatasync ${synced.wallMs.toFixed(3)} ms wall, ${synced.cpuMs.toFixed(3)} ms CPU; without ${unsynced.wallMs.toFixed(3)} ms wall, ${unsynced.cpuMs.toFixed(3)} ms CPU`);
  console.log(`  at one append per 5 s: ${((synced.cpuMs * 720) / 1000).toFixed(3)} CPU-s/h with fdatasync vs ${((unsynced.cpuMs * 720) / 1000).toFixed(3)} without`);
  console.log(`meter agent --simulate ${fleet}, 5 s interval`);
  console.log(`  published ${total} of ${ticks * fleet} samples generated in ${ticks} ticks: ${rate.toFixed(0)} samples/s (needed ${(fleet / 5).toFixed(0)}/s), ratio ${(rate / (fleet / 5)).toFixed(2)}x`);
  console.log(`  backlog (generated - on the wire) every 5 s: ${backlog.join(' ')}`);
  console.log(`  agent CPU ${((simCpu / (fleetSeconds)) * 100).toFixed(1)}% of one core, RSS ${simRss.toFixed(0)} MiB`);
}

await main();
