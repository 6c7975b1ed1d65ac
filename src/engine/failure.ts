import { DriverError } from '../driver/contract.js';
import { HttpError } from '../http/errors.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';

const m = defineMessages({
  en: {
    checkCredentials: 'Check the credentials with `erp-sync test <connection>` and connect again.',
    checkSettings: 'Check the connection settings with `erp-sync connections`.',
    malformed: 'This is usually temporary; if it persists, contact the ERP vendor with this message.',
    nextRunRetries: 'The next run will try again.',
    credentials401: 'Check the credentials and connect again.',
    credentials403: 'Ask the vendor to grant this account API access.',
    nothingLost: 'Nothing was lost; the next run will try again.',
    checkBaseUrl: 'Check the base URL of the connection.',
    checkValues: 'Check the connection\'s secrets and settings for letters an HTTP header cannot carry, and connect again with the right ones.',
    answer: ' Answer: {body}',
    refused: 'Retrying will not help: check the connection\'s settings and base URL; if they are right, send this message to {service}\'s support.',
    interrupted: 'the run was interrupted',
    picksUp: 'The next run picks up where this one stopped.',
    unexpected: 'an unexpected error: {message}',
    bug: 'This is a bug in erp-sync; please report it with `erp-sync --version` and this message.',
  },
  tr: {
    checkCredentials: 'Bilgileri `erp-sync test <bağlantı>` ile kontrol edip yeniden bağlanın.',
    checkSettings: 'Bağlantı ayarlarını `erp-sync connections` ile kontrol edin.',
    malformed: 'Bu genellikle geçicidir; sürerse bu mesajla ERP firmasına başvurun.',
    nextRunRetries: 'Sonraki çalışma yeniden deneyecek.',
    credentials401: 'Giriş bilgilerini kontrol edip yeniden bağlanın.',
    credentials403: 'Firmadan bu hesaba API erişimi açmasını isteyin.',
    nothingLost: 'Hiçbir şey kaybolmadı; sonraki çalışma yeniden deneyecek.',
    checkBaseUrl: 'Bağlantının adresini (base URL) kontrol edin.',
    checkValues: 'Bağlantının gizli bilgilerinde ve ayarlarında HTTP başlığının taşıyamayacağı harfler olup olmadığına bakın ve doğrularıyla yeniden bağlanın.',
    answer: ' Yanıt: {body}',
    refused: 'Yeniden denemek işe yaramaz: bağlantının ayarlarını ve adresini kontrol edin; doğruysa bu mesajı {service} destek ekibine gönderin.',
    interrupted: 'çalışma yarıda kesildi',
    picksUp: 'Sonraki çalışma bu çalışmanın kaldığı yerden devam eder.',
    unexpected: 'beklenmeyen bir hata: {message}',
    bug: 'Bu erp-sync\'te bir hatadır; lütfen `erp-sync --version` çıktısı ve bu mesajla bildirin.',
  },
});

export interface Failure {
  /** Stable code for logs, alerts and `--json`. */
  code: string;
  /** What went wrong, naming the service; already redacted. */
  message: string;
  /** What to do about it. */
  hint: string | undefined;
  exitCode: ExitCode;
}

/**
 * Maps whatever stopped a pull or a push to an exit code and words a person
 * can act on. This is the one place that decides "try again later" (75),
 * "credentials rejected" (77) and "configuration" (78).
 */
export function describeRunFailure(error: unknown): Failure {
  if (error instanceof UserError) {
    return { code: error.code, message: error.message, hint: error.hint, exitCode: error.exitCode };
  }
  if (error instanceof DriverError) {
    switch (error.code) {
      case 'CREDENTIALS_REJECTED':
        return { code: 'ERP_CREDENTIALS_REJECTED', message: error.message, hint: error.hint ?? m('checkCredentials'), exitCode: ExitCode.credentials };
      case 'CONFIGURATION':
        return { code: 'ERP_CONFIGURATION', message: error.message, hint: error.hint ?? m('checkSettings'), exitCode: ExitCode.config };
      case 'MALFORMED_RESPONSE':
        return { code: 'ERP_MALFORMED_RESPONSE', message: error.message, hint: error.hint ?? m('malformed'), exitCode: ExitCode.tempFail };
      case 'INCOMPLETE_PULL':
        return { code: 'ERP_INCOMPLETE_PULL', message: error.message, hint: error.hint ?? m('nextRunRetries'), exitCode: ExitCode.tempFail };
      case 'UNAVAILABLE':
        return { code: 'SERVICE_UNAVAILABLE', message: error.message, hint: error.hint ?? m('nothingLost'), exitCode: ExitCode.tempFail };
    }
  }
  if (error instanceof HttpError) {
    if (error.kind === 'proxy' && !error.transient) {
      return { code: 'PROXY_REFUSED', message: error.message, hint: error.hint, exitCode: ExitCode.config };
    }
    if (error.kind === 'http' && (error.status === 401 || error.status === 403)) {
      return {
        code: 'CREDENTIALS_REJECTED',
        message: error.message,
        hint: error.status === 401 ? m('credentials401') : m('credentials403'),
        exitCode: ExitCode.credentials,
      };
    }
    if (error.transient) {
      return { code: 'SERVICE_UNAVAILABLE', message: error.message, hint: m('nothingLost'), exitCode: ExitCode.tempFail };
    }
    if (error.kind === 'invalid-request') {
      return { code: 'REQUEST_INVALID', message: error.message, hint: m('checkValues'), exitCode: ExitCode.config };
    }
    if (error.kind === 'dns' || error.kind === 'tls' || error.status === 404) {
      return { code: error.kind === 'tls' ? 'TLS_CERTIFICATE_REFUSED' : 'SERVICE_ADDRESS', message: error.message, hint: error.hint ?? m('checkBaseUrl'), exitCode: ExitCode.config };
    }
    return {
      code: 'SERVICE_REFUSED',
      message: error.message + (error.body ? m('answer', { body: error.body.slice(0, 200) }) : ''),
      hint: m('refused', { service: error.service }),
      exitCode: ExitCode.tempFail,
    };
  }
  if ((error as { name?: string } | undefined)?.name === 'AbortError') {
    return { code: 'INTERRUPTED', message: m('interrupted'), hint: m('picksUp'), exitCode: ExitCode.tempFail };
  }
  return {
    code: 'INTERNAL',
    message: m('unexpected', { message: error instanceof Error ? error.message : String(error) }),
    hint: m('bug'),
    exitCode: ExitCode.internal,
  };
}
