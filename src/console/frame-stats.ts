// --stats-file (hidden): the live console's frame timings, written as JSON at exit, for
// test/bench/console.ts. A frame is one snapshot built and rendered: React and ink run synchronously
// inside it. SIGUSR2 starts the count afresh, so the benchmark measures its window and not start-up.
import { writeFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { ConsoleHub } from './console-hub.js';

export function frameStats(path: string | undefined, hub: ConsoleHub): { onRender: ((ms: number) => void) | undefined; write(): void } {
  if (!path) return { onRender: undefined, write: () => {} };
  let inkRenderMs: number[] = [];
  // A frame: from a snapshot handed to React until ink has written it (React's render, ink's layout
  // and output, and any wait between them).
  let frameMs: number[] = [];
  // The process's CPU time over the same span (all threads: V8's GC helpers too): what the frame
  // cost, without the time spent waiting for a core on a busy machine.
  let frameCpuMs: number[] = [];
  let cpuAtFrame: NodeJS.CpuUsage | null = null;
  // The first frames are start-up (module loading, first layout): reported apart unless reset.
  let skip = 3;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // The main thread's garbage collections (young and full) and their pauses: most of what V8's
  // helper threads do is for them, and the bench can say how often a full one runs.
  const gc = { minor: 0, major: 0, pauseMs: 0, majorPauseMaxMs: 0 };
  // Each pause's span, and each frame's, to tell how much of a slow frame was the collector's pause.
  let gcPauses: { at: number; ms: number }[] = [];
  let frameSpans: { at: number; ms: number; buildMs: number; renderMs: number; inkMs: number; drawnLater: boolean; sinceDrawMs: number; afterFrame: boolean }[] = [];
  // When ink last drew anything (a frame, a key press's screen): its throttle puts off a draw within 1/60 s of it.
  let lastDrawAt = -Infinity;
  // Whether that draw was a frame's (a snapshot handed out) or another (a key press's screen).
  let lastDrawWasFrame = false;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (gcPauses.length < 20_000) gcPauses.push({ at: entry.startTime, ms: entry.duration });
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.major++;
        gc.majorPauseMaxMs = Math.max(gc.majorPauseMaxMs, entry.duration);
      } else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
      gc.pauseMs += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  let ledgerPollMaxMs = 0;
  const sampler = setInterval(() => (ledgerPollMaxMs = Math.max(ledgerPollMaxMs, hub.ledger.lastPollMs)), 500);
  sampler.unref();
  const reset = () => {
    inkRenderMs = [];
    frameMs = [];
    frameCpuMs = [];
    skip = 0;
    loop.reset();
    hub.frameTimes.length = 0;
    ledgerPollMaxMs = 0;
    gcPauses = [];
    frameSpans = [];
    Object.assign(gc, { minor: 0, major: 0, pauseMs: 0, majorPauseMaxMs: 0 });
  };
  process.on('SIGUSR2', reset);
  hub.onFrameStart = () => {
    cpuAtFrame = process.cpuUsage();
  };
  return {
    onRender: (ms: number) => {
      inkRenderMs.push(ms);
      const drawnAt = lastDrawAt;
      const drawWasFrame = lastDrawWasFrame;
      lastDrawAt = performance.now();
      lastDrawWasFrame = hub.pendingFrameAt !== null;
      if (hub.pendingFrameAt !== null) {
        frameMs.push(performance.now() - hub.pendingFrameAt);
        if (frameSpans.length < 20_000) frameSpans.push({ at: hub.pendingFrameAt, ms: frameMs[frameMs.length - 1]!, buildMs: hub.lastBuildMs, renderMs: hub.lastRenderMs, inkMs: ms, drawnLater: hub.renderSettled, sinceDrawMs: hub.pendingFrameAt - drawnAt, afterFrame: drawWasFrame });
        hub.pendingFrameAt = null;
        if (cpuAtFrame) {
          const used = process.cpuUsage(cpuAtFrame);
          frameCpuMs.push((used.user + used.system) / 1000);
        }
        cpuAtFrame = null;
      }
    },
    write: () => {
      process.off('SIGUSR2', reset);
      loop.disable();
      gcObserver.disconnect();
      clearInterval(sampler);
      const steady = frameMs.slice(skip);
      const steadyCpu = frameCpuMs.slice(skip);
      // The collector's pauses inside the frames over 16 ms, summed per frame.
      const steadySpans = frameSpans.slice(skip);
      const slow = steadySpans.filter((f) => f.ms > 16);
      const gcInSlow = slow.map((f) => gcPauses.filter((g) => g.at >= f.at && g.at < f.at + f.ms).reduce((n, g) => n + Math.min(g.ms, f.at + f.ms - g.at), 0));
      writeFileSync(
        path,
        JSON.stringify({
          frames: steady.length,
          frameMaxMs: Math.max(0, ...steady),
          frameP99Ms: percentile(steady, 0.99),
          frameP50Ms: percentile(steady, 0.5),
          frameMeanMs: steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length),
          framesOver16Ms: steady.filter((ms) => ms > 16).length,
          framesOver50Ms: steady.filter((ms) => ms > 50).length,
          startupFramesMs: frameMs.slice(0, skip),
          frameCpuMaxMs: Math.max(0, ...steadyCpu),
          frameCpuP99Ms: percentile(steadyCpu, 0.99),
          frameCpuMeanMs: steadyCpu.reduce((a, b) => a + b, 0) / Math.max(1, steadyCpu.length),
          snapshotBuildMaxMs: Math.max(0, ...hub.frameTimes),
          inkRenderMaxMs: Math.max(0, ...inkRenderMs.slice(skip)),
          eventLoopDelayMaxMs: loop.max / 1e6,
          eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
          ledgerPollMaxMs,
          gcMinor: gc.minor,
          gcMajor: gc.major,
          gcPauseMs: gc.pauseMs,
          gcMajorPauseMaxMs: gc.majorPauseMaxMs,
          slowFramesMs: slow.reduce((n, f) => n + f.ms, 0),
          slowFramesGcPauseMs: gcInSlow.reduce((n, ms) => n + ms, 0),
          slowFramesBuildMs: slow.reduce((n, f) => n + f.buildMs, 0),
          slowFramesInkMs: slow.reduce((n, f) => n + f.inkMs, 0),
          slowFramesRenderMs: slow.reduce((n, f) => n + f.renderMs, 0),
          // Drawn after the hand-out, not during it: ink's throttle put the draw off (a draw within its
          // window before), and the event loop ran other work (the tail's batches) meanwhile.
          slowFramesDrawnLater: slow.filter((f) => f.drawnLater).length,
          framesDrawnLater: steadySpans.filter((f) => f.drawnLater).length,
          slowFramesSinceDrawMs: slow.map((f) => Math.round(f.sinceDrawMs)),
          slowFramesAfterFrame: slow.filter((f) => f.afterFrame).length,
          machines: hub.getSnapshot().machines.length,
          tailReceived: hub.tail.received,
          framesMs: steady.map((ms) => Math.round(ms * 10) / 10),
          // Each frame over 16 ms, its `at` in performance.now() milliseconds; a V8 CPU profile's sample
          // times are microseconds of the monotonic clock, which is performance.now() + this origin.
          slowFrames: slow,
          monotonicOriginUs: Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000,
        }),
      );
    },
  };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
