/**
 * What nearly every command stands on: the home and its config, the
 * database, the secret stores, the lock, each connection's standing and its
 * rendering (all of `status`). The build imports this module into every
 * command module (tsup.config.ts), so all of it lands in one chunk. esbuild
 * cuts chunks by the set of entry points that reach a file, and each command
 * is an entry point of its own, so without it `status` loaded 30 files where
 * it now loads about a dozen; each ES module costs node about half a
 * millisecond before anything runs.
 */
import './context.js';
import './render-status.js';
import '../lock/lock.js';
import '../schedule/installed.js';
