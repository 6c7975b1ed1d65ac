import { MARKETPLACE } from '../../config/config.js';
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ExitCode, UserError, errorMessage } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { registerSecret } from '../../secrets/redact.js';
import { envVarName } from '../../secrets/store.js';
import type { SecretStore, SecretStoreKind } from '../../secrets/store.js';
import { generateAccessToken, isLoopbackBind } from '../../web/security.js';
import { createWebServer } from '../../web/server.js';
import type { WebServer } from '../../web/server.js';
import { agentRuns } from '../../web/sync.js';
import { openContext } from '../context.js';
import type { CliContext } from '../context.js';
import { createOutput, hostPort } from '../output.js';
import type { Output } from '../output.js';

export interface ServeOptions {
  port: number;
  host: string;
  open?: boolean;
  secretStore?: SecretStoreKind;
  /** Hosted mode: this tenant's page, from PostgreSQL. */
  tenant?: string;
}

/** Where the access token lives: connection `web`, field `accessToken`, in whichever store is used. */
const ACCESS_TOKEN = { connection: 'web', field: 'accessToken' } as const;

/** The bearer token a hosted tenant's page asks of everyone, browsers and scripts alike: the agent's variable, ERP_SYNC_WEB_ACCESS_TOKEN. */
const WEB_TOKEN_VARIABLE = envVarName(ACCESS_TOKEN.connection, ACCESS_TOKEN.field);

const m = defineMessages({
  en: {
    storeUnavailable: 'the {store} secret store, which would keep the web page\'s access token, is unavailable: {reason}',
    storeUnavailableHint: 'Pass --secret-store file or keychain, or serve on 127.0.0.1 only.',
    tokenNotStored: 'could not store the web page\'s access token: {reason}',
    tokenNotStoredHint: 'Pass --secret-store file or keychain, or set ERP_SYNC_WEB_ACCESS_TOKEN to a long random value yourself.',
    tokenShort: 'the web page\'s access token in the {store} secret store has {length} characters; on the network it needs at least {min}, or it can be guessed',
    tokenShortHint: 'Set ERP_SYNC_WEB_ACCESS_TOKEN (or the stored web/accessToken) to at least {min} random characters, e.g. from `openssl rand -base64 32`, or delete it and erp-sync makes one.',
    cannotListen: 'cannot listen on {address}: {reason}',
    portInUse: 'Another program uses this port: pass --port with another one.',
    checkHost: 'Check --host: it must be an address of this machine.',
    listening: 'erp-sync is serving its page at {url} (Ctrl-C stops it)',
    network: 'It is reachable from the network: browsers are asked for the access token, scripts send it as "Authorization: Bearer <token>".',
    newToken: 'Access token for the web page (shown only this once, stored in the {store} secret store as web/accessToken):',
    stopped: 'stopped serving',
    tenantNeedsToken: 'serving a tenant\'s page needs a token in {variable}: the page is one tenant\'s, and only its people may see it',
    tenantTokenHint: 'Set {variable} to at least {min} random characters (e.g. `openssl rand -base64 32`); browsers ask for it, scripts send it as "Authorization: Bearer <token>".',
    tenantListening: 'erp-sync is serving the page of tenant "{tenant}" at {url}, behind the token in {variable} (Ctrl-C stops it)',
  },
  tr: {
    storeUnavailable: 'web sayfasının erişim anahtarını saklayacak {store} gizli bilgi deposuna erişilemiyor: {reason}',
    storeUnavailableHint: '--secret-store file ya da keychain verin veya yalnızca 127.0.0.1 üzerinde yayınlayın.',
    tokenNotStored: 'web sayfasının erişim anahtarı saklanamadı: {reason}',
    tokenNotStoredHint: '--secret-store file ya da keychain verin veya ERP_SYNC_WEB_ACCESS_TOKEN değişkenine uzun, rastgele bir değeri kendiniz verin.',
    tokenShort: '{store} gizli bilgi deposundaki web sayfası erişim anahtarı {length} karakter; ağda en az {min} karakter olmalı, yoksa tahmin edilebilir',
    tokenShortHint: 'ERP_SYNC_WEB_ACCESS_TOKEN değişkenine (ya da saklanan web/accessToken değerine) en az {min} rastgele karakter verin, örneğin `openssl rand -base64 32` çıktısı; ya da silin, erp-sync yenisini üretir.',
    cannotListen: '{address} adresinde dinlenemiyor: {reason}',
    portInUse: 'Bu bağlantı noktasını başka bir program kullanıyor: --port ile başka bir tane verin.',
    checkHost: '--host değerini kontrol edin: bu makinenin adreslerinden biri olmalı.',
    listening: 'erp-sync sayfasını {url} adresinde sunuyor (durdurmak için Ctrl-C)',
    network: 'Sayfaya ağdan erişilebilir: tarayıcılar erişim anahtarını sorar, betikler "Authorization: Bearer <anahtar>" ile gönderir.',
    newToken: 'Web sayfasının erişim anahtarı (yalnızca bu kez gösterilir; {store} gizli deposunda web/accessToken olarak saklanır):',
    stopped: 'sunum durduruldu',
    tenantNeedsToken: 'bir kiracının sayfasını sunmak için {variable} içinde bir anahtar gerekir: sayfa tek bir kiracınındır ve yalnızca onun kişileri görebilir',
    tenantTokenHint: '{variable} değişkenine en az {min} rastgele karakter verin (ör. `openssl rand -base64 32`); tarayıcılar sorar, betikler "Authorization: Bearer <anahtar>" ile gönderir.',
    tenantListening: 'erp-sync "{tenant}" kiracısının sayfasını {url} adresinde, {variable} içindeki anahtarın ardında sunuyor (durdurmak için Ctrl-C)',
  },
});

