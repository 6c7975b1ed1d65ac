import chalk from 'chalk';
import { existsSync } from 'node:fs';
import { findDriver } from '../../../drivers/index.js';
import { paths } from '../../config/home.js';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { redactDeep } from '../../secrets/redact.js';
import type { SecretStoreKind } from '../../secrets/store.js';
import { openContext } from '../context.js';
import { statusLabel } from '../../report/labels.js';
import { createOutput } from '../output.js';
import { formatTime } from '../when.js';
import { lastSyncs } from '../../store/queries.js';

export interface ConnectionListing {
  marketplace: { baseUrl: string; secretStore: SecretStoreKind; settings: Record<string, string> } | null;
  connections: Array<{
    name: string;
    driver: string;
    driverName: string | null;
    /** The connection's own address, or its driver's default; null for a driver that reads local files. */
    baseUrl: string | null;
    secretStore: SecretStoreKind;
    settings: Record<string, string>;
    lastSync: { runId: number; status: 'succeeded' | 'partial'; finishedAt: string } | null;
  }>;
}

const m = defineMessages({
  en: {
    none: 'No connections yet. Connect an ERP: erp-sync connect <driver> --name NAME',
    marketplace: 'Marketplace',
    notConnected: 'Not connected',
    secrets: 'secrets: {store}',
    lastSync: 'Last sync: {when} ({status})',
    never: 'Last sync: never',
  },
  tr: {
    none: 'Henüz bağlantı yok. Bir ERP bağlayın: erp-sync connect <sürücü> --name AD',
    marketplace: 'Pazaryeri',
    notConnected: 'Bağlı değil',
    secrets: 'gizli bilgiler: {store}',
    lastSync: 'Son senkronizasyon: {when} ({status})',
    never: 'Son senkronizasyon: henüz yok',
  },
});

/** `erp-sync connections`: what is connected, where its secrets live, and when it last synced. Never a secret value. */
export async function connectionsCommand(options: { json?: boolean }): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  try {
    const listing = listConnections(
      ctx.config.marketplace(),
      ctx.config.connections(),
      // Listing must not create a database where no run ever happened.
      existsSync(paths.database(ctx.home)) ? lastSyncs(ctx.db()) : new Map(),
    );
    if (out.json) {
      out.document(listing);
      return ExitCode.ok;
    }
    const market = listing.marketplace;
    out.line(`${chalk.bold(m('marketplace'))}  ${market ? `${market.baseUrl}  ${m('secrets', { store: market.secretStore })}` : m('notConnected')}`);
    if (listing.connections.length === 0) out.line(m('none'));
    for (const c of listing.connections) {
      out.line(`${chalk.bold(c.name)}  ${c.driverName ?? c.driver} (${c.driver})${c.baseUrl ? `  ${c.baseUrl}` : ''}  ${m('secrets', { store: c.secretStore })}`);
      out.line(`  ${c.lastSync ? m('lastSync', { when: formatTime(c.lastSync.finishedAt), status: statusLabel(c.lastSync.status) }) : m('never')}`);
    }
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

type LastSync = NonNullable<ConnectionListing['connections'][number]['lastSync']>;

function listConnections(
  marketplace: { baseUrl: string; secretStore: SecretStoreKind; settings: Record<string, string> } | undefined,
  connections: ReadonlyArray<{ name: string; driver: string; baseUrl?: string | undefined; secretStore: SecretStoreKind; settings: Record<string, string> }>,
  syncs: ReadonlyMap<string, LastSync>,
): ConnectionListing {
  // Settings never hold secrets (connect refuses them), but a hand-edited config could.
  return redactDeep({
    marketplace: marketplace ? { baseUrl: marketplace.baseUrl, secretStore: marketplace.secretStore, settings: marketplace.settings } : null,
    connections: connections.map((c) => {
      const driver = findDriver(c.driver);
      return {
        name: c.name,
        driver: c.driver,
        driverName: driver?.name ?? null,
        baseUrl: c.baseUrl ?? driver?.defaultBaseUrl ?? null,
        secretStore: c.secretStore,
        settings: c.settings,
        lastSync: syncs.get(c.name) ?? null,
      };
    }),
  });
}

