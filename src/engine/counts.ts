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
