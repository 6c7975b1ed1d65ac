/**
 * One of several processes taking the same run lock in turns (see
 * lock.test.ts): each round it takes the lock, adds one to a counter file
 * by reading and rewriting it, and lets go. Exits non-zero on any failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockHeldError, acquireLock } from '../../src/lock/lock.js';
import type { Lock } from '../../src/lock/lock.js';

const [dir, rounds] = process.argv.slice(2) as [string, string];
const counter = join(dir, 'counter');
for (let i = 0; i < Number(rounds); i++) {
  let lock: Lock;
  for (;;) {
    try {
      lock = acquireLock(dir, 'shop');
      break;
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      await sleep(1 + Math.random() * 4);
    }
  }
  writeFileSync(counter, String(Number(readFileSync(counter, 'utf8')) + 1));
  lock.release();
}
