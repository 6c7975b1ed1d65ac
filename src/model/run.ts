import type { ExitCode } from '../errors/index.js';
import type { Offer } from './product.js';

/** What the marketplace answered for the offers of a run. */
export interface PushCounters {
  pushed: number;
  created: number;
  updated: number;
  pendingApproval: number;
  rejected: number;
  failed: number;
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
  /** With --dry-run: the first offers that would be pushed. */
  wouldPush?: (Offer & { kind: string })[];
}

/** Where a run is, for progress bars and log lines. */
export type RunProgress =
  | { phase: 'pull'; pages: number; products: number }
  | { phase: 'diff'; counts: DiffCounts; toPush: number }
  | { phase: 'push'; counters: PushCounters };
