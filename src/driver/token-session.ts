import { HttpError } from '../http/errors.js';
import { defineMessages } from '../i18n/index.js';
import { DriverError } from './contract.js';

const m = defineMessages({
  en: { rejectedFresh: '{service} rejected a freshly obtained token' },
  tr: { rejectedFresh: '{service} yeni alınmış bir erişim anahtarını reddetti' },
});

/**
 * An access token that is obtained once, shared by every concurrent request
 * of a run, and refreshed at most once at a time when the ERP rejects it
 * (401): the refresh is invisible to the user.
 */
export class TokenSession {
  #token: Promise<string> | undefined;
  readonly #obtain: () => Promise<string>;
  readonly #refresh: () => Promise<string>;

  /**
   * @param obtain logs in from the stored credentials.
   * @param refresh renews the token (with a refresh token where the ERP has
   *   one); defaults to logging in again.
   */
  constructor(obtain: () => Promise<string>, refresh?: () => Promise<string>) {
    this.#obtain = obtain;
    this.#refresh = refresh ?? obtain;
  }

  token(): Promise<string> {
    return (this.#token ??= this.#forgetOnFailure(this.#obtain()));
  }

  /** Runs `call` with the token; on 401 refreshes once (shared by concurrent callers) and runs it again. */
  async call<T>(call: (token: string) => Promise<T>): Promise<T> {
    const used = this.token();
    const token = await used;
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof HttpError) || error.status !== 401) throw error;
      if (this.#token === used) this.#token = this.#forgetOnFailure(this.#refresh());
      const renewed = await this.#token!;
      try {
        return await call(renewed);
      } catch (again) {
        if (again instanceof HttpError && again.status === 401) {
          throw new DriverError('CREDENTIALS_REJECTED', m('rejectedFresh', { service: again.service }), { cause: again });
        }
        throw again;
      }
    }
  }

  /** A failed login or refresh is not cached: the next call tries again. */
  #forgetOnFailure(pending: Promise<string>): Promise<string> {
    pending.catch(() => {
      if (this.#token === pending) this.#token = undefined;
    });
    return pending;
  }
}

/** Why an OAuth token endpoint refused (`error_description`, else `error`, else the body's start), for a message. */
export function oauthErrorReason(body: string | undefined): string {
  if (!body) return '';
  try {
    const parsed = JSON.parse(body) as { error_description?: unknown; error?: unknown };
    return String(parsed.error_description ?? parsed.error ?? body).slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
