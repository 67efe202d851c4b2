// Preload for `npm run bench:console -- --heap-profile DIR`: V8's sampling heap profiler on the
// console's main thread over the measured window (from the bench's SIGUSR2 to exit), keeping the
// objects that outlive young collections, so the profile shows what full collections have to mark
// and free (with --heap-profile-young, METER_BENCH_HEAP_PROFILE_YOUNG=1: every object, so it shows
// all the garbage made). Open the .heapprofile in Chrome DevTools (Memory). Plain JS: node loads it with --import.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.METER_BENCH_HEAP_PROFILE;
if (isMainThread && dir) {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', () => {
    if (sampling) return;
    sampling = true;
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.METER_BENCH_HEAP_PROFILE_YOUNG === '1' });
  });
  // An in-process session answers at once, so this works in the exit handler.
  process.on('exit', () => {
    if (!sampling) return;
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (!error) writeFileSync(join(dir, `console-${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
