// A clock whose sleep returns at once and moves time forward, so retry waits are measured, not waited.
import type { Clock } from "../../../core/http/retry.ts";

export interface FakeClock extends Clock {
  /** Every wait the code asked for, in milliseconds, in order. */
  sleeps: number[];
}

/** Starts on a whole second, so HTTP dates (whole seconds) convert to exact waits. */
export function fakeClock(start = Date.parse("2025-01-06T09:00:00Z")): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}
