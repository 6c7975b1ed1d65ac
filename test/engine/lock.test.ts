import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runTsChild } from '../support/cli.js';
import { LockHeldError, acquireLock } from '../../src/lock/lock.js';

const child = fileURLToPath(new URL('./lock-child.ts', import.meta.url));

describe('the run lock', () => {
  it('lets exactly one of several processes in at a time, however often they contend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-sync-lock-'));
    try {
      writeFileSync(join(dir, 'counter'), '0');
      const processes = 4;
      const rounds = 50;
      // Every round reads and rewrites the counter under the lock: two holders at once lose increments.
      const codes = await Promise.all(Array.from({ length: processes }, () => runTsChild(child, [dir, String(rounds)])));
      expect(codes).toEqual(Array(processes).fill(0));
      expect(Number(readFileSync(join(dir, 'counter'), 'utf8'))).toBe(processes * rounds);
      expect(readdirSync(dir)).toEqual(['counter']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the lock heartbeat', () => {
  it('touches the lock file while it is held, and tells the holder when another process took it over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-sync-lock-'));
    try {
      let lost = 0;
      const lock = acquireLock(dir, 'shop', { heartbeatMs: 40, onLost: () => lost++ });
      const file = join(dir, 'shop.lock');
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(file, old, old);
      await sleep(150);
      expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(1_000);
      expect(lost).toBe(0);

      // Frozen past the stale limit, it was taken over: the next beat finds the lock is someone else's.
      expect(lock.held()).toBe(true);
      writeFileSync(file, JSON.stringify({ pid: 999_999, host: 'another-host', startedAt: new Date().toISOString() }));
      expect(lock.held()).toBe(false);
      await sleep(150);
      expect(lost).toBe(1);
      lock.release();
      expect(JSON.parse(readFileSync(file, 'utf8')).host).toBe('another-host');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves a lock whose heartbeat is fresh to its holder on another host, and takes it over once it is stale', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-sync-lock-'));
    try {
      const file = join(dir, 'shop.lock');
      writeFileSync(file, JSON.stringify({ pid: 12, host: 'container-a', startedAt: new Date().toISOString(), processStart: '77' }));
      expect(() => acquireLock(dir, 'shop', { staleAfterMs: 60_000 })).toThrow(LockHeldError);
      const old = new Date(Date.now() - 61_000);
      utimesSync(file, old, old);
      const lock = acquireLock(dir, 'shop', { staleAfterMs: 60_000 });
      expect(lock.tookOverFrom?.host).toBe('container-a');
      lock.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a lock on this machine', () => {
  it('belongs to a live process that started when its owner did, even with its heartbeat stalled, and to nobody else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-sync-lock-'));
    const child = spawn('sleep', ['30']);
    try {
      await once(child, 'spawn');
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const file = join(dir, 'shop.lock');
      const lockFor = (processStart: string) => {
        writeFileSync(file, JSON.stringify({ pid: child.pid, host: hostname(), startedAt: new Date().toISOString(), processStart }));
        const old = new Date(Date.now() - 3_600_000);
        utimesSync(file, old, old);
      };
      // Suspended with its machine for an hour: still the holder.
      lockFor(start!);
      expect(() => acquireLock(dir, 'shop')).toThrow(LockHeldError);
      // The same pid, reused by a process that started later: not the holder.
      lockFor(String(Number(start) + 1));
      acquireLock(dir, 'shop').release();
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
