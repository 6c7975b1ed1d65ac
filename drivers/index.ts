import type { Driver } from '../src/driver/contract.js';
import { demo } from './demo.js';

/** Every driver erp-sync ships, by id. */
export const drivers: ReadonlyMap<string, Driver> = new Map<string, Driver>([[demo.id, demo]]);

export function findDriver(id: string): Driver | undefined {
  return drivers.get(id);
}
