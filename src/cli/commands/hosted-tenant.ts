import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { saveTenant, tenantRow } from '../../store/tenants.js';
import { openHosted } from '../hosted.js';
import { createOutput } from '../output.js';

export interface HostedTenantOptions {
  name?: string;
  json?: boolean;
}

const m = defineMessages({
  en: {
    added: 'Added tenant "{tenant}" ({name}).',
    updated: 'Tenant "{tenant}" was there already; its name is now "{name}".',
    next: 'Next: connect its ERP and marketplace, e.g. `erp-sync hosted connect parasut --tenant {tenant} --name shop --set companyId=...` (secrets from the environment or --secrets-stdin).',
  },
  tr: {
    added: '"{tenant}" kiracısı eklendi ({name}).',
    updated: '"{tenant}" kiracısı zaten vardı; adı artık "{name}".',
    next: 'Sıradaki adım: ERP’sini ve pazaryerini bağlayın, ör. `erp-sync hosted connect parasut --tenant {tenant} --name shop --set companyId=...` (gizli bilgiler ortamdan ya da --secrets-stdin ile).',
  },
});

/** `erp-sync hosted tenant add <id>`: a merchant, whose rows every other hosted table keys by its id. */
export async function hostedTenantAddCommand(tenant: string, options: HostedTenantOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openHosted(tenant, { adding: true });
  try {
    const name = options.name ?? tenant;
    const added = saveTenant(ctx.session.db, name);
    if (out.json) {
      out.document({ tenant: tenantRow(ctx.session.db), added });
    } else {
      out.line(m(added ? 'added' : 'updated', { tenant, name }));
      if (added) out.line(m('next', { tenant }));
    }
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}
