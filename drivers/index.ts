import type { Driver } from '../src/driver/contract.js';
import { demo } from './demo.js';
import { entegra } from './entegra.js';
import { parasut } from './parasut.js';

/** Every driver erp-sync ships, by id. */
export const drivers: ReadonlyMap<string, Driver> = new Map<string, Driver>([entegra, parasut, demo].map((d) => [d.id, d]));

export function findDriver(id: string): Driver | undefined {
  return drivers.get(id);
}
