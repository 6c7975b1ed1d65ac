import type { Driver } from '../driver/contract.js';
import type { Failure } from '../engine/failure.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { redact } from '../secrets/redact.js';

/** How `connect`, `test` and `doctor` speak of a connection test. */

const m = defineMessages({
  en: {
    testing: 'Testing the connection to {title}…',
    marketplace: 'the marketplace',
    tryAgain: 'Check the address and that the service is running, then try again.',
    failed: 'the connection test of "{name}" failed: {message}',
  },
  tr: {
    testing: '{title} bağlantısı deneniyor…',
    marketplace: 'pazaryeri',
    tryAgain: 'Adresi ve servisin çalıştığını kontrol edip yeniden deneyin.',
    failed: '"{name}" bağlantı testi başarısız: {message}',
  },
});

/** A failed test as the error the CLI prints and exits with. */
export function testFailed(name: string, failure: Failure): UserError {
  return new UserError(m('failed', { name, message: redact(failure.message) }), {
    code: failure.code,
    exitCode: failure.exitCode,
    // "The next run will try again" is the engine's comfort for a scheduled run; here a person is waiting.
    hint: failure.exitCode === ExitCode.tempFail ? m('tryAgain') : failure.hint && redact(failure.hint),
  });
}

export const testingMessage = (driver: Driver | undefined): string => m('testing', { title: driver?.name ?? m('marketplace') });