/**
 * This module runs from dist/ (tsup bundles it into a chunk there), one
 * level under the package root, where bin/ and src/web/public/ live.
 */
const packageRoot = new URL('../', import.meta.url);

/** `erp-sync serve`: the web page and JSON API until SIGINT or SIGTERM. */
export async function serveCommand(options: ServeOptions): Promise<ExitCode> {
  if (options.tenant !== undefined) return serveTenant(options.tenant, options);
  const out = createOutput(false);
  const ctx = openContext();
  try {
    const loopback = isLoopbackBind(options.host);
    const accessToken = loopback ? undefined : await ensureAccessToken(ctx, options, (line) => out.line(line));
    const web = createWebServer({
      db: ctx.db(),
      config: ctx.config,
      accessToken,
      runs: agentRuns({ home: ctx.home, cli: fileURLToPath(new URL('bin/erp-sync.js', packageRoot)), log: (line) => process.stderr.write(`${line}\n`) }),
      assets: new URL('src/web/public/', packageRoot),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const { url, port } = await listen(web.server, options);
    out.line(m('listening', { url }));
    if (!loopback) out.line(m('network'));
    if (options.open) openBrowser(loopback ? url : `http://127.0.0.1:${port}/`);
    return await untilStopped(web, out);
  } finally {
    ctx.close();
  }
}

/**
 * `erp-sync serve --tenant T`: one hosted tenant's page, read from
 * PostgreSQL on that tenant's session (row-level security shows it nothing
 * else), "sync now" queued as a job. Every client needs the token, this
 * machine's too: a fleet serves its tenants' pages behind a proxy.
 */
async function serveTenant(tenant: string, options: ServeOptions): Promise<ExitCode> {
  const out = createOutput(false);
  const token = process.env[WEB_TOKEN_VARIABLE];
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    const names = { variable: WEB_TOKEN_VARIABLE, min: MIN_TOKEN_LENGTH };
    throw new UserError(m('tenantNeedsToken', names), { code: 'ACCESS_TOKEN_MISSING', exitCode: ExitCode.config, hint: m('tenantTokenHint', names) });
  }
  registerSecret(token);
  // Loaded here: bullmq and ioredis are hosted mode's alone, never an agent's `serve`.
  const { openHosted, queueRuns } = await import('../hosted.js');
  // The page outlives restarts of PostgreSQL: a dropped session is opened again at the next request.
  const ctx = openHosted(tenant, { reconnect: true });
  try {
    const web = createWebServer({
      db: ctx.session.db,
      config: ctx.session.config,
      accessToken: token,
      runs: queueRuns(ctx),
      assets: new URL('src/web/public/', packageRoot),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const { url } = await listen(web.server, options);
    out.line(m('tenantListening', { tenant, url, variable: WEB_TOKEN_VARIABLE }));
    return await untilStopped(web, out);
  } finally {
    await ctx.close();
  }
}

/**
 * The token asked of every client not on this machine: read from the secret
 * store, or generated on first use, stored, and printed once.
 */
/** The shortest access token the page accepts from the network: one a person picked would be guessed. */
const MIN_TOKEN_LENGTH = 32;

async function ensureAccessToken(ctx: CliContext, options: ServeOptions, print: (line: string) => void): Promise<string> {
  const kind = options.secretStore ?? (ctx.config.target(MARKETPLACE) ?? ctx.config.targets()[0])?.secretStore ?? 'file';
  const store: SecretStore = ctx.secretStore(kind);
  const unavailable = await store.unavailableReason();
  if (unavailable) {
    throw new UserError(m('storeUnavailable', { store: kind, reason: unavailable }), {
      code: 'SECRET_STORE_UNAVAILABLE', exitCode: ExitCode.config, hint: m('storeUnavailableHint'),
    });
  }
  const existing = await store.get(ACCESS_TOKEN.connection, ACCESS_TOKEN.field);
  if (existing) {
    registerSecret(existing);
    if (existing.length < MIN_TOKEN_LENGTH) {
      throw new UserError(m('tokenShort', { store: kind, length: existing.length, min: MIN_TOKEN_LENGTH }), {
        code: 'ACCESS_TOKEN_TOO_SHORT', exitCode: ExitCode.config, hint: m('tokenShortHint', { min: MIN_TOKEN_LENGTH }),
      });
    }
    return existing;
  }
  const token = generateAccessToken();
  try {
    await store.set(ACCESS_TOKEN.connection, ACCESS_TOKEN.field, token);
  } catch (error) {
    throw new UserError(m('tokenNotStored', { reason: errorMessage(error) }), {
      code: 'ACCESS_TOKEN_NOT_STORED', exitCode: ExitCode.config, hint: m('tokenNotStoredHint'),
    });
  }
  print(m('newToken', { store: kind }));
  print(token);
  registerSecret(token);
  return token;
}

/** Serves until SIGINT or SIGTERM, then closes the page. */
async function untilStopped(web: WebServer, out: Output): Promise<ExitCode> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await web.close();
  out.line(m('stopped'));
  return ExitCode.ok;
}

/** Listens where asked; the page's address as people type it (an IPv6 host in brackets), and the port (one the system chose, for --port 0). */
async function listen(server: Server, options: ServeOptions): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(m('cannotListen', { address: `${options.host}:${options.port}`, reason: error.message }), {
      code: 'LISTEN_FAILED',
      exitCode: error.code === 'EADDRINUSE' ? ExitCode.tempFail : ExitCode.config,
      hint: error.code === 'EADDRINUSE' ? m('portInUse') : m('checkHost'),
      cause: error,
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { url: `http://${hostPort(options.host, port)}/`, port };
}

/** Best effort: a server without a desktop simply has no browser to open. */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}
