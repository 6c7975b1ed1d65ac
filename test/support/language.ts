import { afterEach } from 'vitest';
import { setLanguage } from '../../src/i18n/index.js';

/** The language is one per process: a test that switches to Turkish leaves English behind it for the next. */
afterEach(() => setLanguage('en'));
