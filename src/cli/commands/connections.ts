import chalk from 'chalk';
import { existsSync } from 'node:fs';
import { findDriver } from '../../../drivers/index.js';
import { paths } from '../../config/home.js';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { redactDeep } from '../../secrets/redact.js';
import type { SecretStoreKind } from '../../secrets/store.js';
import type { TargetConfig } from '../../config/config.js';
import { targetAdapter } from '../../marketplace/targets.js';
import { openContext } from '../context.js';
import { statusLabel } from '../../report/labels.js';
import { createOutput } from '../output.js';
import { formatTime } from '../when.js';
import { lastSyncs } from '../../store/queries.js';

export interface ConnectionListing {
  /** The marketplaces erp-sync delivers to. */
  targets: Array<{ name: string; kind: string; title: string; baseUrl: string; secretStore: SecretStoreKind; settings: Record<string, string> }>;
  connections: Array<{
    name: string;
    driver: string;
    driverName: string | null;
    /** The connection's own address, or its driver's default; null for a driver that reads local files. */
    baseUrl: string | null;
    secretStore: SecretStoreKind;
    settings: Record<string, string>;
    /** The targets it feeds, by name. */
    targets: string[];
    lastSync: { runId: number; status: 'succeeded' | 'partial'; finishedAt: string } | null;
  }>;
}

const m = defineMessages({
  en: {
    none: 'No connections yet. Connect an ERP: erp-sync connect <driver> --name NAME',
    marketplace: 'Marketplace',
    offerApi: 'Offer API',
    notConnected: 'Not connected',
    secrets: 'secrets: {store}',
    lastSync: 'Last sync: {when} ({status})',
    never: 'Last sync: never',
    feeds: 'Sends to: {targets}',
  },
  tr: {
    none: 'Henüz bağlantı yok. Bir ERP bağlayın: erp-sync connect <sürücü> --name AD',
    marketplace: 'Pazaryeri',
    offerApi: 'Teklif API\'si',
    notConnected: 'Bağlı değil',
    secrets: 'gizli bilgiler: {store}',
    lastSync: 'Son senkronizasyon: {when} ({status})',
    feeds: 'Gönderdiği yerler: {targets}',
    never: 'Son senkronizasyon: henüz yok',
  },
});

/** `erp-sync connections`: what is connected, where its secrets live, and when it last synced. Never a secret value. */
export async function connectionsCommand(options: { json?: boolean }): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  try {
    const targets = ctx.config.targets();
    const listing = listConnections(
      targets,
      ctx.config.connections().map((c) => ({ ...c, feeds: ctx.config.targetsOf(c, targets).map((t) => t.name) })),
      // Listing must not create a database where no run ever happened.
      existsSync(paths.database(ctx.home)) ? lastSyncs(ctx.db()) : new Map(),
    );
    if (out.json) {
      out.document(listing);
      return ExitCode.ok;
    }
    if (listing.targets.length === 0) out.line(`${chalk.bold(m('marketplace'))}  ${m('notConnected')}`);
    for (const target of listing.targets) {
      out.line(`${chalk.bold(m('marketplace'))} ${chalk.bold(target.name)}  ${target.title}  ${target.baseUrl}  ${m('secrets', { store: target.secretStore })}`);
    }
    if (listing.connections.length === 0) out.line(m('none'));
    for (const c of listing.connections) {
      out.line(`${chalk.bold(c.name)}  ${c.driverName ?? c.driver} (${c.driver})${c.baseUrl ? `  ${c.baseUrl}` : ''}  ${m('secrets', { store: c.secretStore })}`);
      if (c.targets.length > 0) out.line(`  ${m('feeds', { targets: c.targets.join(', ') })}`);
      out.line(`  ${c.lastSync ? m('lastSync', { when: formatTime(c.lastSync.finishedAt), status: statusLabel(c.lastSync.status) }) : m('never')}`);
    }
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

type LastSync = NonNullable<ConnectionListing['connections'][number]['lastSync']>;

function listConnections(
  targets: readonly TargetConfig[],
  connections: ReadonlyArray<{ name: string; driver: string; baseUrl?: string | undefined; secretStore: SecretStoreKind; settings: Record<string, string>; feeds: string[] }>,
  syncs: ReadonlyMap<string, LastSync>,
): ConnectionListing {
  // Settings never hold secrets (connect refuses them), but a hand-edited config could.
  return redactDeep({
    targets: targets.map((t) => {
      const adapter = t.kind === 'offer-api' ? undefined : targetAdapter(t.kind);
      return {
        name: t.name, kind: t.kind, title: adapter?.name ?? m('offerApi'), baseUrl: t.baseUrl || adapter?.defaultBaseUrl || '',
        secretStore: t.secretStore, settings: t.settings,
      };
    }),
    connections: connections.map((c) => {
      const driver = findDriver(c.driver);
      return {
        name: c.name,
        driver: c.driver,
        driverName: driver?.name ?? null,
        baseUrl: c.baseUrl ?? driver?.defaultBaseUrl ?? null,
        secretStore: c.secretStore,
        settings: c.settings,
        targets: c.feeds,
        lastSync: syncs.get(c.name) ?? null,
      };
    }),
  });
}

