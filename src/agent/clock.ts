// The agent's two clocks. Window lengths and the schedule come from the monotonic clock, which no
// NTP step or `date -s` moves; the wall clock only stamps where windows start and end. Injectable so
// unit tests can step the wall clock and advance time without waiting.

export interface Clock {
  /** Epoch milliseconds: stamps only. */
  wallMs(): number;
  /**
   * Milliseconds on the system-wide monotonic clock (CLOCK_MONOTONIC on Linux: shared by every process
   * of one boot, so it also measures the time between two runs of the agent on the same boot).
   */
  monoMs(): number;
}

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monoMs: () => Number(process.hrtime.bigint()) / 1e6,
};

/** A clock for tests: both advance together with advance(); step() moves only the wall clock. */
export class ManualClock implements Clock {
  constructor(
    private wall: number,
    private mono = 1_000_000,
  ) {}

  wallMs(): number {
    return this.wall;
  }

  monoMs(): number {
    return this.mono;
  }

  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  /** A wall-clock step (NTP, an operator's `date -s`): positive forwards, negative backwards. */
  step(ms: number): void {
    this.wall += ms;
  }
}
