import type { Driver } from '../src/driver/contract.js';
import { bizimhesap } from './bizimhesap.js';
import { csv } from './csv.js';
import { demo } from './demo.js';
import { entegra } from './entegra.js';
import { logo } from './logo.js';
import { mikro } from './mikro.js';
import { netsis } from './netsis.js';
import { parasut } from './parasut.js';
import { sentos } from './sentos.js';

/** Every driver erp-sync ships, by id. */
export const drivers: ReadonlyMap<string, Driver> = new Map<string, Driver>(
  [entegra, parasut, sentos, bizimhesap, logo, netsis, mikro, csv, demo].map((d) => [d.id, d]),
);

export function findDriver(id: string): Driver | undefined {
  return drivers.get(id);
}
