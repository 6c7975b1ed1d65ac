import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';

/**
 * Hosted mode's environment: where its PostgreSQL and Redis are. The master
 * key that seals the tenants' secrets is read by `secrets/envelope.ts`
 * (ERP_SYNC_MASTER_KEY_FILE or ERP_SYNC_MASTER_KEY).
 */
const DATABASE_URL_VARIABLE = 'ERP_SYNC_DATABASE_URL';
const REDIS_URL_VARIABLE = 'ERP_SYNC_REDIS_URL';

const m = defineMessages({
  en: {
    missing: 'hosted mode needs {variable}: {what}',
    database: 'the PostgreSQL that keeps the tenants, their connections, secrets and sync history (postgresql://user:password@host:5432/database)',
    redis: 'the Redis that holds the sync queue, its schedules and the shared rate limits (redis://host:6379)',
    missingHint: 'Set it in the environment of every erp-sync worker and hosted command (the README\'s "Hosted mode" lists them).',
    badTenant: 'tenant id "{tenant}" must be 1-63 lower-case letters, digits, "-" or "_", starting with a letter or digit',
  },
  tr: {
    missing: 'barındırılan kip {variable} ister: {what}',
    database: 'kiracıları, bağlantılarını, gizli bilgilerini ve eşitleme geçmişini tutan PostgreSQL (postgresql://kullanıcı:parola@sunucu:5432/veritabanı)',
    redis: 'eşitleme kuyruğunu, zamanlamalarını ve ortak istek sınırlarını tutan Redis (redis://sunucu:6379)',
    missingHint: 'Her erp-sync worker sürecinin ve barındırılan komutun ortamında tanımlayın (README\'nin "Hosted mode" bölümü hepsini listeler).',
    badTenant: '"{tenant}" kiracı kimliği 1-63 küçük harf, rakam, "-" ya da "_" olmalı ve bir harf ya da rakamla başlamalı',
  },
});

export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env[DATABASE_URL_VARIABLE];
  if (!url) throw new UserError(m('missing', { variable: DATABASE_URL_VARIABLE, what: m('database') }), { code: 'HOSTED_NO_DATABASE', exitCode: ExitCode.config, hint: m('missingHint') });
  return url;
}

export function redisUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env[REDIS_URL_VARIABLE];
  if (!url) throw new UserError(m('missing', { variable: REDIS_URL_VARIABLE, what: m('redis') }), { code: 'HOSTED_NO_REDIS', exitCode: ExitCode.config, hint: m('missingHint') });
  return url;
}

/** Whether `tenant` has a tenant id's form: 1-63 lower-case letters, digits, - and _, starting with a letter or digit. */
export function isTenantId(tenant: string): boolean {
  return /^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant);
}

/**
 * A tenant's id: the key of every row it owns, a part of its queue's job and
 * scheduler ids (beside a connection name, after a dot), and a metric label.
 */
export function checkTenantId(tenant: string): string {
  if (!isTenantId(tenant)) throw new UserError(m('badTenant', { tenant }), { code: 'BAD_TENANT', exitCode: ExitCode.usage });
  return tenant;
}
