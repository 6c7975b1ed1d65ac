import { drivers } from '../../../drivers/index.js';
import { alertWebhookField } from '../../settings/schema.js';
import { ExitCode } from '../../errors/index.js';
import { language } from '../../i18n/index.js';
import { createOutput } from '../output.js';

/** `erp-sync drivers`: what can be connected, and what each one asks for. */
export async function driversCommand(options: { json?: boolean }): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const tr = language() === 'tr';
  const list = [...drivers.values()].map((driver) => ({
    id: driver.id,
    name: driver.name,
    fields: [
      ...(driver.local || driver.fields.some((f) => f.name === 'baseUrl')
        ? []
        : [{ name: 'baseUrl', label: tr ? 'API adresi' : 'API address', secret: false, required: driver.defaultBaseUrl === undefined }]),
      ...[...driver.fields, alertWebhookField].map((f) => ({ name: f.name, label: tr ? f.labelTr : f.label, secret: f.secret, required: f.required })),
    ],
  }));
  if (out.json) {
    out.document(list);
    return ExitCode.ok;
  }
  for (const driver of list) {
    out.line(`${driver.id.padEnd(12)} ${driver.name}`);
    for (const field of driver.fields) {
      const flags = [field.required ? (tr ? 'zorunlu' : 'required') : (tr ? 'isteğe bağlı' : 'optional'), ...(field.secret ? [tr ? 'gizli' : 'secret'] : [])];
      out.line(`  ${field.name.padEnd(18)} ${field.label} (${flags.join(', ')})`);
    }
  }
  return ExitCode.ok;
}
