import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { defineMessages } from '../i18n/index.js';

const m = defineMessages({
  en: { held: 'another run of "{connection}" is in progress (pid {pid} on {host}, since {since})' },
  tr: { held: '"{connection}" için başka bir çalışma sürüyor ({host} üzerinde pid {pid}, başlangıç {since})' },
});

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  /** The kernel's start time of the process (Linux), so a reused pid is not mistaken for the owner. */
  processStart?: string | undefined;
}

export class LockHeldError extends Error {
  readonly owner: LockOwner;
  constructor(connection: string, owner: LockOwner) {
    super(m('held', { connection, pid: String(owner.pid), host: owner.host, since: owner.startedAt }));
    this.name = 'LockHeldError';
    this.owner = owner;
  }
}

export interface Lock {
  /** Whether the previous owner died holding it (kill -9, power loss): its run was cut short. */
  readonly tookOverFrom: LockOwner | undefined;
  /** Whether this process still holds it: read from the file, for a check just before an action that must not be done twice. */
  held(): boolean;
  release(): void;
}

/** What a run needs of any lock: the file lock here, or hosted mode's lock in PostgreSQL. */
export type RunLock = Pick<Lock, 'held' | 'release'>;

export interface LockOptions {
  /** How often the holder touches the lock file while it holds it (default 15 s). */
  heartbeatMs?: number;
  /** A lock whose file was not touched for this long is stale, whoever wrote it (default six heartbeats). */
  staleAfterMs?: number;
  /**
   * Called when the heartbeat finds the lock no longer ours: this process
   * was frozen past the stale limit (a suspended machine) and another took
   * it over. What the lock guards should stop.
   */
  onLost?(): void;
}

const HEARTBEAT_MS = 15_000;
const STALE_AFTER_MS = 6 * HEARTBEAT_MS;

/** Lock files this process holds right now. */
const held = new Set<string>();

const lockFile = (dir: string, connection: string) => join(dir, `${encodeURIComponent(connection)}.lock`);

/**
 * One run per connection at a time. The lock is a file holding the owner's
 * pid, created whole or not at all: written under a temporary name, then
 * hard-linked to the lock's name, which fails if the lock exists. (Created
 * with O_EXCL and then written, a lock read between the two looked empty,
 * hence stale, and a second process took it over.) A lock whose process no
 * longer exists on this host (kill -9, a crash, a reboot) is taken over.
 *
 * The holder touches the file every `heartbeatMs`, so a lock whose file
 * has not been touched for `staleAfterMs` is stale whatever host wrote it:
 * a container that died under one host name never holds a connection
 * against the container that replaces it under another. The pid alone is
 * trusted only with the process's start time beside it (Linux), which tells
 * a reused pid apart; without it, only the heartbeat is.
 */
export function acquireLock(dir: string, connection: string, options: LockOptions = {}): Lock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staleAfterMs = options.staleAfterMs ?? STALE_AFTER_MS;
  const file = lockFile(dir, connection);
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), processStart: processStart(process.pid) };
  let tookOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createWhole(file, JSON.stringify(me))) {
      held.add(file);
      let released = false;
      let missing = 0;
      const heartbeat = setInterval(() => {
        const owner = readOwner(file);
        if (isMine(owner, me)) {
          missing = 0;
          return touch(file);
        }
        // Moved aside for a moment by a process looking whether it is stale, it comes back: gone twice, it is lost.
        if (!owner && ++missing < 2) return;
        clearInterval(heartbeat);
        held.delete(file);
        released = true;
        options.onLost?.();
      }, options.heartbeatMs ?? HEARTBEAT_MS).unref();
      return {
        tookOverFrom,
        held: () => !released && isMine(readOwner(file), me),
        release() {
          if (released) return;
          released = true;
          clearInterval(heartbeat);
          held.delete(file);
          if (isMine(readOwner(file), me)) unlinkSync(file);
        },
      };
    }
    // Looked at again if unreadable: gone between the failed create and the read, it may have been made anew since.
    const owner = readOwner(file) ?? readOwner(file);
    if (!owner && !existsSync(file)) continue;
    if (owner && holds(owner, file, staleAfterMs)) throw new LockHeldError(connection, owner);
    // Stale: move it aside atomically so two processes taking over at once cannot both win.
    const stale = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, stale);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue;
    }
    const moved = readOwner(stale);
    if (moved && holds(moved, stale, staleAfterMs)) {
      // Another process took the stale lock over between our look and our move: its lock goes back.
      try {
        linkSync(stale, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        unlinkSync(stale);
      }
      throw new LockHeldError(connection, moved);
    }
    unlinkSync(stale);
    tookOverFrom = owner ?? { pid: 0, host: 'unknown', startedAt: 'unknown' };
  }
  const owner = readOwner(file);
  throw new LockHeldError(connection, owner ?? { pid: 0, host: 'unknown', startedAt: 'unknown' });
}

/** Creates `file` with `content` unless it exists; false when it does. */
function createWhole(file: string, content: string): boolean {
  const temp = `${file}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    unlinkSync(temp);
  }
  // A file system without hard links: O_EXCL, then write (the window above comes back there).
  try {
    const fd = openSync(file, 'wx', 0o600);
    writeSync(fd, content);
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Who holds the lock right now, if anyone alive does (the web page's "sync now" asks this). */
export function lockHolder(dir: string, connection: string): LockOwner | undefined {
  const file = lockFile(dir, connection);
  const owner = readOwner(file);
  return owner && isAlive(owner, file, STALE_AFTER_MS) ? owner : undefined;
}

function isMine(owner: LockOwner | undefined, me: LockOwner): boolean {
  return owner?.pid === me.pid && owner.host === me.host && owner.startedAt === me.startedAt;
}

function touch(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    // Gone between the look and the touch: the next beat finds out whose it is.
  }
}

/** Milliseconds since the lock file was last touched; undefined when it is gone. */
function heartbeatAge(file: string): number | undefined {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' ? (parsed as LockOwner) : undefined;
  } catch {
    // Missing, or half-written by a process killed between open and write: treat as stale.
    return undefined;
  }
}

/**
 * Whether the lock's owner still holds it. This process's pid on a lock it
 * does not hold is an orphan: released while another process had the file
 * moved aside to look at it, then put back.
 */
function holds(owner: LockOwner, file: string, staleAfterMs: number): boolean {
  if (owner.pid === process.pid && owner.host === hostname()) return held.has(lockFileOf(file));
  return isAlive(owner, file, staleAfterMs);
}

/** The lock a file is, or was moved aside from. */
const lockFileOf = (file: string) => file.replace(/\.stale-\d+$/, '');

function isAlive(owner: LockOwner, file: string, staleAfterMs: number): boolean {
  const beating = (heartbeatAge(file) ?? 0) <= staleAfterMs;
  // Another host (a shared home directory, a container's former name): its heartbeat is all there is to go by.
  if (owner.host !== hostname()) return beating;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A live pid that started when the owner did is the owner, even stalled past its heartbeat (suspended with its machine).
  const started = processStart(owner.pid);
  if (owner.processStart !== undefined && started !== undefined) return started === owner.processStart;
  // Without start times a live pid may be any process: only a heartbeat vouches for it.
  return beating;
}

function processStart(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
