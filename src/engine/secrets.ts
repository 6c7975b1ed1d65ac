import type { FieldSpec } from '../driver/contract.js';
import { ExitCode, UserError } from '../errors/index.js';
import { registerSecret } from '../secrets/redact.js';
import type { SecretStore } from '../secrets/store.js';
import { envVarName } from '../secrets/store.js';

/** The marketplace's one required secret. */
export const marketplaceSecrets = [{ name: 'token', secret: true, required: true }] as const;

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
    throw new UserError(`connection "${connection}": its secret store (${store.kind}) is unavailable: ${unavailable}`, {
      code: 'SECRET_STORE_UNAVAILABLE',
      exitCode: ExitCode.config,
      hint: 'Run `erp-sync doctor`, or connect again with --secret-store file|systemd|env.',
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
      missing.push(store.kind === 'env' ? `${field.name} (environment variable ${envVarName(connection, field.name)})` : `${field.name} (${store.kind} store)`);
    }
  }
  if (missing.length > 0) {
    throw new UserError(`connection "${connection}" is missing: ${missing.join(', ')}`, {
      code: 'SECRETS_MISSING',
      exitCode: ExitCode.config,
      hint: store.kind === 'env' ? 'Set the environment variables listed above.' : `Run \`erp-sync connect\` again for "${connection}".`,
    });
  }
  return values;
}
