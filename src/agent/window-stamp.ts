// How a window is stamped in wall time when the wall clock may have stepped. The rule (README,
// "Clocks"):
// - What is billed comes from real time: CPU is the kernel's busy-time counter delta (no clock in
//   it), and memory is held for the real, monotonic length of the window.
// - Windows are contiguous: each starts where the last ended. Its end follows the wall clock.
// - A forward step makes that end later than real time: the window absorbs the step, and its memory
//   is reported so that usedBytes x stamped length = the memory actually held x the real length.
// - A backward step puts the wall clock behind the last end: windows then run ahead of the wall
//   clock, each stamped as short as its usage allows (busy <= cores x length, used <= total), until
//   they are back on the wall clock. Nothing is lost; a large step takes a while to absorb.
// - Differences under STEP_TOLERANCE_MS are not steps (timer and read jitter): memory is the reading.

export const STEP_TOLERANCE_MS = 1000;

export interface WindowClockState {
  /** Stamped end of the last window (epoch ms, an integer). */
  end: number;
  /** The wall clock read when that window closed. */
  wall: number;
  /** The monotonic clock read then, or undefined when unknown (state from an older agent). */
  mono?: number;
}

export interface WindowContent {
  busySeconds: number;
  cores: number;
  usedBytes: number;
  totalBytes: number;
}

export interface StampedWindow {
  start: number;
  end: number;
  /** The real length of the window, from the monotonic clock. */
  realMs: number;
  /** Memory to report: the reading, or scaled so that used x stamped length is used x real length. */
  usedBytes: number;
  /** How far the wall clock moved beyond real time since the last window (0 when not a step). */
  stepMs: number;
  /** How far the stamped end runs ahead of the wall clock after this window (0 when on it). */
  leadMs: number;
}

export function stampWindow(prev: WindowClockState, now: { wall: number; mono: number }, content: WindowContent): StampedWindow {
  const wallElapsed = now.wall - prev.wall;
  const realMs = Math.max(0, prev.mono === undefined ? wallElapsed : now.mono - prev.mono);
  const drift = wallElapsed - realMs;
  const stepMs = Math.abs(drift) >= STEP_TOLERANCE_MS ? drift : 0;

  // The shortest stamp that can hold this window's usage within Sample v1's bounds.
  const minLength = Math.max(
    1,
    Math.ceil((content.busySeconds * 1000) / Math.max(1, content.cores)),
    content.totalBytes > 0 ? Math.ceil((content.usedBytes * realMs) / content.totalBytes) : 1,
  );
  const length = Math.max(Math.round(now.wall) - prev.end, minLength);
  const end = prev.end + length;
  const usedBytes =
    Math.abs(length - realMs) < STEP_TOLERANCE_MS
      ? content.usedBytes
      : Math.min(content.totalBytes, Math.round((content.usedBytes * realMs) / length));
  return { start: prev.end, end, realMs, usedBytes, stepMs, leadMs: Math.max(0, end - Math.round(now.wall)) };
}
