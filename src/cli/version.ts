import { createRequire } from 'node:module';

/** This erp-sync's version, from the package.json beside dist/, where this module is bundled. */
export const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
