/**
 * SIGINT or SIGTERM (Ctrl-C, `systemctl stop`) aborts `controller`, so what
 * is in hand can finish (a run's batch in flight, a worker's jobs); a second
 * signal exits at once (130, 143). Returns a function that puts the process's
 * own listeners back.
 */
export function stopGracefully(controller: AbortController, notify: (signal: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    notify(signal);
    controller.abort();
  };
  // conf (through atomically's when-exit) re-sends every SIGINT/SIGTERM to the
  // process after its cleanup, which made the first signal a second one. Its
  // cleanup also runs on exit, so its signal listeners wait aside during the run.
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const others = signals.map((signal) => [signal, process.rawListeners(signal)] as const);
  for (const signal of signals) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
  return () => {
    for (const [signal, listeners] of others) {
      process.off(signal, onSignal);
      for (const listener of listeners) process.on(signal, listener as (signal: NodeJS.Signals) => void);
    }
  };
}
