import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runTsChild } from '../support/cli.js';

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
