import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
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
  release(): void;
}

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
 */
export function acquireLock(dir: string, connection: string): Lock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = lockFile(dir, connection);
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), processStart: processStart(process.pid) };
  let tookOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createWhole(file, JSON.stringify(me))) {
      held.add(file);
      let released = false;
      return {
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          held.delete(file);
          if (readOwner(file)?.pid === me.pid) unlinkSync(file);
        },
      };
    }
    // Looked at again if unreadable: gone between the failed create and the read, it may have been made anew since.
    const owner = readOwner(file) ?? readOwner(file);
    if (!owner && !existsSync(file)) continue;
    if (owner && holds(owner, file)) throw new LockHeldError(connection, owner);
    // Stale: move it aside atomically so two processes taking over at once cannot both win.
    const stale = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, stale);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue;
    }
    const moved = readOwner(stale);
    if (moved && holds(moved, file)) {
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
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
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
  const owner = readOwner(lockFile(dir, connection));
  return owner && isAlive(owner) ? owner : undefined;
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
function holds(owner: LockOwner, file: string): boolean {
  if (owner.pid === process.pid && owner.host === hostname()) return held.has(file);
  return isAlive(owner);
}

function isAlive(owner: LockOwner): boolean {
  // A lock from another host (a shared home directory) cannot be checked: respect it.
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const started = processStart(owner.pid);
  return owner.processStart === undefined || started === undefined || started === owner.processStart;
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
