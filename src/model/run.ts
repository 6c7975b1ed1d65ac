import type { ExitCode } from '../errors/index.js';
import type { Offer } from './product.js';

/** What the marketplace answered for the offers of a run. */
export interface PushCounters {
  /** Offers the marketplace answered for: created, updated, pending, rejected or not listed. */
  pushed: number;
  created: number;
  updated: number;
  pendingApproval: number;
  rejected: number;
  /** Offers an asynchronous marketplace does not list (a product never created or approved there). */
  notListed: number;
  failed: number;
  /** Offers sent to an asynchronous marketplace in this run, answered or not. */
  submitted: number;
}

export function emptyCounters(): PushCounters {
  return { pushed: 0, created: 0, updated: 0, pendingApproval: 0, rejected: 0, notListed: 0, failed: 0, submitted: 0 };
}

/** A run's counts, as recorded in the `runs` table and shown by `run --json`, `logs` and the web page. */
export interface RunCounts extends PushCounters {
  pulled: number;
  invalid: number;
  new: number;
  changed: number;
  vanished: number;
  unchanged: number;
}

/** How the pull compares with what the marketplace has acknowledged. */
export interface DiffCounts {
  new: number;
  changed: number;
  unchanged: number;
  vanished: number;
  /** Offers the marketplace holds as live (not already pushed as vanished): the mass-vanish guard's base. */
  live: number;
}

/** How the pull compares with what the marketplace has acknowledged, counted while staging. */
export interface StageCounts {
  new: number;
  changed: number;
  unchanged: number;
  /** Barcodes of this pull that the marketplace holds as live offers. */
  seenLive: number;
}

export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'guarded' | 'interrupted' | 'locked';

/** What a run did for one marketplace target. */
export interface TargetSummary extends PushCounters {
  target: string;
  /** offer-api, trendyol, hepsiburada, n11. */
  kind: string;
  /** `skipped`: left out of this run (its minimum interval has not passed). */
  status: 'succeeded' | 'partial' | 'failed' | 'interrupted' | 'skipped';
  new: number;
  changed: number;
  vanished: number;
  unchanged: number;
  /** Offers sent and not yet answered: the next run asks for their results. */
  awaiting: number;
  /** Offers parked as dead letters at the end of the run. */
  parked: number;
  requests: number;
  bytes: number;
  durationMs: number;
  error: { code: string; message: string; hint: string | undefined } | null;
}

/** What a run did and how it ended: `run --json`, the CLI's report, alerts. */
export interface RunSummary extends RunCounts {
  runId: number | null;
  connection: string;
  driver: string;
  status: RunStatus;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Time spent pulling and staging, and pushing (outbox replay included). */
  pullMs: number;
  pushMs: number;
  pullComplete: boolean;
  exitCode: ExitCode;
  error: { code: string; message: string; hint: string | undefined } | null;
  /** Peak resident memory of the process so far, in MB: memory stays flat as the catalog grows. */
  peakRssMb: number;
  /** Offers parked as dead letters at the end of the run: not sent until they change or `erp-sync retry` asks. */
  parked: number;
  /** What the run noticed but did not stop for (non-UTF-8 bytes, more products than the ERP said). */
  warnings: string[];
  /** Offers sent to asynchronous marketplaces and not answered yet, every target added up. */
  awaiting: number;
  /** What the run did for each target; the counts above add them up. */
  targets: TargetSummary[];
  /** With --dry-run: the first offers that would be pushed. */
  wouldPush?: (Offer & { kind: string })[];
}

/** Where a run is, for progress bars and log lines. */
export type RunProgress =
  | { phase: 'pull'; pages: number; products: number }
  | { phase: 'diff'; counts: DiffCounts; toPush: number }
  | { phase: 'push'; target: string; counters: PushCounters };
