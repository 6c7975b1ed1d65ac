import { spawnSync } from 'node:child_process';
import { PgDatabase } from '../../src/store/pg.js';
import { requireTool } from './requirements.js';

/**
 * Hosted mode's real services: the PostgreSQL and Redis that `.ci/run`
 * installs and starts on loopback. A developer with both running needs no
 * setting; elsewhere the tests skip with the reason (and fail under CI).
 */
export const PG_URL = process.env.ERP_SYNC_TEST_PG ?? 'postgresql://erp_sync:erp_sync@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.ERP_SYNC_TEST_REDIS ?? 'redis://127.0.0.1:6379';

function postgresAnswers(): boolean {
  try {
    new PgDatabase(PG_URL, 'probe').close();
    return true;
  } catch {
    return false;
  }
}

function redisAnswers(): boolean {
  const { hostname, port } = new URL(REDIS_URL);
  const probe = `const s=require('net').connect(${Number(port) || 6379},${JSON.stringify(hostname)});s.on('connect',()=>s.write('PING\\r\\n'));s.on('data',d=>process.exit(String(d).startsWith('+PONG')?0:1));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),2000)`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

/** Whether the PostgreSQL tests run: `describe.runIf(requirePostgres())`. */
export function requirePostgres(): boolean {
  return requireTool('PostgreSQL (with pg-native built against libpq)', postgresAnswers, 'apt-get install postgresql libpq-dev, npm ci, and the role .ci/run creates; or set ERP_SYNC_TEST_PG');
}

/** Whether the Redis tests run: `describe.runIf(requireRedis())`. */
export function requireRedis(): boolean {
  return requireTool('Redis', redisAnswers, 'apt-get install redis-server and start it on 127.0.0.1:6379; or set ERP_SYNC_TEST_REDIS');
}

/** A new, empty database for one test file (dropped first if a killed run left it), and its URL. */
export function freshDatabase(name: string): string {
  const database = `erp_sync_test_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  const admin = new PgDatabase(PG_URL, 'admin');
  try {
    admin.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    admin.exec(`CREATE DATABASE ${database}`);
  } finally {
    admin.close();
  }
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
}
