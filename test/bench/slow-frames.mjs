// Where a console's slow frames went: reads `npm run bench:console -- --profile DIR`'s output (each
// console's CPU profiles and its stats, whose slowFrames are spans on the profiles' clock once
// monotonicOriginUs is added) and prints, for each frame over 16 ms, the functions the main thread
// was sampled in during it, by time, each with the call path that led there.
//
//   node test/bench/slow-frames.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node test/bench/slow-frames.mjs DIR (the --profile directory of npm run bench:console)\n');
  process.exit(2);
}
const files = readdirSync(dir);
const statsFiles = files.filter((f) => /^console-stats-\d+\.json$/.test(f));
if (statsFiles.length === 0) {
  process.stderr.write(`slow-frames: no console-stats-N.json in ${dir}: run npm run bench:console -- --profile ${dir} first\n`);
  process.exit(2);
}

/** Each profile's samples as { atUs, path } on the monotonic clock, the leaf first in the path. */
function samplesOf(file) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  const pathOf = (id) => {
    const names = [];
    for (let at = id; byId.has(at) && names.length < 6; at = parentOf.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at).callFrame;
      names.push(`${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`);
    }
    return names.join(' < ');
  };
  let atUs = profile.startTime;
  return profile.samples.map((id, i) => ({ atUs: (atUs += profile.timeDeltas[i]), path: pathOf(id) }));
}

// The console's threads each write a profile; its main thread's is the one busy during the frames.
const profiles = files.filter((f) => f.endsWith('.cpuprofile')).map((f) => ({ file: f, samples: samplesOf(f) }));
for (const statsFile of statsFiles) {
  const stats = JSON.parse(readFileSync(join(dir, statsFile), 'utf8'));
  console.log(`${statsFile}: ${stats.slowFrames?.length ?? 0} frame(s) over 16 ms of ${stats.frames}`);
  for (const frame of stats.slowFrames ?? []) {
    const fromUs = stats.monotonicOriginUs + frame.at * 1000;
    const toUs = fromUs + frame.ms * 1000;
    console.log(`\n  frame at ${(frame.at / 1000).toFixed(1)} s: ${frame.ms.toFixed(1)} ms (the stats' split: build ${frame.buildMs.toFixed(1)}, render ${frame.renderMs.toFixed(1)}, ink ${frame.inkMs.toFixed(1)} ms)`);
    for (const { file, samples } of profiles) {
      const during = samples.filter((s) => s.atUs >= fromUs && s.atUs <= toUs && !s.path.startsWith('(idle)'));
      if (during.length === 0) continue;
      console.log(`    ${file}: ${during.length} busy samples`);
      for (const s of during) console.log(`      +${((s.atUs - fromUs) / 1000).toFixed(1).padStart(5)} ms  ${s.path}`);
    }
  }
}
