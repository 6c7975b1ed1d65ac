import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A limit kept beyond this process: in hosted mode, every worker of the fleet
 * pulling the same ERP account takes its tokens from one budget in Redis.
 * Each request takes one after this process's own limiter let it go.
 */
export interface SharedLimit {
  /** Waits until the shared budget has room for one more request, and takes it. */
  take(signal: AbortSignal): Promise<void>;
}

/** Added to every window, so clock and network jitter never let the server count one request too many. */
export const WINDOW_SLACK_MS = 10;

/**
 * A sliding-window rate limiter shared by every request a run makes to one
 * service: at most `requests` in any window of `perMs` milliseconds, as the
 * service counts them.
 *
 * Hand-written rather than p-throttle because a run must also be able to slow
 * down (after a 429) and pause everyone (Retry-After) for the rest of the run,
 * which needs a limiter whose limit can change while calls are queued.
 */
export class RateLimiter {
  #limit: number;
  readonly #windowMs: number;
  /** One entry per request in the window: when it started, moved to when its answer came once it has. */
  #requests: { at: number }[] = [];
  #pausedUntil = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(limit: { requests: number; perMs: number }) {
    if (!(limit.requests >= 1) || !(limit.perMs > 0)) {
      throw new RangeError(`rate limit must allow at least 1 request per positive window, got ${limit.requests}/${limit.perMs}ms`);
    }
    this.#limit = Math.floor(limit.requests);
    this.#windowMs = limit.perMs + WINDOW_SLACK_MS;
  }

  get limit(): number {
    return this.#limit;
  }

  /**
   * Waits until one more request may start, then records it. Calls are served
   * in order. Call the returned function when the answer arrives: the server
   * counted the request somewhere between its start and its answer (a new
   * connection, a queue in the pool), so the window is kept from the answer.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const turn = this.#tail.then(() => this.#waitForSlot(signal));
    this.#tail = turn.then(() => undefined, () => undefined);
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

  async #waitForSlot(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = Date.now();
      this.#requests = this.#requests.filter((r) => r.at > now - this.#windowMs);
      let wait = this.#pausedUntil - now;
      if (this.#requests.length >= this.#limit) {
        const times = this.#requests.map((r) => r.at).sort((a, b) => a - b);
        wait = Math.max(wait, times[times.length - this.#limit]! + this.#windowMs - now);
      }
      if (wait <= 0) {
        const request = { at: now };
        this.#requests.push(request);
        return () => {
          request.at = Math.max(request.at, Date.now());
        };
      }
      await sleep(wait, undefined, { signal });
    }
  }
}
