import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ErpAccount } from '../driver/context.js';
import type { RateLimit } from '../driver/contract.js';
import type { SharedLimit } from '../http/limiter.js';

/**
 * An ERP account's documented rate limit, kept across the fleet: every
 * worker pulling the same account takes its requests from one budget in
 * Redis, counted by rate-limiter-flexible's RateLimiterRedis (an atomic
 * Lua increment per request). Each run's own limiter still paces it and
 * reacts to 429 and Retry-After; this one only adds the fleet's bound.
 *
 * RateLimiterRedis counts fixed windows (whole seconds, each starting at its
 * first request), while an ERP may count any sliding window of its period:
 * a full budget at the end of one fixed window and another at the start of
 * the next would be twice the limit to such an ERP. So the budget is cut
 * into short windows with a share each, chosen so that any period of the
 * ERP's (plus a margin for a request's way from its token to the ERP) sees
 * at most its limit: 60 a minute becomes 6 every 7 s (51 a minute), 10 every
 * 10 s becomes 2 every 3 s, 7200 an hour 35 every 18 s (7000 an hour). A little of the
 * budget is given up so that no worker ever meets a 429 for another's sake.
 *
 * When Redis cannot be reached, each process keeps the same windows in
 * memory (the library's insurance limiter): the account's limit then holds
 * per process, not per fleet, until Redis is back.
 */

/** The Redis keys' prefix; the rest of a key is a hash, never an account's name or a secret. */
const RATE_KEY_PREFIX = 'erp-sync:rate';

interface FleetWindow {
  /** Requests allowed in each window... */
  points: number;
  /** ...of this many whole seconds. */
  seconds: number;
}

/** How long a request may take from its token to the ERP counting it: the margin on the ERP's period. */
const marginMs = (perMs: number) => Math.max(1000, perMs * 0.02);

/**
 * The fixed windows that keep a sliding-window limit: with `points` in each
 * window of `seconds`, any span of the ERP's period plus the margin sees at
 * most `limit.requests`. A span touches at most ceil(span / window) + 1
 * windows; with one request a window, windows start at their request, so
 * the one before the span adds none. The fastest such pair wins.
 */
export function fleetWindow(limit: RateLimit): FleetWindow {
  const span = limit.perMs + marginMs(limit.perMs);
  let best: (FleetWindow & { rate: number }) | undefined;
  for (let seconds = 1; seconds <= Math.ceil(span / 1000) + 1; seconds++) {
    const windows = Math.ceil(span / (seconds * 1000));
    const shared = Math.floor(limit.requests / (windows + 1));
    const points = shared >= 1 ? shared : windows <= limit.requests ? 1 : 0;
    if (points < 1) continue;
    const rate = points / seconds;
    if (!best || rate > best.rate + 1e-9) best = { points, seconds, rate };
  }
  // A limit of one request per period or less: one per period and its margin, twice over.
  return best ? { points: best.points, seconds: best.seconds } : { points: 1, seconds: Math.ceil((2 * span) / 1000) };
}

/** Whose budget a run takes from: the ERP account where the driver names it, else the connection alone. */
export function accountKey(owner: { tenant: string; connection: string }, account: ErpAccount): string {
  const parts = account.identity === undefined
    ? ['connection', owner.tenant, owner.connection]
    : ['account', account.driver, normalizeUrl(account.baseUrl), ...account.identity.map((value) => value.trim().toLowerCase())];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function normalizeUrl(url: string): string {
  try {
    return new URL(url).href.replace(/\/+$/, '');
  } catch {
    return url;
  }
}

export class FleetLimits {
  readonly #redis: Redis;
  readonly #limiters = new Map<string, RateLimiterRedis>();

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** The shared limit a run of `owner` takes its requests from, for the ERP account it pulls. */
  limitFor(owner: { tenant: string; connection: string }, account: ErpAccount): SharedLimit {
    const window = fleetWindow(account.limit);
    const limiter = this.#limiter(window);
    const key = accountKey(owner, account);
    return { take: (signal) => take(limiter, key, signal) };
  }

  #limiter({ points, seconds }: FleetWindow): RateLimiterRedis {
    // Connections that agree on the limit share a key; one that sets another limit counts apart.
    const prefix = `${RATE_KEY_PREFIX}:${points}per${seconds}s`;
    let limiter = this.#limiters.get(prefix);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.#redis,
        keyPrefix: prefix,
        points,
        duration: seconds,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: prefix, points, duration: seconds }),
      });
      this.#limiters.set(prefix, limiter);
    }
    return limiter;
  }
}

/** Takes one request from the budget, waiting for the next window while it is spent. */
async function take(limiter: RateLimiterRedis, key: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    try {
      await limiter.consume(key, 1);
      return;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      // A few milliseconds of spread, so the workers waiting on one window do not all ask again at once.
      await sleep(rejection.msBeforeNext + Math.floor(Math.random() * 25), undefined, { signal });
    }
  }
}
