import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnLoopback, readBody, sendJson } from '../../src/sandbox/http.js';
import type { CliResult } from '../support/cli.js';
import { ERP_KEY, MARKET_TOKEN, PASSPHRASE, createShop, filesUnder } from './setup.js';
import type { Shop } from './setup.js';

const WRONG_TOKEN = 'wrong-Token-Çözüm-77';

let shop: Shop;
let echo: Awaited<ReturnType<typeof listenOnLoopback>> | undefined;
afterEach(async () => {
  await echo?.close();
  await shop?.close();
});

/** Every form a secret could take in a file or an output: as is, JSON-escaped, URL-encoded, and its end alone (a mask that covered only its start). */
function forms(secret: string): string[] {
  return [...new Set([secret, secret.slice(-9), JSON.stringify(secret).slice(1, -1), JSON.stringify(secret).slice(1, -1).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), encodeURIComponent(secret)])];
}

describe('secrets never leak', () => {
  it('appear in no file under ERP_SYNC_HOME and in no output, through connect, sync, and syncs that fail with the secret echoed back', async () => {
    shop = await createShop(40);
    // A service that answers everything 500 with the whole request, credentials included: as JSON, bare
    // under a key no pattern knows, and as the text line a proxy would log.
    const seen: string[] = [];
    echo = await listenOnLoopback(async (req, res) => {
      const body = await readBody(req);
      seen.push(`${req.url} ${JSON.stringify(req.headers)}`);
      const credential = req.headers.authorization?.replace(/^Bearer /, '');
      sendJson(res, 500, { log: `Authorization: ${req.headers.authorization}`, credential, error: 'internal', request: { method: req.method, url: req.url, headers: req.headers, body } });
    });
    const outputs: Array<{ args: string[]; result: CliResult }> = [];
    const cli = async (args: string[], expected: number, env: NodeJS.ProcessEnv = {}) => {
      const result = await shop.cli(args, env);
      outputs.push({ args, result });
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(expected);
      return result;
    };
    const quick = ['--set', 'retries=1', '--set', 'retryMinDelayMs=5'];

    // Alerts go to a webhook whose path is its token, as Slack's and Teams' are; the echo service answers it 500.
    const webhook = `${echo.url}/services/T024BE7LD/B08ABCDEF/Webhook-Sécret-55`;
    await cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--secret-store', 'file', '--secret-file', `alertWebhook=${shop.secretFile('hook', webhook)}`, ...quick, '--json'], 0, { ERP_SYNC_MARKETPLACE_TOKEN: MARKET_TOKEN });
    await cli(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url, '--secret-store', 'file', '--secret-file', `apiKey=${shop.secretFile('key', ERP_KEY)}`, ...quick, '--json'], 0);
    await cli(['test', 'shop'], 0);
    await cli(['test', 'marketplace'], 0);
    await cli(['run', '--json'], 0);
    await cli(['connections', '--json'], 0);

    // The marketplace fails and echoes the token back.
    shop.erp.catalog.change(20);
    await cli(['connect', 'marketplace', '--base-url', echo.url, '--no-test', '--json'], 0);
    await cli(['test', 'marketplace'], 75);
    await cli(['run', '--json'], 75);
    await cli(['run'], 75);

    // The ERP fails and echoes the API key back.
    await cli(['connect', 'demo', '--name', 'echo', '--base-url', echo.url, '--secret-store', 'file', '--secret-file', `apiKey=${shop.secretFile('key2', ERP_KEY)}`, '--set', 'retries=0', '--no-test'], 0);
    await cli(['test', 'echo'], 75);
    await cli(['run', '--connection', 'echo', '--json'], 75);

    // A wrong token, rejected by the real marketplace.
    await cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--secret-file', `token=${shop.secretFile('wrong', WRONG_TOKEN)}`, '--no-test'], 0);
    await cli(['run', '--connection', 'shop', '--json'], 77);
    await cli(['connect', 'marketplace', '--secret-file', `token=${shop.secretFile('wrong2', WRONG_TOKEN)}`], 77);
    await cli(['connections'], 0);
    await cli(['disconnect', 'echo', '--yes'], 0);

    // The secrets really were sent, and really were echoed.
    expect(seen.some((headers) => headers.includes(MARKET_TOKEN))).toBe(true);
    expect(seen.some((headers) => headers.includes(JSON.stringify(ERP_KEY).slice(1, -1)))).toBe(true);
    // The rejected token opened an alert, and it was POSTed to the webhook.
    expect(seen.some((request) => request.startsWith('/services/T024BE7LD/'))).toBe(true);

    const files = filesUnder(shop.home);
    expect(files.map((f) => f.slice(shop.home.length))).toEqual(expect.arrayContaining(['/config.json', '/erp-sync.db', '/secrets.enc']));
    const leaks: string[] = [];
    for (const secret of [ERP_KEY, MARKET_TOKEN, WRONG_TOKEN, PASSPHRASE, webhook]) {
      for (const form of forms(secret)) {
        const needle = Buffer.from(form, 'utf8');
        for (const file of files) if (readFileSync(file).includes(needle)) leaks.push(`${form} in ${file}`);
        for (const { args, result } of outputs) {
          if (result.stdout.includes(form)) leaks.push(`${form} on stdout of ${args.join(' ')}`);
          if (result.stderr.includes(form)) leaks.push(`${form} on stderr of ${args.join(' ')}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });
});
