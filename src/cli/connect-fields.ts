import type { ConnectionCatalog } from '../config/config.js';
import type { Driver, FieldSpec } from '../driver/contract.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { targetAdapter } from '../marketplace/targets.js';
import type { TargetKind } from '../marketplace/target.js';
import { alertWebhookField, settingProblem } from '../settings/schema.js';
import type { SettingSpec } from '../settings/schema.js';
import { fieldProblem, normalizeFieldValue } from './prompts.js';

/**
 * What `connect` and `hosted connect` both ask of an ERP connection or a
 * marketplace target: its fields, in the order they are asked for, and its
 * `--set` pairs checked against the fields and the settings schema.
 */

const m = defineMessages({
  en: {
    baseUrl: 'API address',
    token: 'API token',
    setForm: '--set "{start}…" is not of the form field=value (the rest is not shown: it may be a secret)',
    setSecret: '"{key}" is a secret and is never stored in the config',
    setSecretHint: 'Give it with --secret-file, or in the environment variable named by `erp-sync drivers`.',
    setSecretHostedHint: 'Give it in the environment variable ERP_SYNC_<NAME>_<FIELD>, or on stdin with --secrets-stdin.',
    setUnknown: '{owner} has no setting "{key}"',
    setList: 'Settings: {list}.',
    setInvalid: 'setting {key} {problem}',
    badValue: '{field}: {problem}',
  },
  tr: {
    baseUrl: 'API adresi',
    token: 'API anahtarı (token)',
    setForm: '--set "{start}…" alan=değer biçiminde değil (gizli bir değer olabileceği için devamı gösterilmiyor)',
    setSecret: '"{key}" gizli bir bilgidir ve hiçbir zaman ayarlara yazılmaz',
    setSecretHint: '--secret-file ile veya `erp-sync drivers` komutunun gösterdiği ortam değişkeniyle verin.',
    setSecretHostedHint: 'ERP_SYNC_<AD>_<ALAN> ortam değişkeniyle ya da --secrets-stdin ile standart girdiden verin.',
    setUnknown: '{owner} için "{key}" adında bir ayar yok',
    setList: 'Ayarlar: {list}.',
    setInvalid: '{key} ayarı {problem}',
    badValue: '{field}: {problem}',
  },
});

/** An ERP connection's fields: its base URL (unless the driver reads local files), the driver's fields a person provides, the alert webhook. */
export function erpFields(driver: Driver): FieldSpec[] {
  const baseUrl: FieldSpec[] = driver.local
    ? []
    : [{ name: 'baseUrl', label: m('baseUrl', {}, 'en'), labelTr: m('baseUrl', {}, 'tr'), secret: false, required: !driver.defaultBaseUrl, kind: 'url', ...(driver.defaultBaseUrl ? { default: driver.defaultBaseUrl } : {}) }];
  return [...baseUrl, ...driver.fields.filter((f) => !f.managed), alertWebhookField];
}

/** A marketplace target's fields: its adapter's and its address, or the offer API's address and token; the alert webhook. */
export function targetFields(kind: TargetKind): FieldSpec[] {
  const adapter = targetAdapter(kind);
  const baseUrl: FieldSpec = {
    name: 'baseUrl', label: m('baseUrl', {}, 'en'), labelTr: m('baseUrl', {}, 'tr'), secret: false, required: !adapter, kind: 'url',
    ...(adapter ? { default: adapter.defaultBaseUrl } : {}),
  };
  const fields: FieldSpec[] = adapter
    ? [...adapter.fields, baseUrl]
    : [baseUrl, { name: 'token', label: m('token', {}, 'en'), labelTr: m('token', {}, 'tr'), secret: true, required: true, kind: 'text' }];
  return [...fields, alertWebhookField];
}

/**
 * `--set field=value` pairs: each a known setting (a field that is not a
 * secret nor the address, which has --base-url, or one of the schema's), its
 * value one the schema takes, in the form it is saved in; a field's value is
 * checked as the field declares it. A secret named there is refused without
 * repeating it.
 */
export function parseSettings(
  pairs: readonly string[], fields: readonly FieldSpec[], owner: string, schema: Record<string, SettingSpec<unknown>>,
  secretsFrom: 'agent' | 'hosted' = 'agent',
): Record<string, string> {
  const secrets = new Set(fields.filter((f) => f.secret).map((f) => f.name));
  const allowed = [...fields.filter((f) => !f.secret && f.name !== 'baseUrl').map((f) => f.name), ...Object.keys(schema)];
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at) : '';
    const value = pair.slice(at + 1);
    // `password:hunter2` is a typo of a secret: only a setting's name before a separator is repeated, never a bare word.
    if (!key) throw new UserError(m('setForm', { start: /^([A-Za-z][\w-]*)[:\s]/.exec(pair)?.[1] ?? '' }), { code: 'BAD_SETTING', exitCode: ExitCode.usage });
    if (secrets.has(key)) throw new UserError(m('setSecret', { key }), { code: 'SECRET_IN_SETTINGS', exitCode: ExitCode.usage, hint: m(secretsFrom === 'hosted' ? 'setSecretHostedHint' : 'setSecretHint') });
    if (!allowed.includes(key)) throw new UserError(m('setUnknown', { owner, key }), { code: 'UNKNOWN_SETTING', exitCode: ExitCode.usage, hint: m('setList', { list: allowed.join(', ') }) });
    const problem = settingProblem(schema, key, value);
    if (problem) throw new UserError(m('setInvalid', { key, problem }), { code: 'BAD_SETTING', exitCode: ExitCode.usage });
    settings[key] = schema[key]?.normalize?.(value) ?? value;
  }
  return settings;
}

/** Fields given a value (by --set or --base-url) checked and normalized as each declares; a bad one is a usage error naming it. */
export function checkFieldValues(fields: readonly FieldSpec[], values: Record<string, string>): void {
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined || field.secret) continue;
    const problem = fieldProblem(field, value);
    if (problem) throw new UserError(m('badValue', { field: field.name, problem }), { code: 'BAD_SETTING', exitCode: ExitCode.usage });
    values[field.name] = normalizeFieldValue(field, value);
  }
}

/**
 * `--targets a,b`: the targets an ERP connection feeds, each one in
 * `catalog`; undefined for `all`, every target now and later. Names it does
 * not know, or none at all, are refused with `unknown(names, known)`.
 */
export function parseFeeds(list: string, catalog: ConnectionCatalog, unknown: (names: string, known: string) => UserError): string[] | undefined {
  if (list.trim().toLowerCase() === 'all') return undefined;
  const names = [...new Set(list.split(',').map((n) => n.trim()).filter((n) => n !== ''))];
  const missing = names.filter((n) => !catalog.target(n));
  if (missing.length > 0 || names.length === 0) {
    throw unknown(missing.map((n) => `"${n}"`).join(', ') || '""', catalog.targets().map((t) => t.name).join(', ') || '-');
  }
  return names;
}
