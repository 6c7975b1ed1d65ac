import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { sqliteOf } from '../../src/store/db.js';
import type { Db } from '../../src/store/db.js';

describe('sqliteOf', () => {
  it('knows a SQLite database erp-sync did not open itself', () => {
    const db = new Database(':memory:');
    try {
      expect(sqliteOf(db)).toBe(db);
    } finally {
      db.close();
    }
  });

  it('answers undefined for a database that is not SQLite', () => {
    const other = { prepare: () => undefined, exec: () => undefined, transaction: () => undefined, inTransaction: false, close: () => undefined } as unknown as Db;
    expect(sqliteOf(other)).toBeUndefined();
  });
});
