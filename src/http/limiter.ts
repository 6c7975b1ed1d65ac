import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A sliding-window rate limiter shared by every request a run makes to one
 * service: at most `requests` starts in any window of `perMs` milliseconds.
 *
 * Hand-written rather than p-throttle because a run must also be able to slow
 * down (after a 429) and pause everyone (Retry-After) for the rest of the run,
 * which needs a limiter whose limit can change while calls are queued.
 */
export class RateLimiter {
  #limit: number;
  readonly #windowMs: number;
  readonly #starts: number[] = [];
  #pausedUntil = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(limit: { requests: number; perMs: number }) {
    if (!(limit.requests >= 1) || !(limit.perMs > 0)) {
      throw new RangeError(`rate limit must allow at least 1 request per positive window, got ${limit.requests}/${limit.perMs}ms`);
    }
    this.#limit = Math.floor(limit.requests);
    // A little slack so clock and network jitter never let the server count one too many.
    this.#windowMs = limit.perMs * 1.02 + 5;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Waits until one more request may start, then records it. Calls are served in order. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#waitForSlot(signal));
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  /** After a 429: fewer requests per window for the rest of the run (never below 1). */
  slowDown(factor = 0.75): void {
    this.#limit = Math.max(1, Math.floor(this.#limit * factor));
  }

  /** After Retry-After: nobody starts before `ms` from now. */
  pauseFor(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
  }

  async #waitForSlot(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = Date.now();
      while (this.#starts.length > 0 && this.#starts[0]! <= now - this.#windowMs) this.#starts.shift();
      let wait = this.#pausedUntil - now;
      if (this.#starts.length >= this.#limit) {
        wait = Math.max(wait, this.#starts[this.#starts.length - this.#limit]! + this.#windowMs - now);
      }
      if (wait <= 0) {
        this.#starts.push(now);
        return;
      }
      await sleep(wait, undefined, { signal });
    }
  }
}
