import type { FieldSpec } from '../driver/contract.js';
import { targetAdapter } from '../marketplace/targets.js';
import type { TargetKind } from '../marketplace/target.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { registerSecret } from '../secrets/redact.js';
import type { SecretStore } from '../secrets/store.js';
import { envVarName } from '../secrets/store.js';

const m = defineMessages({
  en: {
    unavailable: 'connection "{connection}": its secret store ({store}) is unavailable: {reason}',
    unavailableHint: 'Run `erp-sync doctor`, or connect again with --secret-store file|systemd|env.',
    envField: '{field} (environment variable {variable})',
    storeField: '{field} ({store} store)',
    missing: 'connection "{connection}" is missing: {fields}',
    setEnv: 'Set the environment variables listed above.',
    connectAgain: 'Run `erp-sync connect` again for "{connection}".',
  },
  tr: {
    unavailable: '"{connection}" bağlantısı: gizli bilgi deposuna ({store}) erişilemiyor: {reason}',
    unavailableHint: '`erp-sync doctor` çalıştırın ya da --secret-store file|systemd|env ile yeniden bağlanın.',
    envField: '{field} (ortam değişkeni {variable})',
    storeField: '{field} ({store} deposu)',
    missing: '"{connection}" bağlantısında eksik: {fields}',
    setEnv: 'Yukarıda listelenen ortam değişkenlerini tanımlayın.',
    connectAgain: '"{connection}" için `erp-sync connect` komutunu yeniden çalıştırın.',
  },
});

/** The offer API's one required secret. */
export const marketplaceSecrets = [{ name: 'token', secret: true, required: true }] as const;

/** The secret fields a target of this kind keeps: the offer API's token, or its adapter's credentials. */
export function targetSecretFields(kind: TargetKind): readonly Pick<FieldSpec, 'name' | 'secret' | 'required'>[] {
  return kind === 'offer-api' ? marketplaceSecrets : (targetAdapter(kind)?.fields ?? []);
}

/**
 * Reads every secret field of a connection from its store. All missing
 * required fields are reported together (exit 78), each with where it was
 * looked for, so one fix covers them all.
 */
export async function resolveSecrets(
  connection: string,
  fields: readonly Pick<FieldSpec, 'name' | 'secret' | 'required'>[],
  store: SecretStore,
): Promise<Record<string, string>> {
  const unavailable = await store.unavailableReason();
  if (unavailable) {
    throw new UserError(m('unavailable', { connection, store: store.kind, reason: unavailable }), {
      code: 'SECRET_STORE_UNAVAILABLE',
      exitCode: ExitCode.config,
      hint: m('unavailableHint'),
    });
  }
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const field of fields) {
    if (!field.secret) continue;
    const value = await store.get(connection, field.name);
    if (value !== undefined) {
      registerSecret(value);
      values[field.name] = value;
    } else if (field.required) {
      missing.push(store.kind === 'env' ? m('envField', { field: field.name, variable: envVarName(connection, field.name) }) : m('storeField', { field: field.name, store: store.kind }));
    }
  }
  if (missing.length > 0) {
    throw new UserError(m('missing', { connection, fields: missing.join(', ') }), {
      code: 'SECRETS_MISSING',
      exitCode: ExitCode.config,
      hint: store.kind === 'env' ? m('setEnv') : m('connectAgain', { connection }),
    });
  }
  return values;
}
