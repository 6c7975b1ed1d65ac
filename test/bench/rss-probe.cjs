// Preloaded into the measured `erp-sync run` process (NODE_OPTIONS=--require):
// writes its peak resident set size, in kilobytes, to $ERP_SYNC_BENCH_RSS_FILE at exit.
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  if (process.env.ERP_SYNC_BENCH_RSS_FILE) writeFileSync(process.env.ERP_SYNC_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
