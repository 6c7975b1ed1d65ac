/**
 * What nearly every command stands on: the home and its config, the
 * database, the secret stores, the lock, each connection's standing and its
 * rendering (all of `status`). The build imports this module into every
 * command module (tsup.config.ts), so all of it is reached by the same set of
 * entry points. esbuild cuts chunks by that set, and each command is an entry
 * point of its own: without this `status` loaded 30 files, with it 11 (what
 * the program or the hosted module reach too stays in chunks of its own).
 * Each file costs node a lookup, a read and a compile before anything runs.
 */
import './context.js';
import './render-status.js';
import '../lock/lock.js';
import '../schedule/installed.js';
